"""Serializable result records: one per cell (method x dataset), one per method's aggregates.

Records are plain data with ``to_dict``/``from_dict`` so they travel from pytest-xdist workers to the
controller in test reports' ``user_properties`` and land unchanged in JSON reports and baselines.
Accuracies are top-1 micro accuracy in percent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

RECORD_PROPERTY = "ssl_lottery_record"


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
        from .stats import unpack_bits

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
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    kind = "aggregate"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        data = asdict(self)
        data["datasets"] = list(self.datasets)
        data["weights"] = list(self.weights)
        data["n"] = list(self.n)
        data["intervals"] = {k: list(v) for k, v in self.intervals.items()}
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
            intervals={k: (float(v[0]), float(v[1])) for k, v in data.get("intervals", {}).items()},
        )


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one baseline key (a cell, or a method's aggregate score)."""

    key: str
    status: str  # "pass" | "fail" | "stale" | "missing" | "threshold" | "update"
    obtained: float
    expected: float | None
    tolerance: float | None
    message: str = ""
    pvalue: float | None = None

    kind = "verdict"

    @property
    def failed(self) -> bool:
        """Whether this verdict fails its item."""
        return self.status in ("fail", "missing", "threshold")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in data.items() if k != "kind"})


Record = CellRecord | AggregateRecord | Verdict
_KINDS: dict[str, type[CellRecord] | type[AggregateRecord] | type[Verdict]] = {
    "cell": CellRecord,
    "aggregate": AggregateRecord,
    "verdict": Verdict,
}


def record_from_dict(data: dict[str, Any]) -> Record:
    """Rebuild any record from its dict form."""
    return _KINDS[data["kind"]].from_dict(data)
