"""Antialiased rasterisation and layer compositing on the 32 px canvas.

Outlines are drawn with PIL at ``SUPERSAMPLE`` times the image size and box-filtered down, which gives
each pixel its fractional coverage. Colours live at the final resolution; a layer is an alpha map plus
a paint image, composited back to front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from .classes import Contour, FloatArray
from .constants import IMAGE_SIZE

SUPERSAMPLE = 4
Alpha = NDArray[np.float32]  # (32, 32) coverage in [0, 1]
Paint = NDArray[np.float32]  # (32, 32, 3) colour in [0, 255]


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (IMAGE_SIZE * SUPERSAMPLE, IMAGE_SIZE * SUPERSAMPLE), 0)
    return image, ImageDraw.Draw(image)


def _points(points: FloatArray) -> list[float]:
    # PIL puts supersampled pixel k's centre at coordinate k; ours is at k + 0.5.
    flat: list[float] = (points * SUPERSAMPLE - 0.5).ravel().tolist()
    return flat


def _coverage(image: Image.Image) -> Alpha:
    small = np.asarray(image.reduce(SUPERSAMPLE), dtype=np.float32)
    return small * np.float32(1 / 255)


def fill_coverage(contours: Sequence[Contour]) -> Alpha:
    """Fractional pixel coverage of the filled outlines (holes cut out)."""
    image, draw = _canvas()
    for contour in sorted(contours, key=lambda c: c.hole):
        draw.polygon(_points(contour.points), fill=0 if contour.hole else 255)
    return _coverage(image)


def stroke_coverage(contours: Sequence[Contour], width: float) -> Alpha:
    """Coverage of the outlines drawn as closed lines ``width`` pixels wide."""
    return polyline_coverage([np.vstack([c.points, c.points[:1]]) for c in contours], [width] * len(contours))


def polyline_coverage(lines: Sequence[FloatArray], widths: Sequence[float], round_joints: bool = True) -> Alpha:
    """Coverage of open polylines, each ``(K, 2)`` in pixels, with its own width in pixels.

    ``round_joints=False`` is much faster for densely sampled curves, whose joints need no rounding.
    """
    image, draw = _canvas()
    joint = "curve" if round_joints else None
    for line, width in zip(lines, widths, strict=True):
        draw.line(_points(line), fill=255, width=max(1, round(width * SUPERSAMPLE)), joint=joint)
    return _coverage(image)


def colored_lines(lines: Sequence[FloatArray], widths: Sequence[float], colors: Sequence[NDArray[np.float32]]) -> Layer:
    """One clutter layer of polylines, each in its own colour; later lines cover earlier ones."""
    size = IMAGE_SIZE * SUPERSAMPLE
    paint_image = Image.new("RGB", (size, size), (0, 0, 0))
    alpha_image, alpha_draw = _canvas()
    paint_draw = ImageDraw.Draw(paint_image)
    for line, width, color in zip(lines, widths, colors, strict=True):
        points, pixels = _points(line), max(1, round(width * SUPERSAMPLE))
        rgb = (int(color[0]), int(color[1]), int(color[2]))
        paint_draw.line(points, fill=rgb, width=pixels, joint="curve")
        alpha_draw.line(points, fill=255, width=pixels, joint="curve")
    alpha = _coverage(alpha_image)
    premultiplied = np.asarray(paint_image.reduce(SUPERSAMPLE), dtype=np.float32)
    paint = premultiplied / np.maximum(alpha, np.float32(1e-6))[..., None]
    return Layer(alpha, paint.astype(np.float32))


@dataclass(frozen=True)
class Layer:
    """One paint layer; ``tag`` >= 0 names an object whose visible coverage is tracked, -1 is clutter."""

    alpha: Alpha
    paint: Paint
    tag: int = -1


def object_layer(fill: Alpha, fill_paint: Paint, stroke: Alpha | None, stroke_rgb: Paint | None, tag: int) -> Layer:
    """Merge a fill and an optional outline drawn over it into one layer."""
    if stroke is None or stroke_rgb is None:
        return Layer(fill, fill_paint, tag)
    alpha = 1 - (1 - fill) * (1 - stroke)
    premultiplied = fill_paint * (fill * (1 - stroke))[..., None] + stroke_rgb * stroke[..., None]
    paint = premultiplied / np.maximum(alpha, 1e-6)[..., None]
    return Layer(alpha.astype(np.float32), paint.astype(np.float32), tag)


@dataclass(frozen=True)
class Composite:
    """A composited image (float, not yet quantised) and each tagged object's coverage."""

    image: Paint
    visible: dict[int, Alpha]  # coverage left after the layers above it
    drawn: dict[int, Alpha]  # coverage before occlusion


def composite(background: Paint, layers: Sequence[Layer]) -> Composite:
    """Paint ``layers`` over ``background`` in order; track visible coverage of tagged layers."""
    image = background.astype(np.float32, copy=True)
    for layer in layers:
        image += (layer.paint - image) * layer.alpha[..., None]
    visible: dict[int, Alpha] = {}
    drawn: dict[int, Alpha] = {}
    above = np.ones((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for layer in reversed(layers):
        if layer.tag >= 0:
            visible[layer.tag] = layer.alpha * above
            drawn[layer.tag] = layer.alpha
        above = above * (1 - layer.alpha)
    return Composite(image, visible, drawn)


def quantise(image: Paint) -> NDArray[np.uint8]:
    """Round to uint8 with clipping."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
