"""Images to normalised tensors: the in-memory array path and the torchvision pipeline for decoded files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torchvision import transforms

from pytest_ssllottery.compute.preprocessing import arrays_to_tensor, pil_transform
from pytest_ssllottery.suite.spec import Preprocessing

MEAN, STD = (0.2, 0.5, 0.7), (0.3, 0.25, 0.1)


def images(seed: int, n: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, height, width, 3), dtype=np.uint8)


def by_hand(batch: np.ndarray, mean=MEAN, std=STD) -> np.ndarray:
    """(x / 255 - mean) / std, channels first, in float64."""
    x = batch.astype(np.float64).transpose(0, 3, 1, 2) / 255.0
    return (x - np.asarray(mean)[None, :, None, None]) / np.asarray(std)[None, :, None, None]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 12), st.integers(1, 12))
def test_without_resize_or_crop_the_tensor_is_scaled_and_normalised(seed: int, n: int, height: int, width: int) -> None:
    batch = images(seed, n, height, width)
    found = arrays_to_tensor(batch, Preprocessing(mean=MEAN, std=STD))
    assert found.dtype == torch.float32
    assert tuple(found.shape) == (n, 3, height, width)
    np.testing.assert_allclose(found.numpy(), by_hand(batch), rtol=1e-5, atol=1e-5)


def test_normalize_off_keeps_values_in_the_unit_range() -> None:
    batch = images(1, 2, 5, 7)
    found = arrays_to_tensor(batch, Preprocessing(mean=None, std=None))
    np.testing.assert_allclose(found.numpy(), batch.transpose(0, 3, 1, 2) / 255.0, atol=1e-7)


def test_pil_transform_with_normalize_off_is_to_tensor() -> None:
    image = images(2, 1, 6, 9)[0]
    found = pil_transform(Preprocessing(mean=None, std=None))(Image.fromarray(image))
    np.testing.assert_allclose(found.numpy(), image.transpose(2, 0, 1) / 255.0, atol=1e-7)


def test_input_array_is_not_modified() -> None:
    batch = images(3, 2, 8, 8)
    copy = batch.copy()
    arrays_to_tensor(batch, Preprocessing(resize=6, crop=4, mean=MEAN, std=STD))
    np.testing.assert_array_equal(batch, copy)


def test_read_only_arrays_convert_without_a_warning(tmp_path) -> None:
    # cached splits are memory-mapped read-only; the project's filterwarnings=error makes a warning fail this
    path = tmp_path / "images.npy"
    np.save(path, images(4, 2, 6, 6))
    mapped = np.load(path, mmap_mode="r")
    assert not mapped.flags.writeable
    found = arrays_to_tensor(mapped, Preprocessing(mean=MEAN, std=STD))
    np.testing.assert_allclose(found.numpy(), by_hand(np.asarray(mapped)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("height", "width", "crop"), [(10, 10, 4), (9, 9, 4), (12, 8, 6), (16, 13, 8), (7, 7, 7)])
def test_center_crop_takes_the_middle_window(height: int, width: int, crop: int) -> None:
    batch = images(4, 2, height, width)
    found = arrays_to_tensor(batch, Preprocessing(crop=crop, mean=None, std=None)).numpy()
    top, left = (height - crop) // 2, (width - crop) // 2
    window = batch[:, top : top + crop, left : left + crop, :].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(found, window, atol=1e-7)


@pytest.mark.parametrize(("height", "width", "crop"), [(10, 10, 4), (9, 9, 4), (12, 8, 6), (13, 9, 4)])
def test_center_crop_matches_torchvision_center_crop(height: int, width: int, crop: int) -> None:
    batch = images(5, 1, height, width)
    found = arrays_to_tensor(batch, Preprocessing(crop=crop, mean=None, std=None))[0]
    expected = transforms.functional.center_crop(torch.from_numpy(batch[0]).permute(2, 0, 1), [crop, crop]) / 255.0
    torch.testing.assert_close(found, expected.float())


def test_center_crop_matches_torchvision_when_the_margin_is_odd() -> None:
    batch = images(6, 1, 11, 11)
    found = arrays_to_tensor(batch, Preprocessing(crop=4, mean=None, std=None))[0]
    expected = transforms.functional.center_crop(torch.from_numpy(batch[0]).permute(2, 0, 1), [4, 4]) / 255.0
    torch.testing.assert_close(found, expected.float())


@pytest.mark.parametrize(
    ("height", "width", "size", "expected"),
    [(8, 8, 4, (4, 4)), (8, 16, 4, (4, 8)), (16, 8, 12, (24, 12)), (12, 20, 9, (9, 15)), (6, 6, 6, (6, 6))],
)
def test_resize_scales_the_shorter_side_to_the_requested_size(
    height: int, width: int, size: int, expected: tuple[int, int]
) -> None:
    found = arrays_to_tensor(images(7, 2, height, width), Preprocessing(resize=size, mean=None, std=None))
    assert tuple(found.shape[-2:]) == expected
    assert float(found.min()) >= 0.0
    assert float(found.max()) <= 1.0


def test_resize_of_a_constant_image_keeps_its_value() -> None:
    batch = np.full((1, 9, 13, 3), 77, dtype=np.uint8)
    for mode in ("nearest", "bilinear", "bicubic"):
        found = arrays_to_tensor(batch, Preprocessing(resize=5, interpolation=mode, mean=None, std=None))
        np.testing.assert_allclose(found.numpy(), 77 / 255.0, atol=1e-6)


def test_resize_output_shape_matches_torchvision_resize() -> None:
    batch = images(8, 1, 10, 17)
    found = arrays_to_tensor(batch, Preprocessing(resize=7, mean=None, std=None))
    expected = transforms.Resize(7)(Image.fromarray(batch[0]))
    assert tuple(found.shape[-2:]) == (expected.height, expected.width)


@pytest.mark.parametrize(
    ("resize", "crop", "interpolation"),
    [(None, None, "bilinear"), (None, 6, "bilinear"), (12, None, "bilinear"), (12, 8, "bicubic"), (10, 8, "nearest")],
)
def test_pil_transform_equals_the_torchvision_pipeline_built_by_hand(
    resize: int | None, crop: int | None, interpolation: str
) -> None:
    image = Image.fromarray(images(9, 1, 16, 20)[0])
    modes = {
        "nearest": transforms.InterpolationMode.NEAREST,
        "bilinear": transforms.InterpolationMode.BILINEAR,
        "bicubic": transforms.InterpolationMode.BICUBIC,
    }
    steps: list = []
    if resize is not None:
        steps.append(transforms.Resize(resize, interpolation=modes[interpolation]))
    if crop is not None:
        steps.append(transforms.CenterCrop(crop))
    steps += [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    expected = transforms.Compose(steps)(image)
    pre = Preprocessing(resize=resize, crop=crop, interpolation=interpolation, mean=MEAN, std=STD)
    torch.testing.assert_close(pil_transform(pre)(image), expected, rtol=0, atol=0)


def test_array_and_pil_paths_agree_on_a_resized_smooth_image() -> None:
    ramp = np.linspace(0, 255, 24)
    image = np.stack([*np.meshgrid(ramp, ramp[::-1], indexing="xy"), np.full((24, 24), 128.0)], axis=-1)
    image = image.astype(np.uint8)
    pre = Preprocessing(resize=16, crop=12, mean=MEAN, std=STD)
    from_array = arrays_to_tensor(image[None], pre)[0]
    from_pil = pil_transform(pre)(Image.fromarray(image))
    std = torch.tensor(STD).view(3, 1, 1)
    # PIL resizes in uint8 (rounding to 1/255); the array path resizes in float.
    assert float(((from_array - from_pil) * std).abs().max()) <= 1.5 / 255
