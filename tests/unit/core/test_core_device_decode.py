"""Decoding on the extraction device (--ssl-decode=gpu), run here on the CPU: the same geometry as PIL, close
pixels, every image kept in order, PNG and grayscale files, unreadable files skipped or named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pytest_ssllottery.compute.device_decode import EncodedFiles, collate_encoded, decode_batch
from pytest_ssllottery.compute.features import ExtractionSettings, extract_features
from pytest_ssllottery.compute.preprocessing import pil_geometry
from pytest_ssllottery.datasets.sources import FileSource, list_files
from pytest_ssllottery.errors import ImageDecodeError
from pytest_ssllottery.suite.spec import Preprocessing

PRE = Preprocessing(resize=40, crop=32)
BICUBIC = Preprocessing(resize=40, crop=32, interpolation="bicubic")


def _smooth(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Photo-like content: a few smooth colour gradients (JPEG's and resampling's typical case)."""
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        128 + 100 * np.sin(rng.uniform(1, 6) * ys + rng.uniform(1, 6) * xs + rng.uniform(0, 6)) for _ in range(3)
    ]
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def _folder(root: Path) -> FileSource:
    rng = np.random.default_rng(0)
    names = []
    for index in range(9):
        height, width = 60 + 7 * index, 90 - 3 * index
        name = f"img_{index}.png" if index == 4 else f"img_{index}.jpg"
        image = Image.fromarray(_smooth(rng, height, width))
        if index == 6:
            image = image.convert("L")  # a grayscale JPEG, as ImageNet has
        image.save(root / name, quality=92) if name.endswith(".jpg") else image.save(root / name)
        names.append(name)
    return list_files(root, names)


def _decode(source: FileSource, pre: Preprocessing, skip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    data, indices = collate_encoded([EncodedFiles(source)[i] for i in range(len(source))])
    return decode_batch(data, indices, source, pre, torch.device("cpu"), skip)


@pytest.mark.parametrize("pre", [PRE, BICUBIC], ids=["bilinear", "bicubic"])
def test_device_decode_matches_the_pil_geometry_closely(tmp_path: Path, pre: Preprocessing) -> None:
    source = _folder(tmp_path)
    batch, ok = _decode(source, pre)
    reference = torch.stack([pil_geometry(pre)(source.open(i)) for i in range(len(source))])
    assert batch.dtype == torch.uint8
    assert batch.shape == reference.shape == (9, 3, 32, 32)
    assert ok.all()
    difference = (batch.int() - reference.int()).abs().float()
    assert difference.mean() < 1.5  # resampling code differs; the same images, the same geometry
    assert difference.max() < 40
    assert not torch.equal(batch, torch.zeros_like(batch))


def test_unreadable_files_are_named_or_skipped_in_place(tmp_path: Path) -> None:
    source = _folder(tmp_path)
    (tmp_path / "img_2.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "img_7.jpg").unlink()
    with pytest.raises(ImageDecodeError, match=r"img_2\.jpg.*--ssl-skip-corrupt"):
        _decode(source, PRE)
    batch, ok = _decode(source, PRE, skip=True)
    assert ok.tolist() == [True, True, False, True, True, True, True, False, True]
    assert int(batch[2].sum()) == 0
    assert int(batch[7].sum()) == 0
    (tmp_path / "intact").mkdir()
    intact, _ = _decode(_folder(tmp_path / "intact"), PRE)
    torch.testing.assert_close(batch[3], intact[3], rtol=0, atol=0)


def test_extraction_with_device_decode_keeps_order_and_is_close_to_pil(tmp_path: Path) -> None:
    source = _folder(tmp_path)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    pil = extract_features(model, source, PRE, ExtractionSettings(batch_size=4))
    device = extract_features(model, source, PRE, ExtractionSettings(batch_size=4, decode="gpu"))
    assert device.features.shape == pil.features.shape == (9, 4)
    np.testing.assert_allclose(device.features, pil.features, atol=0.05)
    nearest = np.abs(device.features[:, None, :] - pil.features[None, :, :]).sum(axis=2).argmin(axis=1)
    assert nearest.tolist() == list(range(9))  # each row is its own image's features
