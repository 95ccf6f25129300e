"""The adversarial split: hard but natural photos kept only when a fixed reference classifier errs.

ImageNet-A was collected by downloading natural images of 200 classes and deleting those a ResNet-50
classified correctly. Here candidates of ``ADVERSARIAL_CLASSES`` are rendered with clutter, occluding
bars, small scale, muted colours or blur; a candidate is valid only when its object passes the
visibility rule (so it stays recognisable), and kept only when the reference's logit of the true
class is below the best other logit of the subset by at least ``MARGIN`` (the split is scored over
the subset, as ImageNet-A is). The margin keeps membership stable under float noise across machines.

Each class has its own stream of candidates (candidate ``k`` of class ``c`` is seeded with
``(seed, c, k)``); the split holds the first ``quota = target / 6`` fooling candidates of each
stream, examining at most ``quota * BUDGET_PER_IMAGE`` candidates of a class. Streams are rendered
in rounds sized from the pass rate seen so far; the sizes only change how much is rendered, never
which candidates are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DatasetError
from .constants import IMAGE_SIZE
from .photo import TRAIN_STYLE, Hardness, render_photo
from .splits import ADVERSARIAL_CLASSES, Images, Labels

Reference = Callable[[NDArray[np.uint8]], NDArray[Any]]
MARGIN = 0.5
BUDGET_PER_IMAGE = 8  # candidates of a class examined at most, per image of its quota
CHUNK = 100  # candidates per rendering task and per reference call
PRECISE_BAND = 0.05  # float32 margins this close to MARGIN are recomputed with ``reference.precise``
MIN_ROUND = 16
_TAG = 6
ChunkSpec = tuple[int, int, int]  # (class id, first position, stop position) in a class's stream


@dataclass(frozen=True)
class CandidateChunk:
    """The valid candidates among positions ``start..stop`` of class ``class_id``'s stream."""

    class_id: int
    start: int
    stop: int
    positions: NDArray[np.int64]
    images: Images


Renderer = Callable[[list[ChunkSpec]], Iterable[CandidateChunk]]  # renders specs, yields chunks in order


@dataclass(frozen=True)
class ClassStats:
    """Counts over the candidates of one class that were examined."""

    candidates: int
    valid: int  # object visible by the rule
    fooled: int  # valid and misclassified by the margin
    kept: int


@dataclass(frozen=True)
class FilterStats:
    """How the filter went, per class and in total."""

    quota: int
    per_class: dict[int, ClassStats]

    @property
    def candidates(self) -> int:
        """Candidates rendered."""
        return sum(s.candidates for s in self.per_class.values())

    @property
    def valid(self) -> int:
        """Candidates whose object passed the visibility rule."""
        return sum(s.valid for s in self.per_class.values())

    @property
    def fooled(self) -> int:
        """Valid candidates the reference got wrong by the margin."""
        return sum(s.fooled for s in self.per_class.values())

    @property
    def kept(self) -> int:
        """Images in the split."""
        return sum(s.kept for s in self.per_class.values())

    @property
    def pass_rate(self) -> float:
        """Fraction of valid candidates that fool the reference."""
        return self.fooled / self.valid if self.valid else 0.0

    @property
    def budget_exhausted(self) -> bool:
        """Whether some class ended below its quota."""
        return any(s.kept < self.quota for s in self.per_class.values())


def sample_hardness(rng: np.random.Generator) -> Hardness:
    """The nuisances of one candidate; each kind is switched on independently."""
    return Hardness(
        clutter=int(rng.integers(0, 6)),
        occluders=int(rng.integers(0, 3)),
        radius=(5.0, 8.0) if rng.random() < 0.4 else None,
        odd_colours=bool(rng.random() < 0.4),
        blur=bool(rng.random() < 0.3),
    )


def candidate_rng(seed: int, class_id: int, position: int) -> np.random.Generator:
    """The generator of candidate ``position`` of class ``class_id``."""
    return np.random.default_rng([seed, _TAG, class_id, position])


def render_candidate_chunk(seed: int, class_id: int, start: int, stop: int) -> CandidateChunk:
    """Render candidates ``start..stop`` of a class; keep those whose object is visible."""
    positions, images = [], []
    for position in range(start, stop):
        rng = candidate_rng(seed, class_id, position)
        photo = render_photo(rng, class_id, TRAIN_STYLE, hardness=sample_hardness(rng))
        if photo.visibility[0].visible:
            positions.append(position)
            images.append(photo.image)
    stack = np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    return CandidateChunk(class_id, start, stop, np.asarray(positions, dtype=np.int64), stack)


def margins(logits: NDArray[Any], labels: Labels, classes: tuple[int, ...]) -> NDArray[np.float64]:
    """Best other logit among ``classes`` minus the true class's logit (positive: misclassified)."""
    subset = np.asarray(logits, dtype=np.float64)[:, list(classes)]
    position = np.searchsorted(np.asarray(classes), labels)
    rows = np.arange(len(labels))
    true = subset[rows, position]
    subset[rows, position] = -np.inf
    gaps: NDArray[np.float64] = subset.max(axis=1) - true
    return gaps


def fooled(logits: NDArray[Any], labels: Labels, classes: tuple[int, ...], margin: float = MARGIN) -> NDArray[np.bool_]:
    """Whether each image's true-class logit trails the best other class of ``classes`` by ``margin``."""
    return np.asarray(margins(logits, labels, classes) >= margin)


@dataclass
class _Stream:
    """Progress of one class's candidate stream."""

    next: int = 0
    candidates: int = 0
    valid: int = 0
    fooled: int = 0
    kept: list[tuple[int, NDArray[np.uint8]]] = field(default_factory=list)

    def round_size(self, quota: int, budget: int) -> int:
        """Candidates to render next: enough to fill the quota at the pass rate seen so far (+20 %)."""
        need = quota - len(self.kept)
        if need <= 0 or self.next >= budget:
            return 0
        rate = (self.fooled + 1) / (self.candidates + 1)  # 1 before anything is seen
        wanted = max(MIN_ROUND, math.ceil(1.2 * need / max(rate, 1 / (2 * BUDGET_PER_IMAGE))))
        return min(budget - self.next, wanted)


def filter_candidates(
    render: Renderer, reference: Reference, target: int, margin: float = MARGIN
) -> tuple[Images, Labels, FilterStats]:
    """Build the split: per class, the first ``target // 6`` fooling candidates of its stream.

    Args:
        render: Renders chunk specs ``(class, start, stop)`` and yields their chunks in order.
        reference: Classifier from uint8 images ``(N, 32, 32, 3)`` to logits ``(N, 10)``.
        target: Images wanted in total (``target // 6`` per class).
        margin: Logit margin by which the reference must be wrong.
    """
    quota = target // len(ADVERSARIAL_CLASSES)
    budget = quota * BUDGET_PER_IMAGE
    streams = {c: _Stream() for c in ADVERSARIAL_CLASSES}
    while True:
        specs: list[ChunkSpec] = []
        for class_id, stream in streams.items():
            stop = stream.next + stream.round_size(quota, budget)
            specs += [(class_id, a, min(a + CHUNK, stop)) for a in range(stream.next, stop, CHUNK)]
            stream.next = stop
        if not specs:
            break
        for chunk in render(specs):
            _score(streams[chunk.class_id], chunk, reference, quota, margin)
    ordered = sorted(
        (position, ADVERSARIAL_CLASSES.index(c), image) for c, s in streams.items() for position, image in s.kept
    )
    images = np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    if ordered:
        images = np.ascontiguousarray(np.stack([image for _, _, image in ordered]))
    labels = np.asarray([ADVERSARIAL_CLASSES[k] for _, k, _ in ordered], dtype=np.int64)
    per_class = {c: ClassStats(s.candidates, s.valid, s.fooled, len(s.kept)) for c, s in streams.items()}
    return images, labels, FilterStats(quota, per_class)


def _score(stream: _Stream, chunk: CandidateChunk, reference: Reference, quota: int, margin: float) -> None:
    stream.candidates += chunk.stop - chunk.start
    stream.valid += len(chunk.positions)
    if not len(chunk.positions):
        return
    logits = np.asarray(reference(chunk.images))
    if logits.ndim != 2 or logits.shape[0] != len(chunk.positions) or logits.shape[1] <= max(ADVERSARIAL_CLASSES):
        raise DatasetError(
            f"the adversarial reference must return logits of shape ({len(chunk.positions)}, 10), got {logits.shape}"
        )
    labels = np.full(len(chunk.positions), chunk.class_id, dtype=np.int64)
    gaps = margins(logits, labels, ADVERSARIAL_CLASSES)
    precise = getattr(reference, "precise", None)
    near = np.abs(gaps - margin) < PRECISE_BAND
    if callable(precise) and near.any():
        gaps[near] = margins(np.asarray(precise(chunk.images[near])), labels[near], ADVERSARIAL_CLASSES)
    hits = gaps >= margin
    stream.fooled += int(hits.sum())
    for position, image in zip(chunk.positions[hits].tolist(), chunk.images[hits], strict=True):
        if len(stream.kept) < quota:
            stream.kept.append((position, image))
