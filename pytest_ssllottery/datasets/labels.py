"""Label spaces and their scoring contracts.

Every dataset declares how its predictions are scored (top-1 micro accuracy in all three cases):

- ``full``: argmax over all classes; correct when it equals the label.
- ``subset``: logits restricted to the dataset's classes before argmax (as ImageNet-R and -A are scored).
- ``multilabel``: correct when the argmax is in the image's label set; images with an empty set are
  not scored (as ImageNet-ReaL).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import SpecError
from ..suite.spec import CONTRACTS

Contract = Literal["full", "subset", "multilabel"]


@dataclass(frozen=True)
class Labels:
    """The ground truth of one dataset under its contract.

    Attributes:
        contract: How predictions are scored.
        num_classes: Width of the classifier's logits.
        targets: Class id per image (int64); for ``multilabel`` the original single label, or -1.
        label_sets: For ``multilabel``, the set of correct classes per image (possibly empty).
        classes: For ``subset``, the class ids the logits are restricted to, ascending.
    """

    contract: Contract
    num_classes: int
    targets: np.ndarray
    label_sets: tuple[frozenset[int], ...] | None = None
    classes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.contract not in CONTRACTS:
            raise SpecError(f"label contract {self.contract!r}: expected one of {', '.join(CONTRACTS)}")
        if self.contract == "multilabel" and (self.label_sets is None or len(self.label_sets) != len(self.targets)):
            raise SpecError("a multilabel dataset needs one label set per image")
        if self.contract == "subset":
            if not self.classes:
                raise SpecError("a subset dataset needs its list of classes")
            if (
                list(self.classes) != sorted(set(self.classes))
                or self.classes[0] < 0
                or self.classes[-1] >= self.num_classes
            ):
                raise SpecError(f"subset classes must be ascending, unique and in [0, {self.num_classes})")
        self._check_ranges()

    def _check_ranges(self) -> None:
        """Labels must be class ids of the classifier (multilabel targets may be -1: no single label)."""
        targets = np.asarray(self.targets)
        if targets.size:
            low = -1 if self.contract == "multilabel" else 0
            if int(targets.min()) < low or int(targets.max()) >= self.num_classes:
                raise SpecError(
                    f"labels must be class ids in [0, {self.num_classes}), found {int(targets.min())}.."
                    f"{int(targets.max())}; check the suite's num_classes and the dataset's labels"
                )
        if self.label_sets is not None:
            values = [v for s in self.label_sets for v in s]
            if values and (min(values) < 0 or max(values) >= self.num_classes):
                raise SpecError(
                    f"label sets must hold class ids in [0, {self.num_classes}), found {min(values)}..{max(values)}"
                )

    def __len__(self) -> int:
        return len(self.targets)

    def scored_mask(self) -> np.ndarray:
        """Which images count: all of them, except empty label sets under ``multilabel``."""
        if self.contract == "multilabel":
            assert self.label_sets is not None
            return np.fromiter((len(s) > 0 for s in self.label_sets), dtype=bool, count=len(self.label_sets))
        return np.ones(len(self.targets), dtype=bool)

    def fingerprint(self) -> str:
        """Content hash of the labels and contract."""
        digest = hashlib.sha256()
        header = {"contract": self.contract, "num_classes": self.num_classes, "classes": self.classes}
        digest.update(json.dumps(header, sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.targets, dtype=np.int64).tobytes())
        if self.label_sets is not None:
            digest.update(json.dumps([sorted(s) for s in self.label_sets]).encode())
        return digest.hexdigest()

    def subset(self, indices: np.ndarray) -> Labels:
        """The labels of a subset of images, in the order of ``indices``."""
        sets = None if self.label_sets is None else tuple(self.label_sets[i] for i in indices)
        return Labels(self.contract, self.num_classes, self.targets[indices], sets, self.classes)


def predict(logits: np.ndarray, labels: Labels) -> np.ndarray:
    """Top-1 class ids under the contract (subset logits are restricted before argmax)."""
    if logits.ndim != 2 or logits.shape[1] != labels.num_classes:
        raise SpecError(f"logits of shape {logits.shape} do not match {labels.num_classes} classes")
    if labels.contract == "subset":
        assert labels.classes is not None
        columns = np.asarray(labels.classes, dtype=np.int64)
        chosen: np.ndarray = columns[np.argmax(logits[:, columns], axis=1)]
        return chosen
    best: np.ndarray = np.argmax(logits, axis=1).astype(np.int64)
    return best


def correctness(predictions: np.ndarray, labels: Labels, valid: np.ndarray | None = None) -> np.ndarray:
    """Per-image correctness of the scored images, in dataset order.

    Args:
        predictions: Top-1 class id per image.
        labels: The dataset's labels.
        valid: Images that could be read; unreadable ones are excluded like empty label sets.
    """
    mask = labels.scored_mask()
    if valid is not None:
        mask &= valid
    if labels.contract == "multilabel":
        assert labels.label_sets is not None
        hits = np.fromiter(
            (int(p) in s for p, s in zip(predictions, labels.label_sets, strict=True)),
            dtype=bool,
            count=len(predictions),
        )
    else:
        hits = predictions == labels.targets
    return np.asarray(hits[mask], dtype=bool)
