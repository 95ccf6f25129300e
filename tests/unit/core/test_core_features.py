"""Frozen-feature extraction over in-memory arrays and image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pytest_ssllottery.checkpoints.archs import get_architecture, strip_classifier
from pytest_ssllottery.compute.features import ExtractionSettings, extract_features
from pytest_ssllottery.datasets.sources import ArraySource, FileSource
from pytest_ssllottery.errors import ImageDecodeError
from pytest_ssllottery.suite.spec import Preprocessing

PRE = Preprocessing(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    network = strip_classifier(get_architecture("shapes_resnet").build())
    with torch.no_grad():  # non-trivial BN statistics, so eval mode matters
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return network.eval()


def pixels(n: int = 10, size: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def by_hand(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    x = (x - np.array(PRE.mean, dtype=np.float32)[:, None, None]) / np.array(PRE.std, dtype=np.float32)[:, None, None]
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy()


def write_pngs(root: Path, images: np.ndarray) -> FileSource:
    names = []
    for i, image in enumerate(images):
        name = f"class{i % 2}/img{i:03d}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / name)
        names.append(name)
    return FileSource(root, tuple(names))


def test_array_source_features_equal_the_model_run_by_hand(model: torch.nn.Module) -> None:
    images = pixels()
    found = extract_features(model, ArraySource(images), PRE, ExtractionSettings(batch_size=256))
    assert found.features.dtype == np.float32
    assert found.features.shape == (10, get_architecture("shapes_resnet").feature_dim)
    np.testing.assert_allclose(found.features, by_hand(model, images), rtol=1e-5, atol=1e-6)
    assert found.valid.tolist() == [True] * 10
    assert found.skipped == 0


def test_batch_size_does_not_change_the_features(model: torch.nn.Module) -> None:
    source = ArraySource(pixels())
    whole = extract_features(model, source, PRE, ExtractionSettings(batch_size=256))
    for batch_size in (1, 3, 4):
        chunked = extract_features(model, source, PRE, ExtractionSettings(batch_size=batch_size))
        np.testing.assert_allclose(chunked.features, whole.features, rtol=1e-5, atol=1e-6)


def test_progress_is_reported_per_batch(model: torch.nn.Module) -> None:
    calls: list[int] = []
    extract_features(model, ArraySource(pixels()), PRE, ExtractionSettings(batch_size=4), advance=calls.append)
    assert calls == [4, 4, 2]


def test_features_keep_the_source_order(model: torch.nn.Module) -> None:
    images = pixels()
    order = np.array([3, 0, 9, 1])
    whole = extract_features(model, ArraySource(images), PRE, ExtractionSettings())
    part = extract_features(model, ArraySource(images).subset(order), PRE, ExtractionSettings(batch_size=3))
    np.testing.assert_allclose(part.features, whole.features[order], rtol=1e-5, atol=1e-6)


def test_file_source_of_pngs_equals_the_array_path(model: torch.nn.Module, tmp_path: Path) -> None:
    images = pixels()
    from_files = extract_features(model, write_pngs(tmp_path, images), PRE, ExtractionSettings(batch_size=4))
    from_arrays = extract_features(model, ArraySource(images), PRE, ExtractionSettings())
    np.testing.assert_allclose(from_files.features, from_arrays.features, rtol=1e-5, atol=1e-5)
    assert from_files.valid.all()


@pytest.mark.parametrize(("size", "crop"), [(10, 6), (11, 4)], ids=["even-margin", "odd-margin"])
def test_file_and_array_paths_agree_with_a_center_crop(
    model: torch.nn.Module, tmp_path: Path, size: int, crop: int
) -> None:
    images = pixels(size=size)
    pre = Preprocessing(crop=crop, mean=PRE.mean, std=PRE.std)
    from_files = extract_features(model, write_pngs(tmp_path, images), pre, ExtractionSettings(batch_size=5))
    from_arrays = extract_features(model, ArraySource(images), pre, ExtractionSettings())
    np.testing.assert_allclose(from_files.features, from_arrays.features, rtol=1e-5, atol=1e-5)


def _corrupt(source: FileSource, index: int) -> Path:
    path = source.path(index)
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    return path


def test_corrupt_file_raises_image_decode_error_naming_it(model: torch.nn.Module, tmp_path: Path) -> None:
    source = write_pngs(tmp_path, pixels(n=4))
    path = _corrupt(source, 2)
    with pytest.raises(ImageDecodeError, match="--ssl-skip-corrupt") as info:
        extract_features(model, source, Preprocessing(crop=8), ExtractionSettings(batch_size=2))
    assert str(path) in str(info.value)


def test_missing_file_raises_image_decode_error_naming_it(model: torch.nn.Module, tmp_path: Path) -> None:
    source = write_pngs(tmp_path, pixels(n=3))
    source.path(1).unlink()
    with pytest.raises(ImageDecodeError) as info:
        extract_features(model, source, PRE, ExtractionSettings())
    assert str(source.path(1)) in str(info.value)


def test_skip_corrupt_marks_the_image_invalid_with_zero_features(model: torch.nn.Module, tmp_path: Path) -> None:
    images = pixels(n=5)
    source = write_pngs(tmp_path, images)
    _corrupt(source, 3)
    pre = Preprocessing(crop=8, mean=PRE.mean, std=PRE.std)
    found = extract_features(model, source, pre, ExtractionSettings(batch_size=2, skip_corrupt=True))
    assert found.valid.tolist() == [True, True, True, False, True]
    assert found.skipped == 1
    assert not found.features[3].any()
    expected = by_hand(model, images)
    keep = [0, 1, 2, 4]
    np.testing.assert_allclose(found.features[keep], expected[keep], rtol=1e-5, atol=1e-5)


def test_skip_corrupt_also_skips_without_resize_or_crop(model: torch.nn.Module, tmp_path: Path) -> None:
    source = write_pngs(tmp_path, pixels(n=3))
    _corrupt(source, 1)
    found = extract_features(model, source, PRE, ExtractionSettings(skip_corrupt=True))
    assert found.valid.tolist() == [True, False, True]


def test_empty_source_gives_empty_features(model: torch.nn.Module) -> None:
    found = extract_features(model, ArraySource(np.zeros((0, 8, 8, 3), dtype=np.uint8)), PRE, ExtractionSettings())
    assert found.features.shape[0] == 0
    assert found.skipped == 0
