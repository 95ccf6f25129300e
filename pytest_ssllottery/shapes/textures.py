"""Colours, backgrounds and fill textures at the final 32 px resolution.

``PHOTO_TEXTURES`` are the fills and backgrounds of the photo style (train, val, v2). The pattern
textures (checks, polka dots, zigzags) are reserved for the rendition split and never appear in train.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .constants import IMAGE_SIZE
from .raster import Paint

RGB = NDArray[np.float32]  # (3,) colour in [0, 255]

# Gradient and stripe fields are cached per quantised angle and period: they repeat across images.
_ANGLE_STEPS = 180
_ANGLE_STEP = 2 * np.pi / _ANGLE_STEPS
_PERIOD_STEP = 0.125
_coords = np.arange(IMAGE_SIZE, dtype=np.float32) + np.float32(0.5)
XX, YY = np.meshgrid(_coords, _coords)


@dataclass(frozen=True)
class Palette:
    """Ranges of HSV saturation and value that colours are drawn from (hue is uniform)."""

    saturation: tuple[float, float] = (0.35, 1.0)
    value: tuple[float, float] = (0.3, 1.0)


def hsv(h: float, s: float, v: float) -> RGB:
    """HSV in [0, 1] to an RGB colour in [0, 255]."""
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * np.float32(255)


def random_color(rng: np.random.Generator, palette: Palette) -> RGB:
    """A colour with uniform hue and saturation/value in the palette's ranges."""
    return hsv(rng.random(), rng.uniform(*palette.saturation), rng.uniform(*palette.value))


def jitter(rng: np.random.Generator, color: RGB, amount: float) -> RGB:
    """``color`` moved by up to ``amount`` per channel."""
    moved = color + rng.uniform(-amount, amount, 3).astype(np.float32)
    return np.minimum(np.maximum(moved, 0), 255)


def distance(a: RGB, b: RGB) -> float:
    """Euclidean RGB distance in units of 255."""
    return float(np.linalg.norm(a - b) / 255.0)


def solid(color: RGB) -> Paint:
    """A flat colour."""
    out = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    out[...] = color
    return out


def _blend(a: RGB, b: RGB, t: NDArray[np.float32]) -> Paint:
    return (a + (b - a) * t[..., None]).astype(np.float32, copy=False)


@cache
def _gradient_field(angle_step: int) -> NDArray[np.float32]:
    angle = angle_step * _ANGLE_STEP
    u = (XX - IMAGE_SIZE / 2) * np.cos(angle) + (YY - IMAGE_SIZE / 2) * np.sin(angle)
    field: NDArray[np.float32] = np.clip(u / IMAGE_SIZE + 0.5, 0, 1).astype(np.float32)
    field.flags.writeable = False
    return field


@cache
def _stripe_field(period_step: int, angle_step: int, hard: bool) -> NDArray[np.float32]:
    angle, period = angle_step * _ANGLE_STEP, period_step * _PERIOD_STEP
    wave = np.sin((XX * np.cos(angle) + YY * np.sin(angle)) * (2 * np.pi / period))
    field: NDArray[np.float32] = (np.clip(wave * 2 + 0.5, 0, 1) if hard else (wave + 1) / 2).astype(np.float32)
    field.flags.writeable = False
    return field


def gradient(a: RGB, b: RGB, angle: float) -> Paint:
    """Linear ramp from ``a`` to ``b`` across the image along ``angle`` (quantised to 2 degrees)."""
    return _blend(a, b, _gradient_field(round(angle / _ANGLE_STEP) % _ANGLE_STEPS))


def stripes(a: RGB, b: RGB, period: float, angle: float, hard: bool = False) -> Paint:
    """Parallel stripes of ``period`` pixels (quantised to 1/8 px), soft (sinusoidal) or hard-edged."""
    step = round(angle / _ANGLE_STEP) % _ANGLE_STEPS
    return _blend(a, b, _stripe_field(max(1, round(period / _PERIOD_STEP)), step, hard))


def smooth_noise(rng: np.random.Generator, a: RGB, b: RGB, cells: int) -> Paint:
    """A bilinearly upsampled ``cells`` x ``cells`` random field blending ``a`` and ``b``."""
    field = Image.fromarray(rng.random((cells, cells)).astype(np.float32))
    t = np.asarray(field.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR), dtype=np.float32)
    return _blend(a, b, t)


def checks(a: RGB, b: RGB, period: float, angle: float) -> Paint:
    """A hard checkerboard, rotated by ``angle``."""
    u = XX * np.cos(angle) + YY * np.sin(angle)
    v = -XX * np.sin(angle) + YY * np.cos(angle)
    t = (np.floor(u / period) + np.floor(v / period)) % 2
    return _blend(a, b, t.astype(np.float32))


def polka(a: RGB, b: RGB, period: float, radius: float) -> Paint:
    """Dots of colour ``b`` on a hexagonal lattice over ``a``."""
    row = np.floor(YY / period)
    x = (XX + (row % 2) * period / 2) % period - period / 2
    y = YY % period - period / 2
    t = np.clip(radius - np.hypot(x, y) + 0.5, 0, 1)
    return _blend(a, b, t.astype(np.float32))


def zigzag(a: RGB, b: RGB, period: float, amplitude: float) -> Paint:
    """Hard-edged horizontal zigzag bands."""
    tri = np.abs((XX / period) % 2 - 1) * amplitude
    t = np.floor((YY + tri) / (period / 2)) % 2
    return _blend(a, b, t.astype(np.float32))


def pick(rng: np.random.Generator, weights: tuple[float, ...]) -> int:
    """An index drawn with probability proportional to ``weights``."""
    threshold = rng.random() * sum(weights)
    for index, weight in enumerate(weights):
        threshold -= weight
        if threshold < 0:
            return index
    return len(weights) - 1


def photo_texture(rng: np.random.Generator, base: RGB, kinds: tuple[float, float, float, float]) -> Paint:
    """A photo-style surface around ``base``: solid, gradient, soft stripes or smooth noise.

    Args:
        rng: Source of randomness.
        base: Mean colour of the surface.
        kinds: Probabilities of solid, gradient, soft stripes and noise (need not sum to 1).
    """
    kind = pick(rng, kinds)
    if kind == 0:
        return solid(base)
    spread = rng.uniform(15, 45)
    a, b = jitter(rng, base, spread), jitter(rng, base, spread)
    if kind == 1:
        return gradient(a, b, rng.uniform(0, 2 * np.pi))
    if kind == 2:
        return stripes(a, b, rng.uniform(3.0, 8.0), rng.uniform(0, np.pi))
    return smooth_noise(rng, a, b, int(rng.integers(3, 7)))
