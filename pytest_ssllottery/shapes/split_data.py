"""``ShapesSplit``, its fingerprint and its ``.npz`` form."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DatasetError
from .constants import IMAGE_SIZE, NUM_CLASSES

CONTRACTS = ("full", "subset", "multilabel")


@dataclass(frozen=True)
class ShapesSplit:
    """One split of the shapes family: images, labels and how it is scored.

    Attributes:
        name: Split name (one of ``SPLITS``).
        images: ``uint8`` array ``(N, 32, 32, 3)``, C-contiguous, read-only.
        labels: ``int64`` array ``(N,)`` of class ids; for ``real`` the (noisy) val label.
        label_sets: For ``real`` only: the classes visibly present in each image (may be empty).
        classes: Class ids the split is scored over (all ten, or the subset).
        contract: ``"full"``, ``"subset"`` or ``"multilabel"``.
    """

    name: str
    images: NDArray[np.uint8]
    labels: NDArray[np.int64]
    label_sets: tuple[frozenset[int], ...] | None
    classes: tuple[int, ...]
    contract: str

    def __post_init__(self) -> None:
        n = len(self.labels)
        problems = []
        if self.images.dtype != np.uint8 or self.images.shape != (n, IMAGE_SIZE, IMAGE_SIZE, 3):
            problems.append(f"images {self.images.dtype}{self.images.shape}, expected uint8({n}, 32, 32, 3)")
        if self.labels.dtype != np.int64 or self.labels.ndim != 1:
            problems.append(f"labels {self.labels.dtype}{self.labels.shape}, expected int64 (N,)")
        elif n and (self.labels.min() < 0 or self.labels.max() >= NUM_CLASSES):
            problems.append(f"labels outside 0..{NUM_CLASSES - 1}")
        if self.contract not in CONTRACTS:
            problems.append(f"contract {self.contract!r}, expected one of {CONTRACTS}")
        if (self.label_sets is not None) != (self.contract == "multilabel"):
            problems.append("label_sets must be given exactly for the multilabel contract")
        if self.label_sets is not None and len(self.label_sets) != n:
            problems.append(f"{len(self.label_sets)} label sets for {n} images")
        if problems:
            raise DatasetError(f"shapes split {self.name!r} is malformed: " + "; ".join(problems))
        for array in (self.images, self.labels):
            array.flags.writeable = False

    def fingerprint(self) -> str:
        """sha256 hex over the images, labels, label sets, scored classes and contract."""
        digest = hashlib.sha256(b"shapes-split/1\0")
        digest.update(np.ascontiguousarray(self.images).tobytes())
        digest.update(self.labels.astype("<i8").tobytes())
        sets = None if self.label_sets is None else [sorted(s) for s in self.label_sets]
        digest.update(json.dumps([sets, list(self.classes), self.contract]).encode())
        return digest.hexdigest()


def to_npz_bytes(split: ShapesSplit) -> bytes:
    """The split as an uncompressed ``.npz`` file's bytes."""
    sets = np.zeros((len(split.labels), NUM_CLASSES), dtype=bool)
    for row, members in enumerate(split.label_sets or ()):
        sets[row, sorted(members)] = True
    buffer = io.BytesIO()
    np.savez(
        buffer,
        images=split.images,
        labels=split.labels,
        label_sets=sets,
        has_label_sets=np.asarray(split.label_sets is not None),
        classes=np.asarray(split.classes, dtype=np.int64),
        contract=np.asarray(split.contract),
        name=np.asarray(split.name),
    )
    return buffer.getvalue()


def read_npz(path: Path) -> ShapesSplit:
    """Read a split written by :func:`to_npz_bytes`.

    Raises:
        DatasetError: The file is unreadable or does not hold a well-formed split.
    """
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            sets = data["label_sets"]
            label_sets = (
                tuple(frozenset(np.flatnonzero(row).tolist()) for row in sets) if bool(data["has_label_sets"]) else None
            )
            return ShapesSplit(
                name=str(data["name"]),
                images=np.ascontiguousarray(data["images"]),
                labels=np.asarray(data["labels"]),
                label_sets=label_sets,
                classes=tuple(int(c) for c in data["classes"]),
                contract=str(data["contract"]),
            )
    except DatasetError:
        raise
    except Exception as exc:  # any decode failure means a corrupt file: zip, header, key or dtype errors
        raise DatasetError(
            f"{path}: unreadable shapes split ({type(exc).__name__}: {exc}); it will be regenerated"
        ) from exc
