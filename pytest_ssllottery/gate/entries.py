"""Typed baseline entries that still read as the JSON objects they are stored as.

Each entry keeps its stored object (unknown keys of a newer writer are carried through a rewrite) and
offers typed accessors: the gate reads ``entry.accuracy`` and ``entry.same_images(record)``, never
``entry["accuracy"]``. As :class:`~collections.abc.Mapping` s they compare equal to that object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compute.records import CellRecord

# Baselines store accuracies rounded to 4 decimals; differences below this are rounding, not change.
ROUNDING = 1e-4
MEASURES = ("weighted_average", "geometric_mean")


@dataclass(frozen=True, eq=False)
class Entry(Mapping[str, Any]):
    """A validated JSON object of the baseline file."""

    data: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.data)!r})"

    @property
    def provenance(self) -> Mapping[str, Any]:
        """What produced the stored numbers (checkpoint hash, probe, versions, device, date)."""
        value = self.data.get("provenance") or {}
        return value if isinstance(value, Mapping) else {}


class CellBaseline(Entry):
    """The stored result of one cell: accuracy, counts, and per-image correctness when kept."""

    @property
    def accuracy(self) -> float:
        """The stored accuracy in percent (rounded to 4 decimals)."""
        return float(self.data["accuracy"])

    @property
    def n(self) -> int:
        """Scored images."""
        return int(self.data["n"])

    @property
    def correct(self) -> int | None:
        """Correctly classified images, when stored."""
        value = self.data.get("correct")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def expected(self) -> float:
        """The baseline accuracy in percent: exact from the counts when they agree with the stored value.

        A hand-edited ``accuracy`` that no longer matches ``correct / n`` wins over the counts.
        """
        correct, n, stored = self.correct, self.n, self.accuracy
        if correct is not None and n > 0 and abs(100.0 * correct / n - stored) <= ROUNDING:
            return 100.0 * correct / n
        return stored

    @property
    def bits(self) -> str | None:
        """Per-image correctness, packed (see ``stats.bits``), when stored."""
        stored = self.data.get("per_sample") or {}
        bits = stored.get("bits") if isinstance(stored, Mapping) else None
        return str(bits) if bits else None

    def same_images(self, record: CellRecord) -> bool:
        """Whether per-image correctness is stored for exactly the images the record scored."""
        return bool(self.bits) and self.data.get("dataset_fingerprint") == record.fingerprint and self.n == record.n

    def correctness(self) -> np.ndarray:
        """Per-image correctness of the baseline (call only when :meth:`same_images` holds)."""
        from ..stats import unpack_bits

        return unpack_bits(str(self.bits), self.n)


class AggregateBaseline(Entry):
    """A method's stored unified scores."""

    def score(self, measure: str) -> float | None:
        """The stored ``weighted_average`` or ``geometric_mean``, if any."""
        value = self.data.get(measure)
        return float(value) if value is not None else None


def as_cells(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, CellBaseline]:
    """Wrap stored cell objects (plain dicts or entries) as :class:`CellBaseline`."""
    return {key: e if isinstance(e, CellBaseline) else CellBaseline(dict(e)) for key, e in entries.items()}


def as_aggregates(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, AggregateBaseline]:
    """Wrap stored aggregate objects as :class:`AggregateBaseline`."""
    return {key: e if isinstance(e, AggregateBaseline) else AggregateBaseline(dict(e)) for key, e in entries.items()}
