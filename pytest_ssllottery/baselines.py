"""The baseline store: ``baselines/<suite>.json``, read strictly, written atomically, updated by key.

Format (schema_version 1, sorted keys, indented, so a reviewer can diff it)::

    {"schema_version": 1, "suite": "shapes",
     "cells": {"dino::val": {"accuracy": 81.25, "correct": 1625, "n": 2000,
                              "dataset_fingerprint": "...", "per_sample": {"encoding": ..., "bits": ...},
                              "provenance": {...}}},
     "aggregates": {"dino": {"weighted_average": ..., "geometric_mean": ..., "datasets": [...],
                             "provenance": {...}}}}

A file that is not valid JSON or not of this schema is an error and is never overwritten.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import atomic_write_bytes
from .errors import BaselineError
from .results import AggregateRecord, CellRecord

SCHEMA_VERSION = 1
BITS_ENCODING = "packbits-little-base64"


def _finite_number(value: Any) -> bool:
    """A JSON number that is not a bool, NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Change:
    """One line of the old -> new table printed after an update."""

    key: str
    old: float | None
    new: float
    measure: str = "accuracy"


@dataclass
class BaselineFile:
    """All baselines of one suite."""

    path: Path
    suite: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)
    robustness_fits: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, suite: str) -> BaselineFile:
        """Read ``path``; an absent file is an empty store.

        Raises:
            BaselineError: the file is unreadable, not JSON, of another schema version or another suite.
        """
        if not path.exists():
            return cls(path, suite)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(
                f"baseline file {path} is corrupt ({exc}); it was left untouched. Restore it from version control "
                "(git checkout -- <file>) or delete it and rerun with --ssl-update-baselines"
            ) from exc
        return cls.from_data(data, path, suite)

    @classmethod
    def from_data(cls, data: Any, path: Path, suite: str) -> BaselineFile:
        """Validate parsed JSON."""
        if not isinstance(data, dict):
            raise BaselineError(f"baseline file {path}: expected a JSON object, found {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BaselineError(
                f"baseline file {path}: schema_version {version!r}, expected {SCHEMA_VERSION}; it was left untouched"
            )
        if data.get("suite") != suite:
            raise BaselineError(
                f"baseline file {path} belongs to suite {data.get('suite')!r}, not {suite!r}; "
                "pass --ssl-baselines with the right file or folder"
            )
        cells, aggregates = data.get("cells", {}), data.get("aggregates", {})
        fits = data.get("robustness_fits", {})
        for section, entries, needed in (
            ("cells", cells, ("accuracy", "n")),
            ("aggregates", aggregates, ("weighted_average", "geometric_mean")),
            ("robustness_fits", fits, ("slope", "intercept")),
        ):
            if not isinstance(entries, dict):
                raise BaselineError(f"baseline file {path}: `{section}` must be an object")
            for key, entry in entries.items():
                if not isinstance(entry, dict) or any(not _finite_number(entry.get(k)) for k in needed):
                    raise BaselineError(
                        f"baseline file {path}: entry `{section}.{key}` needs numeric {', '.join(needed)}; "
                        "fix or remove the entry, or rerun with --ssl-update-baselines"
                    )
        return cls(path, suite, dict(cells), dict(aggregates), dict(fits))

    def cell(self, key: str) -> dict[str, Any] | None:
        """The baseline entry of ``method::dataset``, if any."""
        return self.cells.get(key)

    def aggregate(self, method: str) -> dict[str, Any] | None:
        """The baseline aggregates of ``method``, if any."""
        return self.aggregates.get(method)

    def to_data(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "schema_version": SCHEMA_VERSION,
            "suite": self.suite,
            "cells": self.cells,
            "aggregates": self.aggregates,
            "robustness_fits": self.robustness_fits,
        }

    def updated(
        self,
        cells: Iterable[CellRecord],
        aggregates: Iterable[AggregateRecord],
        provenance: Mapping[str, Mapping[str, Any]],
    ) -> tuple[BaselineFile, list[Change]]:
        """A copy where the given records replace their entries; every other entry is kept as it was.

        Args:
            cells: Cell records that ran and computed.
            aggregates: Aggregate records that ran and computed.
            provenance: Per method, what produced its numbers (checkpoint hash, probe, versions, ...).
        """
        new_cells = dict(self.cells)
        new_aggregates = dict(self.aggregates)
        changes: list[Change] = []
        for record in sorted(cells, key=lambda r: r.key):
            old = self.cells.get(record.key, {}).get("accuracy")
            new_cells[record.key] = {
                "accuracy": round(record.accuracy, 4),
                "correct": record.correct,
                "n": record.n,
                "skipped": record.skipped,
                "dataset_fingerprint": record.fingerprint,
                "per_sample": {"encoding": BITS_ENCODING, "bits": record.bits},
                "provenance": dict(provenance.get(record.method, {})),
            }
            changes.append(Change(record.key, old, round(record.accuracy, 4)))
        for aggregate in sorted(aggregates, key=lambda r: r.method):
            old_entry = self.aggregates.get(aggregate.method, {})
            new_aggregates[aggregate.method] = {
                "weighted_average": round(aggregate.weighted_average, 4),
                "geometric_mean": round(aggregate.geometric_mean, 4),
                "datasets": list(aggregate.datasets),
                "weights": list(aggregate.weights),
                "n": list(aggregate.n),
                "provenance": dict(provenance.get(aggregate.method, {})),
            }
            for measure in ("weighted_average", "geometric_mean"):
                changes.append(
                    Change(
                        f"{aggregate.method}::aggregate",
                        old_entry.get(measure),
                        round(getattr(aggregate, measure), 4),
                        measure,
                    )
                )
        return BaselineFile(self.path, self.suite, new_cells, new_aggregates, dict(self.robustness_fits)), changes

    def write(self) -> None:
        """Write atomically (temporary file + rename), sorted keys, two-space indent, trailing newline."""
        text = json.dumps(self.to_data(), sort_keys=True, indent=2) + "\n"
        try:
            atomic_write_bytes(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot write baseline file {self.path}: {exc.strerror}; nothing was changed") from exc
