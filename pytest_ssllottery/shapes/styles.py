"""Styles never seen in train: the four rendition styles and the sketch style.

- ``cartoon``: flat saturated fill, thick dark outline, drop shadow, plain light background.
- ``painterly``: short thick brush strokes of jittered colour; rough edges.
- ``pixel``: pixel art on a 16 x 16 grid with a few palette colours; mosaic: 3 px tiles and grout.
- ``pattern``: bold checks, polka dots or zigzags on the shape and a different pattern around it.
- ``sketch``: black wobbly pencil lines on white paper, with overshoot, gaps and double strokes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from . import textures as tx
from .classes import Contour, FloatArray, class_contours, place
from .constants import IMAGE_SIZE
from .raster import Alpha, Layer, Paint, composite, fill_coverage, polyline_coverage, quantise, stroke_coverage

CENTRE = IMAGE_SIZE / 2
BRIGHT = tx.Palette((0.65, 1.0), (0.65, 1.0))
PASTEL = tx.Palette((0.0, 0.25), (0.85, 1.0))
Image8 = NDArray[np.uint8]
StyleRenderer = Callable[[np.random.Generator, int], Image8]


def _big_shape(
    rng: np.random.Generator, class_id: int, radius: tuple[float, float] = (10.5, 14.0)
) -> tuple[Contour, ...]:
    dx, dy = rng.uniform(-2.5, 2.5, 2)
    return place(class_contours(class_id), (CENTRE + dx, CENTRE + dy), rng.uniform(*radius), rng.uniform(0, 2 * np.pi))


def cartoon(rng: np.random.Generator, class_id: int) -> Image8:
    """Flat colour, thick dark outline and a drop shadow on a plain light background."""
    shape = _big_shape(rng, class_id)
    fill = tx.solid(tx.random_color(rng, BRIGHT))
    background = tx.solid(tx.random_color(rng, PASTEL))
    ink = tx.solid(np.full(3, rng.uniform(0, 40), np.float32))
    shadow = place(shape, (1.5, 1.5), 1.0, 0.0)
    width = rng.uniform(1.6, 2.6)
    layers = [
        Layer(fill_coverage(shadow) * np.float32(0.35), tx.solid(np.zeros(3, np.float32))),
        Layer(fill_coverage(shape), fill),
        Layer(stroke_coverage(shape, width), ink),
    ]
    return quantise(composite(background, layers).image)


def _brushwork(rng: np.random.Generator, base: tx.RGB, count: int, direction: float) -> Paint:
    """A canvas of ``count`` short strokes of colours jittered around ``base``."""
    scale = 2
    canvas = Image.new("RGB", (IMAGE_SIZE * scale, IMAGE_SIZE * scale), tuple(int(c) for c in base))
    draw = ImageDraw.Draw(canvas)
    centres = rng.uniform(-2, IMAGE_SIZE + 2, (count, 2))
    angles = direction + rng.normal(0, 0.3, count)
    half = rng.uniform(1.5, 3.0, count)
    delta = np.stack([np.cos(angles), np.sin(angles)], axis=1) * half[:, None]
    ends = np.concatenate([centres - delta, centres + delta], axis=1) * scale
    colors = np.clip(base + rng.uniform(-50, 50, (count, 3)), 0, 255).astype(np.uint8)
    widths = rng.integers(2, 4, count)
    for points, color, width in zip(ends.tolist(), colors.tolist(), widths.tolist(), strict=True):
        draw.line(points, fill=tuple(color), width=width)
    small = canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)


def painterly(rng: np.random.Generator, class_id: int) -> Image8:
    """Brushwork inside a hand-painted (wobbly) outline over brushwork of another colour."""
    shape = _big_shape(rng, class_id)
    rough = tuple(Contour(_wobble(rng, c.points, 0.6), c.hole) for c in shape)
    fg, bg = tx.random_color(rng, BRIGHT), tx.random_color(rng, tx.Palette((0.2, 0.7), (0.3, 0.9)))
    for _ in range(20):
        if tx.distance(fg, bg) >= 0.45:
            break
        bg = tx.random_color(rng, tx.Palette((0.2, 0.7), (0.3, 0.9)))
    direction = rng.uniform(0, np.pi)
    background = _brushwork(rng, bg, 90, direction)
    foreground = _brushwork(rng, fg, 90, direction + rng.normal(0, 0.5))
    return quantise(composite(background, [Layer(fill_coverage(rough), foreground)]).image)


def _grid(alpha: Alpha, cell: int, threshold: float = 0.5) -> NDArray[np.bool_]:
    cells = alpha.shape[0] // cell
    usable = alpha[: cells * cell, : cells * cell]
    return np.asarray(usable.reshape(cells, cell, cells, cell).mean(axis=(1, 3)) > threshold)


def pixel(rng: np.random.Generator, class_id: int) -> Image8:
    """Pixel art (2 px cells, a dark outline ring) or a mosaic (3 px tiles separated by grout)."""
    mosaic = rng.random() < 0.5
    shape = _big_shape(rng, class_id, (12.5, 14.5) if mosaic else (11.0, 14.0))
    alpha = fill_coverage(shape)
    fg, bg = tx.random_color(rng, BRIGHT), tx.random_color(rng, PASTEL)
    if not mosaic:
        grid = _grid(alpha, 2)
        grown = grid.copy()
        grown[1:] |= grid[:-1]
        grown[:-1] |= grid[1:]
        grown[:, 1:] |= grid[:, :-1]
        grown[:, :-1] |= grid[:, 1:]
        cells = np.where(grid[..., None], fg, np.where(grown[..., None], np.float32(30), bg))
        # A one-cell highlight in the palette's lighter tone on the top-left of the shape.
        light = np.minimum(fg + 70, 255)
        top_left = grid & ~np.roll(grid, 1, axis=0) & ~np.roll(grid, 1, axis=1)
        cells = np.where(top_left[..., None], light, cells)
        return quantise(np.repeat(np.repeat(cells, 2, axis=0), 2, axis=1))
    tile = 3
    grid = _grid(np.pad(alpha, ((0, 1), (0, 1))), tile, 0.4)
    n = grid.shape[0]
    dark = tx.random_color(rng, tx.Palette((0.3, 0.8), (0.1, 0.35)))
    for _ in range(20):
        if tx.distance(fg, dark) >= 0.6:
            break
        fg = tx.random_color(rng, BRIGHT)
    jitters = rng.uniform(-20, 20, (n, n, 3)).astype(np.float32)
    cells = np.where(grid[..., None], fg, dark) + jitters
    big = np.repeat(np.repeat(cells, tile, axis=0), tile, axis=1)[:IMAGE_SIZE, :IMAGE_SIZE]
    grout = np.float32(rng.uniform(110, 160))
    big[tile - 1 :: tile, :, :] = grout
    big[:, tile - 1 :: tile, :] = grout
    return quantise(big)


def _pattern(rng: np.random.Generator, a: tx.RGB, b: tx.RGB) -> Paint:
    kind = int(rng.integers(4))
    if kind == 0:
        return tx.checks(a, b, rng.uniform(2.5, 4.0), rng.uniform(0, np.pi / 2))
    if kind == 1:
        return tx.polka(a, b, rng.uniform(4.0, 6.0), rng.uniform(1.0, 1.8))
    if kind == 2:
        return tx.zigzag(a, b, rng.uniform(4.0, 7.0), rng.uniform(1.5, 3.0))
    return tx.stripes(a, b, rng.uniform(2.5, 4.0), rng.uniform(0, np.pi), hard=True)


def pattern(rng: np.random.Generator, class_id: int) -> Image8:
    """Bold pattern fill with a thin dark outline over a different, paler pattern."""
    shape = _big_shape(rng, class_id)
    a, b = tx.random_color(rng, BRIGHT), tx.random_color(rng, BRIGHT)
    inside = _pattern(rng, a, b)
    pale = tx.Palette((0.0, 0.3), (0.75, 1.0))
    outside = _pattern(rng, tx.random_color(rng, pale), tx.random_color(rng, pale))
    layers = [
        Layer(fill_coverage(shape), inside),
        Layer(stroke_coverage(shape, 1.0), tx.solid(np.full(3, 20, np.float32))),
    ]
    return quantise(composite(outside, layers).image)


RENDITION_STYLES: dict[str, StyleRenderer] = {
    "cartoon": cartoon,
    "painterly": painterly,
    "pixel": pixel,
    "pattern": pattern,
}


def _wobble(rng: np.random.Generator, closed: FloatArray, amount: float) -> FloatArray:
    """Resample a closed outline densely and displace it by smooth random noise along its normal."""
    loop = np.vstack([closed, closed[:1]])
    seg = np.linalg.norm(np.diff(loop, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    samples = max(24, int(total / 0.8))
    t = np.linspace(0.0, total, samples, endpoint=False)
    points = np.stack([np.interp(t, arc, loop[:, 0]), np.interp(t, arc, loop[:, 1])], axis=1)
    phase = rng.uniform(0, 2 * np.pi, 3)
    freq = np.array([2.0, 3.0, 5.0])
    amp = rng.uniform(0.3, 1.0, 3) * amount / np.array([1.0, 1.5, 2.5])
    u = t / total * 2 * np.pi
    offset = (amp[None, :] * np.sin(u[:, None] * freq[None, :] + phase[None, :])).sum(axis=1)
    tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    result: FloatArray = points + normal * offset[:, None]
    return result


def _pencil_lines(rng: np.random.Generator, contour: Contour) -> list[FloatArray]:
    """One outline as hand-drawn strokes: a start anywhere, overshoot past it, sometimes a gap."""
    dense = _wobble(rng, contour.points, 0.9)
    n = len(dense)
    start = int(rng.integers(n))
    ordered = np.roll(dense, -start, axis=0)
    overshoot = int(n * rng.uniform(0.02, 0.12))
    stroke = np.vstack([ordered, ordered[:overshoot]])
    tail = stroke[-1] - stroke[-2]
    stroke = np.vstack([stroke, stroke[-1] + tail * rng.uniform(1.0, 3.0)])
    if rng.random() < 0.5:
        gap_at = int(rng.integers(n // 5, n - n // 5))
        gap = max(1, int(n * rng.uniform(0.03, 0.08)))
        return [stroke[:gap_at], stroke[gap_at + gap :]]
    return [stroke]


def _hatching(rng: np.random.Generator, inside: Alpha) -> Alpha:
    """Parallel shading strokes clipped to the shape (a loose hand: uneven spacing and tilt)."""
    angle = rng.uniform(0, np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    offsets = np.cumsum(rng.uniform(2.0, 3.5, 16)) - 24.0
    lines = [
        np.stack([CENTRE + normal * o - direction * 24, CENTRE + normal * o + direction * 24])
        + rng.normal(0, 0.6, (2, 2))
        for o in offsets
    ]
    return polyline_coverage(lines, [0.6] * len(lines), round_joints=False) * inside


def _stray_marks(rng: np.random.Generator, count: int) -> list[FloatArray]:
    """Short scribbles away from the drawing: construction lines and slips of the pencil."""
    marks = []
    for _ in range(count):
        start = rng.uniform(2, IMAGE_SIZE - 2, 2)
        steps = rng.normal(0, 2.0, (int(rng.integers(2, 4)), 2))
        marks.append(start + np.vstack([np.zeros((1, 2)), np.cumsum(steps, axis=0)]))
    return marks


def sketch(rng: np.random.Generator, class_id: int) -> Image8:
    """Dark pencil lines on white paper.

    Outlines wobble, start anywhere, overshoot and sometimes break; a third are traced twice; some
    drawings are shaded with hatching and some have stray marks.
    """
    dx, dy = rng.uniform(-3.5, 3.5, 2)
    shape = place(
        class_contours(class_id),
        (CENTRE + dx, CENTRE + dy),
        rng.uniform(9.0, 13.5),
        rng.uniform(0, 2 * np.pi),
        rng.uniform(0.85, 1.15),
    )
    lines: list[FloatArray] = []
    for contour in shape:
        lines += _pencil_lines(rng, contour)
        if rng.random() < 0.35:
            lines += _pencil_lines(rng, contour)
    lines += _stray_marks(rng, int(rng.integers(0, 3)) if rng.random() < 0.35 else 0)
    widths = [rng.uniform(0.6, 1.4) for _ in lines]
    ink = polyline_coverage(lines, widths, round_joints=False)
    if rng.random() < 0.4:
        ink = np.maximum(ink, _hatching(rng, fill_coverage(shape)) * np.float32(rng.uniform(0.4, 0.7)))
    paper = rng.uniform(240, 255)
    darkness = rng.uniform(0, 50)
    gray = paper + (darkness - paper) * np.minimum(ink * np.float32(1.3), 1)
    gray = gray + rng.standard_normal(gray.shape, dtype=np.float32) * np.float32(1.5)
    return quantise(np.repeat(gray[..., None], 3, axis=2))
