"""What the engine computes: one record per cell (method x dataset), one per method's aggregates.

Records are plain data with ``to_dict``/``from_dict`` so they travel from pytest-xdist workers to the
controller in test reports' ``user_properties`` and land unchanged in JSON reports and baselines.
Accuracies are top-1 micro accuracy in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CellRecord:
    """The evaluation of one method on one dataset."""

    suite: str
    method: str
    dataset: str
    correct: int
    n: int
    fingerprint: str
    bits: str
    skipped: int = 0
    checkpoint_sha256: str = ""
    feature_key: str = ""
    probe_key: str = ""
    device: str = "cpu"

    kind = "cell"

    @property
    def key(self) -> str:
        """``method::dataset``, the baseline key of this cell."""
        return f"{self.method}::{self.dataset}"

    @property
    def accuracy(self) -> float:
        """Top-1 accuracy in percent (micro: correct / scored images)."""
        return 100.0 * self.correct / self.n if self.n else float("nan")

    def correctness(self) -> np.ndarray:
        """Per scored image, whether the top-1 prediction was right."""
        from ..stats import unpack_bits

        return unpack_bits(self.bits, self.n)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellRecord:
        """Inverse of :meth:`to_dict`."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(**fields)


@dataclass(frozen=True)
class AggregateRecord:
    """A method's unified scores over the suite's aggregate datasets."""

    suite: str
    method: str
    weighted_average: float
    geometric_mean: float
    datasets: tuple[str, ...]
    weights: tuple[float, ...]
    n: tuple[int, ...]

    kind = "aggregate"

    @classmethod
    def of_cells(cls, cells: Sequence[CellRecord], weights: Sequence[float]) -> AggregateRecord:
        """The unified scores of one method's ``cells`` (its aggregate datasets, in order) under ``weights``."""
        from ..stats import unified_scores

        scores = unified_scores([c.accuracy for c in cells], list(weights))
        return cls(
            suite=cells[0].suite,
            method=cells[0].method,
            weighted_average=scores["weighted_average"],
            geometric_mean=scores["geometric_mean"],
            datasets=tuple(c.dataset for c in cells),
            weights=tuple(weights),
            n=tuple(c.n for c in cells),
        )

    @property
    def key(self) -> str:
        """``method::aggregate``, the item and baseline key of the method's unified scores."""
        return f"{self.method}::aggregate"

    def score(self, measure: str) -> float:
        """``weighted_average`` or ``geometric_mean``, in percent."""
        return float(getattr(self, measure))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        data = asdict(self)
        data["datasets"] = list(self.datasets)
        data["weights"] = list(self.weights)
        data["n"] = list(self.n)
        return {"kind": self.kind, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AggregateRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            suite=data["suite"],
            method=data["method"],
            weighted_average=float(data["weighted_average"]),
            geometric_mean=float(data["geometric_mean"]),
            datasets=tuple(data["datasets"]),
            weights=tuple(float(w) for w in data["weights"]),
            n=tuple(int(v) for v in data["n"]),
        )
