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

import hashlib
import json
import math
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..atomic_files import atomic_write_bytes
from ..compute.records import AggregateRecord, CellRecord
from ..errors import BaselineError
from ..stats import LogitFit
from .entries import AggregateBaseline, CellBaseline, as_aggregates, as_cells

SCHEMA_VERSION = 1
BITS_ENCODING = "packbits-little-base64"
FIT_DIGITS = 6  # robustness fits are stored to this many decimals, so that reruns give byte-identical files
LOCK_TIMEOUT = 600.0


def _finite_number(value: Any) -> bool:
    """A JSON number that is not a bool, NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range_error(path: Path, key: str, expected: str, value: Any) -> BaselineError:
    return BaselineError(
        f"baseline file {path}: `{key}` is {value!r}, expected {expected}. A value out of range would switch "
        "that gate off or invent a regression; fix the entry (git diff shows what changed), or remove it and "
        "rerun with --ssl-update-baselines"
    )


def _check_percent(path: Path, key: str, value: float) -> None:
    if not 0.0 <= value <= 100.0:
        raise _range_error(path, key, "an accuracy in percent, between 0 and 100", value)


def _check_cell_entry(path: Path, key: str, entry: Mapping[str, Any]) -> None:
    """Accuracy in [0, 100], n a positive integer, correct (when stored) an integer in [0, n]."""
    _check_percent(path, f"cells.{key}.accuracy", entry["accuracy"])
    n = entry["n"]
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise _range_error(path, f"cells.{key}.n", "a positive integer (the number of scored images)", n)
    correct = entry.get("correct")
    if correct is not None and (not isinstance(correct, int) or isinstance(correct, bool) or not 0 <= correct <= n):
        raise _range_error(path, f"cells.{key}.correct", f"an integer between 0 and n = {n}", correct)


@dataclass(frozen=True)
class Change:
    """One line of the old -> new table printed after an update."""

    key: str
    old: float | None
    new: float
    measure: str = "accuracy"


@dataclass
class BaselineStore:
    """All baselines of one suite: typed cell and aggregate entries, and the stored robustness fits."""

    path: Path
    suite: str
    cells: dict[str, CellBaseline] = field(default_factory=dict)
    aggregates: dict[str, AggregateBaseline] = field(default_factory=dict)
    robustness_fits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cells = as_cells(self.cells)
        self.aggregates = as_aggregates(self.aggregates)

    @classmethod
    def load(cls, path: Path, suite: str) -> BaselineStore:
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
    def from_data(cls, data: Any, path: Path, suite: str) -> BaselineStore:
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
        for key, entry in cells.items():
            _check_cell_entry(path, key, entry)
        for key, entry in aggregates.items():
            for measure in ("weighted_average", "geometric_mean"):
                _check_percent(path, f"aggregates.{key}.{measure}", entry[measure])
        return cls(path, suite, dict(cells), dict(aggregates), dict(fits))

    def cell(self, key: str) -> CellBaseline | None:
        """The baseline entry of ``method::dataset``, if any."""
        return self.cells.get(key)

    def aggregate(self, method: str) -> AggregateBaseline | None:
        """The baseline aggregates of ``method``, if any."""
        return self.aggregates.get(method)

    def fits(self) -> dict[str, LogitFit]:
        """The stored reference logit-linear fits per dataset (effective robustness is measured against them)."""
        return {
            dataset: LogitFit(
                float(f["slope"]), float(f["intercept"]), float(f.get("r_squared", "nan")), int(f.get("n", 0))
            )
            for dataset, f in self.robustness_fits.items()
        }

    def to_data(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "schema_version": SCHEMA_VERSION,
            "suite": self.suite,
            "cells": {key: dict(entry) for key, entry in self.cells.items()},
            "aggregates": {key: dict(entry) for key, entry in self.aggregates.items()},
            "robustness_fits": self.robustness_fits,
        }

    def updated(
        self,
        cells: Iterable[CellRecord],
        aggregates: Iterable[AggregateRecord],
        provenance: Mapping[str, Mapping[str, Any]],
    ) -> tuple[BaselineStore, list[Change]]:
        """A copy where the given records replace their entries; every other entry is kept as it was.

        Args:
            cells: Cell records that ran and computed.
            aggregates: Aggregate records that ran and computed.
            provenance: Per method, what produced its numbers (checkpoint hash, probe, versions, ...).
        """
        new_cells: dict[str, Mapping[str, Any]] = dict(self.cells)
        new_aggregates: dict[str, Mapping[str, Any]] = dict(self.aggregates)
        changes: list[Change] = []
        for record in sorted(cells, key=lambda r: r.key):
            before = self.cells.get(record.key)
            old = before.accuracy if before is not None else None
            new_cells[record.key] = cell_entry(record, provenance.get(record.method, {}))
            changes.append(Change(record.key, old, round(record.accuracy, 4)))
        for aggregate in sorted(aggregates, key=lambda r: r.method):
            old_entry = self.aggregates.get(aggregate.method) or AggregateBaseline({})
            new_aggregates[aggregate.method] = aggregate_entry(aggregate, provenance.get(aggregate.method, {}))
            for measure in ("weighted_average", "geometric_mean"):
                changes.append(
                    Change(
                        f"{aggregate.method}::aggregate",
                        old_entry.score(measure),
                        round(getattr(aggregate, measure), 4),
                        measure,
                    )
                )
        store = BaselineStore(self.path, self.suite, as_cells(new_cells), as_aggregates(new_aggregates))
        store.robustness_fits = dict(self.robustness_fits)
        return store, changes

    def write(self) -> None:
        """Write atomically (temporary file + rename), sorted keys, two-space indent, trailing newline."""
        text = json.dumps(self.to_data(), sort_keys=True, indent=2) + "\n"
        try:
            atomic_write_bytes(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot write baseline file {self.path}: {exc.strerror}; nothing was changed") from exc


def cell_entry(record: CellRecord, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline file's entry for a cell record (accuracy rounded, per-image correctness packed)."""
    return {
        "accuracy": round(record.accuracy, 4),
        "correct": record.correct,
        "n": record.n,
        "skipped": record.skipped,
        "dataset_fingerprint": record.fingerprint,
        "per_sample": {"encoding": BITS_ENCODING, "bits": record.bits},
        "provenance": dict(provenance),
    }


def aggregate_entry(record: AggregateRecord, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline file's entry for a method's unified scores (rounded)."""
    return {
        "weighted_average": round(record.weighted_average, 4),
        "geometric_mean": round(record.geometric_mean, 4),
        "datasets": list(record.datasets),
        "weights": list(record.weights),
        "n": list(record.n),
        "provenance": dict(provenance),
    }


def lock_path(path: Path) -> Path:
    """The lock serialising writers of ``path``: in the temp folder, keyed by the resolved path.

    Kept out of the baselines folder so that no lock file shows up in the user's ``git status``.
    """
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / "pytest-ssllottery-locks" / f"baselines-{digest}.lock"


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files that killed writers of ``path`` left beside it (call with the lock held)."""
    removed = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for leftover in removed:
        leftover.unlink(missing_ok=True)
    return removed


def rounded_fits(fits: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Robustness fits with floats rounded to ``FIT_DIGITS`` decimals (no noise in the 16th place)."""
    return {
        dataset: {k: round(v, FIT_DIGITS) if isinstance(v, float) else v for k, v in fit.items()}
        for dataset, fit in fits.items()
    }


def update_file(
    path: Path,
    start: BaselineStore,
    cells: Iterable[CellRecord],
    aggregates: Iterable[AggregateRecord],
    provenance: Mapping[str, Mapping[str, Any]],
    fits: Mapping[str, Mapping[str, Any]],
) -> tuple[BaselineStore, list[Change]]:
    """Merge this run's records into ``path`` under an exclusive lock; every other entry is kept.

    Under the lock the file is read again, so concurrent updates of other items (another CI job, a second
    terminal) are merged, not lost. ``start`` is used only when ``path`` does not exist yet (the bundled
    copy a first local update starts from).

    Raises:
        BaselineError: the file became unreadable or invalid, the lock was not obtained, or the write failed;
            the file is then left as it was.
    """
    lock = lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(lock), timeout=LOCK_TIMEOUT, mode=0o666):
            remove_stale_temporaries(path)
            current = BaselineStore.load(path, start.suite) if path.exists() else start
            updated, changes = current.updated(cells, aggregates, provenance)
            updated.robustness_fits.update(rounded_fits(fits))
            updated.path = path
            updated.write()
    except Timeout as exc:
        raise BaselineError(
            f"baseline file {path}: another update has held its lock ({lock}) for {LOCK_TIMEOUT:.0f} s; "
            "nothing was written. Wait for it to finish, or delete the lock file if no update is running"
        ) from exc
    except OSError as exc:
        raise BaselineError(
            f"cannot write baseline file {path} ({exc.strerror or exc}); nothing was changed. Check that its folder "
            "is writable, or pass --ssl-baselines with another file"
        ) from exc
    return updated, changes
