"""The "photo" style (train, val, v2) and its hard variant (adversarial candidates).

A photo is a textured background, one main object (textured fill, optional outline, random position,
scale, rotation and aspect), optionally a second smaller object of another class, occluders and
clutter, and mild pixel noise. Every object's visibility is measured on the final image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from . import textures as tx
from .classes import CLASS_NAMES, class_contours, place, shape_area
from .constants import IMAGE_SIZE
from .raster import (
    Layer,
    colored_lines,
    composite,
    fill_coverage,
    object_layer,
    polyline_coverage,
    quantise,
    stroke_coverage,
)
from .visibility import Visibility, measure

CENTRE = IMAGE_SIZE / 2
OBJECT_PALETTE = tx.Palette()
BACKGROUND_PALETTE = tx.Palette((0.0, 0.8), (0.15, 1.0))


@dataclass(frozen=True)
class PhotoStyle:
    """Distribution of the photo style's nuisance factors."""

    palette: tx.Palette = OBJECT_PALETTE
    background_palette: tx.Palette = BACKGROUND_PALETTE
    background_kinds: tuple[float, float, float, float] = (0.35, 0.3, 0.15, 0.2)
    fill_kinds: tuple[float, float, float, float] = (0.45, 0.25, 0.15, 0.15)
    radius: tuple[float, float] = (8.5, 13.5)  # outline radius in pixels
    max_offset: float = 4.0  # largest shift of the centre from the image centre, pixels
    aspect: tuple[float, float] = (0.85, 1.15)
    stroke_probability: float = 0.35
    stroke_width: tuple[float, float] = (0.6, 1.5)
    noise_std: tuple[float, float] = (0.0, 5.0)
    min_contrast: float = 0.35  # colour distance between object and background when sampling


TRAIN_STYLE = PhotoStyle()
# ImageNetV2 was collected a decade later by the same recipe: mildly different images. Here: duller
# and darker colours, busier backgrounds, smaller and less centred objects, a bit more noise.
V2_STYLE = PhotoStyle(
    palette=tx.Palette((0.25, 0.9), (0.25, 0.95)),
    background_palette=tx.Palette((0.0, 0.7), (0.1, 0.9)),
    background_kinds=(0.2, 0.3, 0.2, 0.3),
    fill_kinds=(0.35, 0.3, 0.15, 0.2),
    radius=(7.5, 12.5),
    max_offset=5.5,
    stroke_probability=0.3,
    noise_std=(1.0, 7.0),
    min_contrast=0.3,
)


class Hidden(Enum):
    """Ways the main object of a val image is made unrecognisable."""

    FAINT = "faint"  # almost the background's colour, under noise
    OUTSIDE = "outside"  # mostly out of frame
    TINY = "tiny"  # a few pixels wide


@dataclass(frozen=True)
class Hardness:
    """Nuisances of the hard variant used for adversarial candidates."""

    clutter: int = 0  # random coloured strokes across the image, under the object
    occluders: int = 0  # bars drawn over the object
    radius: tuple[float, float] | None = None  # overrides the style's radius
    odd_colours: bool = False  # object colour close to the background's, low saturation
    blur: bool = False  # a 2x2 box blur of the whole image


@dataclass(frozen=True)
class Photo:
    """A rendered photo and the visibility of its objects (index 0: main object, 1: second object)."""

    image: NDArray[np.uint8]
    visibility: tuple[Visibility, ...] = field(default_factory=tuple)


def _contrasting(rng: np.random.Generator, palette: tx.Palette, against: tx.RGB, minimum: float) -> tx.RGB:
    color = tx.random_color(rng, palette)
    for _ in range(20):
        if tx.distance(color, against) >= minimum:
            break
        color = tx.random_color(rng, palette)
    return color


def _object(
    rng: np.random.Generator,
    class_id: int,
    centre: tuple[float, float],
    radius: float,
    color: tx.RGB,
    style: PhotoStyle,
    tag: int,
    stroke: bool,
    flat: bool = False,
) -> tuple[Layer, float]:
    contours = place(class_contours(class_id), centre, radius, rng.uniform(0, 2 * np.pi), rng.uniform(*style.aspect))
    fill = fill_coverage(contours)
    paint = tx.solid(color) if flat else tx.photo_texture(rng, color, style.fill_kinds)
    if stroke:
        stroke_rgb = tx.solid(tx.jitter(rng, color * rng.uniform(0.0, 0.45), 20))
        if rng.random() < 0.3:
            stroke_rgb = tx.solid(tx.jitter(rng, np.full(3, 235, np.float32), 20))
        edge = stroke_coverage(contours, rng.uniform(*style.stroke_width))
        layer = object_layer(fill, paint, edge, stroke_rgb, tag)
    else:
        layer = object_layer(fill, paint, None, None, tag)
    return layer, shape_area(contours)


def _centre(rng: np.random.Generator, max_offset: float) -> tuple[float, float]:
    dx, dy = rng.uniform(-max_offset, max_offset, 2)
    return (CENTRE + float(dx), CENTRE + float(dy))


def _hidden_placement(rng: np.random.Generator, hidden: Hidden, radius: float) -> tuple[tuple[float, float], float]:
    if hidden is Hidden.TINY:
        return _centre(rng, 10.0), rng.uniform(1.2, 2.2)
    if hidden is Hidden.OUTSIDE:
        edge_offset = radius * rng.uniform(0.2, 0.6)  # centre this far beyond an edge
        along = rng.uniform(6, IMAGE_SIZE - 6)
        side = int(rng.integers(4))
        across = -edge_offset if side < 2 else IMAGE_SIZE + edge_offset
        return ((across, along) if side % 2 == 0 else (along, across)), radius
    return _centre(rng, 3.0), radius


def _second_placement(
    rng: np.random.Generator, main: tuple[float, float], main_radius: float, radius: float
) -> tuple[float, float]:
    angle = rng.uniform(0, 2 * np.pi)
    reach = main_radius * rng.uniform(0.7, 1.1)
    x = np.clip(main[0] + reach * np.cos(angle), radius * 0.6, IMAGE_SIZE - radius * 0.6)
    y = np.clip(main[1] + reach * np.sin(angle), radius * 0.6, IMAGE_SIZE - radius * 0.6)
    return (float(x), float(y))


def _clutter(rng: np.random.Generator, count: int, palette: tx.Palette) -> list[Layer]:
    if count == 0:
        return []
    lines = [rng.uniform(-4, IMAGE_SIZE + 4, (int(rng.integers(2, 5)), 2)) for _ in range(count)]
    widths = rng.uniform(0.8, 2.5, count).tolist()
    return [colored_lines(lines, widths, [tx.random_color(rng, palette) for _ in range(count)])]


def _occluders(rng: np.random.Generator, count: int, centre: tuple[float, float], radius: float) -> list[Layer]:
    layers = []
    for _ in range(count):
        angle = rng.uniform(0, np.pi)
        shift = rng.uniform(-0.6, 0.6) * radius
        normal = np.array([-np.sin(angle), np.cos(angle)])
        mid = np.asarray(centre) + normal * shift
        direction = np.array([np.cos(angle), np.sin(angle)]) * 2 * IMAGE_SIZE
        alpha = polyline_coverage([np.stack([mid - direction, mid + direction])], [rng.uniform(2.0, 4.5)])
        layers.append(Layer(alpha, tx.photo_texture(rng, tx.random_color(rng, tx.Palette()), (1, 1, 1, 0))))
    return layers


def render_photo(
    rng: np.random.Generator,
    class_id: int,
    style: PhotoStyle = TRAIN_STYLE,
    *,
    second: int | None = None,
    hidden: Hidden | None = None,
    hardness: Hardness | None = None,
) -> Photo:
    """Render one photo-style image whose main object is of class ``class_id``.

    Args:
        rng: Per-image random generator.
        class_id: Class of the main object.
        style: Nuisance distribution.
        second: Class of a smaller second object, if any (drawn over the main object's surroundings).
        hidden: Make the main object unrecognisable in this way.
        hardness: Hard-variant nuisances (adversarial candidates).
    """
    if not 0 <= class_id < len(CLASS_NAMES):
        raise ValueError(f"class_id must be in 0..{len(CLASS_NAMES) - 1}, got {class_id}")
    hard = hardness or Hardness()
    bg_mean = tx.random_color(rng, style.background_palette)
    background = tx.photo_texture(rng, bg_mean, style.background_kinds)
    radius = rng.uniform(*(hard.radius or style.radius))
    centre = _centre(rng, style.max_offset)
    color = _contrasting(rng, style.palette, bg_mean, style.min_contrast)
    noise_std = rng.uniform(*style.noise_std)
    if hidden is not None:
        centre, radius = _hidden_placement(rng, hidden, radius)
        if hidden is Hidden.FAINT:
            background = (
                tx.solid(bg_mean)
                if rng.random() < 0.5
                else tx.smooth_noise(rng, bg_mean, tx.jitter(rng, bg_mean, 6), 4)
            )
            color = tx.jitter(rng, bg_mean, 5)
            noise_std = rng.uniform(4.0, 7.0)
    if hard.odd_colours:
        muted = tx.Palette((0.0, 0.35), (0.2, 0.9))
        color = _contrasting(rng, muted, bg_mean, 0.2)
    layers = _clutter(rng, hard.clutter, style.background_palette)
    stroke = rng.random() < style.stroke_probability and hidden is not Hidden.FAINT
    faint = hidden is Hidden.FAINT
    main, main_area = _object(rng, class_id, centre, radius, color, style, 0, stroke, flat=faint)
    layers.append(main)
    areas = [main_area]
    if second is not None:
        second_radius = radius * rng.uniform(0.3, 0.6)
        second_centre = _second_placement(rng, centre, radius, second_radius)
        faint_second = rng.random() < 0.25
        second_color = (
            tx.jitter(rng, bg_mean, 8)
            if faint_second
            else _contrasting(rng, style.palette, bg_mean, style.min_contrast)
        )
        layer, area = _object(rng, second, second_centre, second_radius, second_color, style, 1, rng.random() < 0.3)
        layers.append(layer)
        areas.append(area)
    layers += _occluders(rng, hard.occluders, centre, radius)
    scene = composite(background, layers)
    image = scene.image
    if hard.blur:
        padded = np.pad(image, ((0, 1), (0, 1), (0, 0)), mode="edge")
        image = (padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]) * np.float32(0.25)
    if noise_std > 0:
        image = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(noise_std)
    visibility = tuple(measure(image, scene.visible[tag], scene.drawn[tag], areas[tag]) for tag in range(len(areas)))
    return Photo(quantise(image), visibility)
