"""Per-split recipes: what each image of each split is, from the seed and its index alone.

Image ``i`` of a split is drawn from its own generator, seeded with ``(seed, split tag, i)``, so a
split's bytes do not depend on how the work is chunked or on the number of worker processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .constants import IMAGE_SIZE, NUM_CLASSES
from .photo import TRAIN_STYLE, V2_STYLE, Hidden, PhotoStyle, render_photo
from .styles import RENDITION_STYLES, sketch

# Shipped sizes; ``scale`` in the generator multiplies them (rounded to whole per-class blocks).
SIZES: Mapping[str, int] = {
    "train": 5000,
    "val": 2000,
    "v2": 2000,
    "rendition": 1200,
    "sketch": 2000,
    "adversarial": 600,  # the target count of kept images
}
# ImageNet-R and -A cover 200 of 1000 classes each and share 86; here 6 of 10 each, sharing 3.
RENDITION_CLASSES: tuple[int, ...] = (0, 2, 3, 5, 7, 9)  # circle triangle star ring heart crescent
ADVERSARIAL_CLASSES: tuple[int, ...] = (0, 1, 3, 6, 7, 8)  # circle square star hexagon heart arrow
# Photo recipe rates, shared by train, val and v2 (V2 repeated ImageNet's collection pipeline).
HIDDEN_RATE = 0.06  # main object made unrecognisable: ReaL found 6.3 % of val with no valid label
SECOND_RATE = 0.2  # a smaller second object of another class (visible or not, by the rule)
ERROR_RATE = 0.03  # the main object is not of the labelled class: simulated annotation error
_TAGS = {"train": 1, "val": 2, "v2": 3, "rendition": 4, "sketch": 5}  # adversarial candidates use 6
_ATTEMPTS = 8

Images = NDArray[np.uint8]
Labels = NDArray[np.int64]


def split_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``."""
    return np.random.default_rng([seed, _TAGS[split], index])


def split_size(split: str, scale: float = 1.0) -> int:
    """Images in ``split`` (``adversarial``: the target) at ``scale``, in whole per-class blocks."""
    block = NUM_CLASSES
    if split == "adversarial":
        block = len(ADVERSARIAL_CLASSES)
    elif split == "rendition":
        block = len(RENDITION_CLASSES) * len(RENDITION_STYLES)
    return max(block, round(SIZES[split] * scale / block) * block)


@dataclass(frozen=True)
class PhotoRecord:
    """What one photo-style image holds, as the recipe intended and as the visibility rule found."""

    label: int  # the single label: the class the image was collected for (image index % 10)
    true_class: int  # class of the main object; differs from ``label`` exactly for annotation errors
    label_set: frozenset[int]  # classes visibly present
    second: int | None
    hidden: Hidden | None
    error: bool


@dataclass(frozen=True)
class PhotoChunk:
    """Images ``start..start+len`` of a photo-style split and their records."""

    images: Images
    records: tuple[PhotoRecord, ...]


def _other(rng: np.random.Generator, *exclude: int) -> int:
    choices = [c for c in range(NUM_CLASSES) if c not in exclude]
    return choices[int(rng.integers(len(choices)))]


def _photo_image(seed: int, split: str, index: int, style: PhotoStyle) -> tuple[Images, PhotoRecord]:
    rng = split_rng(seed, split, index)
    label = index % NUM_CLASSES
    hidden = list(Hidden)[int(rng.integers(3))] if rng.random() < HIDDEN_RATE else None
    error = hidden is None and rng.random() < ERROR_RATE
    true_class = _other(rng, label) if error else label
    second = _other(rng, label, true_class) if hidden is None and rng.random() < SECOND_RATE else None
    # Re-draw until the rule agrees with the intent: main object visible exactly when not hidden.
    for _ in range(_ATTEMPTS):
        photo = render_photo(rng, true_class, style, second=second, hidden=hidden)
        if photo.visibility[0].visible == (hidden is None):
            break
    present = zip((true_class, second), photo.visibility, strict=False)
    label_set = frozenset(c for c, vis in present if c is not None and vis.visible)
    return photo.image, PhotoRecord(label, true_class, label_set, second, hidden, error)


def render_photo_chunk(seed: int, split: str, start: int, stop: int) -> PhotoChunk:
    """Images ``start..stop`` of ``train``, ``val`` or ``v2`` (same recipe; ``v2`` in the shifted style)."""
    if split not in ("train", "val", "v2"):
        raise ValueError(f"{split!r} is not a photo-style split")
    style = V2_STYLE if split == "v2" else TRAIN_STYLE
    pairs = [_photo_image(seed, split, i, style) for i in range(start, stop)]
    return PhotoChunk(_stack([p[0] for p in pairs]), tuple(p[1] for p in pairs))


def rendition_label(index: int) -> tuple[int, str]:
    """Class and style of rendition image ``index``: classes cycle fastest, then styles."""
    styles = tuple(RENDITION_STYLES)
    return RENDITION_CLASSES[index % len(RENDITION_CLASSES)], styles[(index // len(RENDITION_CLASSES)) % len(styles)]


def render_rendition_chunk(seed: int, start: int, stop: int) -> tuple[Images, Labels]:
    """Images ``start..stop`` of ``rendition``."""
    images, labels = [], []
    for i in range(start, stop):
        class_id, style = rendition_label(i)
        images.append(RENDITION_STYLES[style](split_rng(seed, "rendition", i), class_id))
        labels.append(class_id)
    return _stack(images), np.asarray(labels, dtype=np.int64)


def render_sketch_chunk(seed: int, start: int, stop: int) -> tuple[Images, Labels]:
    """Images ``start..stop`` of ``sketch``."""
    images = [sketch(split_rng(seed, "sketch", i), i % NUM_CLASSES) for i in range(start, stop)]
    return _stack(images), np.arange(start, stop, dtype=np.int64) % NUM_CLASSES


def _stack(images: list[Images]) -> Images:
    if not images:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.stack(images))
