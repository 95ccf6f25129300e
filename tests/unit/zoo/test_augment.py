"""Batched augmentations against torchvision's per-image ops, and their determinism."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from pytest_ssllottery.shapes.zoo import augment as A


def _images(n: int = 6, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("op", "factor", "reference"),
    [
        (0, 1.3, TF.adjust_brightness),
        (1, 0.6, TF.adjust_contrast),
        (2, 1.5, TF.adjust_saturation),
        (3, 0.13, TF.adjust_hue),
        (3, -0.4, TF.adjust_hue),
    ],
)
def test_jitter_ops_match_torchvision(op: int, factor: float, reference: object) -> None:
    images = _images()
    ours = A._jitter_op(op, images, torch.full((len(images),), factor))
    assert torch.allclose(ours, reference(images, factor), atol=1e-5)  # type: ignore[operator]


def test_hsv_roundtrip() -> None:
    images = _images()
    assert torch.allclose(A.hsv_to_rgb(A.rgb_to_hsv(images)), images, atol=1e-6)


def test_blur_matches_torchvision() -> None:
    images = _images()
    ours = A.gaussian_blur(images, torch.full((len(images),), 0.8), 3)
    assert torch.allclose(ours, TF.gaussian_blur(images, [3, 3], [0.8, 0.8]), atol=1e-6)


def test_grayscale_and_solarize_always_on() -> None:
    images, gen = _images(), torch.Generator().manual_seed(0)
    gray = A.random_grayscale(images, 1.0, gen)
    assert torch.equal(gray[:, 0], gray[:, 1])
    assert torch.equal(gray[:, 1], gray[:, 2])
    solar = A.random_solarize(images, 1.0, gen)
    assert torch.equal(solar, torch.where(images >= 0.5, 1 - images, images))


def test_full_crop_is_identity_and_flip_mirrors() -> None:
    images = _images(2)
    whole = torch.tensor([[0.5, 0.5, 1.0, 1.0]] * 2)
    same = A.resized_crop(images, whole, torch.tensor([False, False]), 32)
    assert torch.allclose(same, images, atol=1e-5)
    mirrored = A.resized_crop(images, whole, torch.tensor([True, True]), 32)
    assert torch.allclose(mirrored, images.flip(-1), atol=1e-5)


def test_crop_boxes_stay_inside_and_respect_scale() -> None:
    boxes = A.crop_boxes(500, (0.08, 1.0), (3 / 4, 4 / 3), torch.Generator().manual_seed(1))
    cx, cy, w, h = boxes.unbind(1)
    assert bool(((cx - w / 2) >= -1e-6).all() and ((cx + w / 2) <= 1 + 1e-6).all())
    assert bool(((cy - h / 2) >= -1e-6).all() and ((cy + h / 2) <= 1 + 1e-6).all())
    area = w * h
    assert bool((area >= 0.08 - 1e-6).all() and (area <= 1 + 1e-6).all())


def test_make_view_is_deterministic_given_generator() -> None:
    spec = A.ViewSpec(blur=0.5, solarize=0.2)
    images = _images(16)
    first = A.make_view(images, spec, torch.Generator().manual_seed(3))
    second = A.make_view(images, spec, torch.Generator().manual_seed(3))
    assert first.shape == (16, 3, 32, 32)
    assert torch.equal(first, second)
    local = A.make_view(images, A.ViewSpec(size=16), torch.Generator().manual_seed(3))
    assert local.shape == (16, 3, 16, 16)
