"""One decode, many backbones: methods sharing a geometry share one pass over the image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pytest_ssllottery.compute.features import ExtractionSettings, extract_features, extract_group
from pytest_ssllottery.datasets.sources import FileSource, list_files
from pytest_ssllottery.suite.spec import Preprocessing

DINO = Preprocessing(resize=20, crop=16, interpolation="bicubic")
SWAV = Preprocessing(resize=20, crop=16, mean=(0.485, 0.456, 0.406), std=(0.228, 0.224, 0.225))
MOCO = Preprocessing(resize=20, crop=16)


class _Pool(torch.nn.Module):
    """A small fixed conv + pooling: features depend on every pixel and on normalisation."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(3, 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).relu().mean(dim=(2, 3))


class _Counted(FileSource):
    """A FileSource that counts decodes (in this process: the tests use no loader workers)."""

    def open(self, index: int) -> Image.Image:
        self.__dict__.setdefault("_decodes", [0])[0] += 1
        return super().open(index)

    @property
    def decodes(self) -> int:
        return int(self.__dict__.get("_decodes", [0])[0])


def _files(root: Path, count: int = 11) -> FileSource:
    rng = np.random.default_rng(0)
    names = []
    for index in range(count):
        name = f"img_{index:02d}.jpg"
        Image.fromarray(rng.integers(0, 256, size=(24 + index, 30, 3), dtype=np.uint8)).save(root / name, quality=90)
        names.append(name)
    return list_files(root, names)


def test_uint8_decode_normalised_on_the_device_is_bit_identical_to_torchvisions_pipeline(tmp_path: Path) -> None:
    source = _files(tmp_path)
    model = _Pool(0).eval()
    found = extract_features(model, source, SWAV, ExtractionSettings(batch_size=4))
    from torchvision import transforms

    transform = transforms.Compose(  # the torchvision pipeline, built by hand: the reference, not our code
        [
            transforms.Resize(SWAV.resize, interpolation=transforms.InterpolationMode.BILINEAR),
            transforms.CenterCrop(SWAV.crop),
            transforms.ToTensor(),
            transforms.Normalize(SWAV.mean, SWAV.std),
        ]
    )
    with torch.inference_mode():
        expected = model(torch.stack([transform(source.open(i)) for i in range(len(source))])).numpy()
    np.testing.assert_array_equal(found.features, expected)


def test_a_group_decodes_once_and_equals_separate_extractions(tmp_path: Path) -> None:
    plain = _files(tmp_path)
    counted = _Counted(plain.root, plain.files, plain.sizes)
    settings = ExtractionSettings(batch_size=4)
    models = [(_Pool(1), SWAV), (_Pool(2), MOCO)]
    grouped = extract_group(models, counted, settings)
    assert counted.decodes == len(plain)
    for (model, pre), result in zip(models, grouped, strict=True):
        alone = extract_features(model, plain, pre, settings)
        np.testing.assert_array_equal(result.features, alone.features)
        assert result.valid.all()


def test_a_group_must_share_its_geometry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="resize, crop and interpolation"):
        extract_group([(_Pool(1), DINO), (_Pool(2), MOCO)], _files(tmp_path), ExtractionSettings())
