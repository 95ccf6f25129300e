"""The gate's verdicts, and the plain-dict transport of every record between processes.

Records and verdicts travel from pytest-xdist workers to the controller in test reports'
``user_properties`` as plain dicts, and land unchanged in JSON reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from ..compute.records import AggregateRecord, CellRecord
from ..compute.throughput import ThroughputRecord

# Names of the ``user_properties`` entries that carry records from the item's process to the reporting one:
# the item's own records and verdicts, and the cell records it used (context).
RECORD_PROPERTY = "ssl_lottery_record"
CONTEXT_PROPERTY = "ssl_lottery_context"


class Status(str, Enum):
    """The gate's decision on one baseline key; compares equal to its string value."""

    PASS = "pass"
    FAIL = "fail"
    STALE = "stale"
    MISSING = "missing"
    THRESHOLD = "threshold"
    UPDATE = "update"

    def __str__(self) -> str:
        return self.value

    @property
    def fails(self) -> bool:
        """Whether a verdict with this status fails its item."""
        return self in (Status.FAIL, Status.MISSING, Status.THRESHOLD)


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one baseline key (a cell, or a method's aggregate score)."""

    key: str
    status: Status
    obtained: float
    expected: float | None
    tolerance: float | None
    message: str = ""
    pvalue: float | None = None
    detectable_drop: float | None = None  # points the gate catches with 80 % power (``gate.sensitivity``)

    kind = "verdict"

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def failed(self) -> bool:
        """Whether this verdict fails its item."""
        return self.status.fails

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return {"kind": self.kind, **asdict(self), "status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in data.items() if k != "kind"})


Record = CellRecord | AggregateRecord | Verdict | ThroughputRecord
_KINDS: dict[str, type[CellRecord] | type[AggregateRecord] | type[Verdict] | type[ThroughputRecord]] = {
    "cell": CellRecord,
    "aggregate": AggregateRecord,
    "verdict": Verdict,
    "throughput": ThroughputRecord,
}


def record_from_dict(data: dict[str, Any]) -> Record:
    """Rebuild any record from its dict form."""
    return _KINDS[data["kind"]].from_dict(data)
