"""Reading results tables that nobody ran here: a paper's table (CSV/JSON) or timm's ``results-*.csv`` folder.

Accepted inputs (accuracies in percent):

- CSV, long form: columns ``method, dataset, accuracy`` and optionally ``n``.
- CSV, wide form: a ``method`` (or ``model``) column and one column per dataset.
- JSON: ``{"reference": "val", "n": {dataset: n}, "accuracy": {method: {dataset: acc}}}``, or our own JSON
  report (its ``analysis`` section), or ``{method: {dataset: acc | {"accuracy": acc, "n": n}}}``.
- A folder of timm-style ``results-<dataset>.csv`` files (``model, img_size, top1, ...``): one dataset per
  file, rows joined on (model, img_size); the ``-clean`` files are skipped; known sizes fill ``n``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TableError
from ..spelling import did_you_mean
from .compare import ResultTable, TableCell

# timm's results file stem -> (dataset name, scored images); see shared/timm_results/README.md.
TIMM_FILES: dict[str, tuple[str, int]] = {
    "results-imagenet": ("val", 50_000),
    "results-imagenet-real": ("real", 46_837),
    "results-imagenetv2-matched-frequency": ("v2", 10_000),
    "results-imagenet-r": ("rendition", 30_000),
    "results-sketch": ("sketch", 50_889),
    "results-imagenet-a": ("adversarial", 7_500),
}
TIMM_ORDER = ("val", "real", "v2", "rendition", "sketch", "adversarial")


@dataclass
class LoadedTable:
    """Accuracies read from a file or folder, before analysis."""

    accuracy: dict[str, dict[str, float]]
    n: dict[str, dict[str, int]] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    reference: str | None = None
    warnings: list[str] = field(default_factory=list)

    def best(self, count: int, reference: str | None = None) -> LoadedTable:
        """Only the ``count`` methods best on the reference (the frontier where marginal gains are claimed)."""
        chosen = reference or self.reference or (self.datasets[0] if self.datasets else "")
        ranked = sorted(
            (m for m in self.accuracy if chosen in self.accuracy[m]), key=lambda m: -self.accuracy[m][chosen]
        )
        keep = set(ranked[:count])
        return LoadedTable(
            accuracy={m: v for m, v in self.accuracy.items() if m in keep},
            n={m: v for m, v in self.n.items() if m in keep},
            datasets=list(self.datasets),
            reference=self.reference,
            warnings=[w for w in self.warnings if w.split(":", 1)[0] in keep],
        )

    def reference_note(self, reference: str | None) -> str | None:
        """A note when the reference was not chosen explicitly but taken from the table's first column."""
        if reference or self.reference or not self.datasets:
            return None
        return (
            f"reference: {self.datasets[0]!r}, the table's first dataset column (the table names none); "
            "choose another with --reference"
        )

    def select(self, datasets: tuple[str, ...]) -> LoadedTable:
        """Only the named dataset columns, in that order (``--datasets``).

        Raises:
            TableError: a name is not a column of the table.
        """
        unknown = [d for d in datasets if d not in self.datasets]
        if unknown:
            hint = "".join(did_you_mean(d, self.datasets) for d in unknown[:1])
            raise TableError(
                f"--datasets names columns not in the table: {unknown}; it has {len(self.datasets)} datasets, "
                f"e.g. {self.datasets[:12]}.{hint}"
            )
        return LoadedTable(
            accuracy={m: {d: v for d, v in per.items() if d in datasets} for m, per in self.accuracy.items()},
            n={m: {d: v for d, v in per.items() if d in datasets} for m, per in self.n.items()},
            datasets=list(datasets),
            reference=self.reference if self.reference in datasets else None,
            warnings=list(self.warnings),
        )

    def to_result_table(
        self, reference: str | None = None, aggregate: tuple[str, ...] | None = None, weights: str = "images"
    ) -> ResultTable:
        """The analysis input: ``reference`` defaults to the table's own, else its first dataset.

        With ``weights = "images"`` and no image count for some aggregate cell, every method's weighted
        average is an equal-weight mean instead, and the table's ``weighting`` says so (the report labels it).
        """
        chosen = reference or self.reference or (self.datasets[0] if self.datasets else None)
        if chosen is None or chosen not in self.datasets:
            raise TableError(
                f"reference dataset {chosen!r} is not in the table; datasets are {self.datasets}."
                + did_you_mean(str(chosen), self.datasets)
            )
        kept = {m: per for m, per in self.accuracy.items() if chosen in per}
        cells = {
            (method, dataset): TableCell(value, self.n.get(method, {}).get(dataset))
            for method, per in kept.items()
            for dataset, value in per.items()
        }
        methods = tuple(sorted(kept, key=lambda m: -kept[m][chosen]))
        datasets = tuple(self.datasets)
        unknown = [d for d in aggregate or () if d not in datasets]
        if unknown:
            raise TableError(f"--aggregate names datasets not in the table: {unknown}; datasets are {list(datasets)}")
        aggregate_datasets = tuple(aggregate) if aggregate else datasets
        weighting = weights
        if weights == "images":
            counted = all(c.n for (m, d), c in cells.items() if d in aggregate_datasets)
            if not counted:
                weights, weighting = "equal", "equal (the table has no image counts)"
        return ResultTable(
            cells=cells,
            methods=methods,
            datasets=datasets,
            reference=chosen,
            aggregate_datasets=aggregate_datasets,
            weights=None if weights == "images" else dict.fromkeys(datasets, 1.0),
            weighting=weighting,
        )


def _number(value: Any, where: str) -> float:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        raise TableError(f"{where}: expected an accuracy in percent, found {value!r}") from None
    if not 0.0 <= number <= 100.0:
        raise TableError(f"{where}: accuracy {number} is outside [0, 100]; give accuracies in percent")
    return number


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"{path}: cannot read the CSV file ({exc})") from exc


def _read_csv(path: Path) -> LoadedTable:
    rows = _read_rows(path)
    if not rows:
        raise TableError(f"{path}: the CSV file has no rows")
    columns = list(rows[0])
    table = LoadedTable(accuracy={})
    if {"method", "dataset", "accuracy"} <= set(columns):
        for index, row in enumerate(rows, start=2):
            method, dataset = row["method"], row["dataset"]
            table.accuracy.setdefault(method, {})[dataset] = _number(row["accuracy"], f"{path}:{index}")
            if row.get("n"):
                table.n.setdefault(method, {})[dataset] = int(row["n"])
            if dataset not in table.datasets:
                table.datasets.append(dataset)
        _warn_missing(table)
        return table
    key = "method" if "method" in columns else "model" if "model" in columns else None
    if key is None:
        raise TableError(
            f"{path}: expected columns method,dataset,accuracy[,n] (long form) or a `method` column plus one "
            f"column per dataset (wide form); found {columns}"
        )
    table.datasets = [c for c in columns if c != key]
    for index, row in enumerate(rows, start=2):
        table.accuracy[row[key]] = {
            d: _number(row[d], f"{path}:{index} column {d}") for d in table.datasets if row.get(d) not in (None, "")
        }
    _warn_missing(table)
    return table


def _warn_missing(table: LoadedTable, what: str = "no value for") -> None:
    """One warning per method with empty cells: which datasets, and what that leaves it out of."""
    first = table.reference or (table.datasets[0] if table.datasets else None)
    for method, per in sorted(table.accuracy.items()):
        missing = [d for d in table.datasets if d not in per]
        if missing:
            effect = "left out entirely" if first in missing else "left out of the aggregates"
            table.warnings.append(f"{method}: {what} {', '.join(missing)} ({effect})")


def _read_json(path: Path) -> LoadedTable:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TableError(f"{path}: cannot read the JSON file ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("analysis"), dict):
        data = data["analysis"]
    if not isinstance(data, dict):
        raise TableError(f"{path}: expected a JSON object, found {type(data).__name__}")
    if "accuracy" in data and isinstance(data["accuracy"], dict):
        per_method = data["accuracy"]
        sizes = data.get("n", {})
        reference = data.get("reference")
    else:
        per_method, sizes, reference = data, {}, None
    table = LoadedTable(accuracy={}, reference=reference)
    for method, per in per_method.items():
        if not isinstance(per, Mapping):
            raise TableError(f"{path}: method {method!r} must map dataset names to accuracies")
        for dataset, value in per.items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                table.accuracy.setdefault(method, {})[dataset] = _number(
                    value.get("accuracy"), f"{path}: {method}/{dataset}"
                )
                if value.get("n"):
                    table.n.setdefault(method, {})[dataset] = int(value["n"])
            else:
                table.accuracy.setdefault(method, {})[dataset] = _number(value, f"{path}: {method}/{dataset}")
            if dataset not in table.datasets:
                table.datasets.append(dataset)
    for method, per in sizes.items() if isinstance(sizes, Mapping) else ():
        if isinstance(per, Mapping):
            table.n.setdefault(method, {}).update({d: int(v) for d, v in per.items() if v})
    if data.get("datasets"):
        table.datasets = [d for d in data["datasets"] if d in table.datasets]
    _warn_missing(table)
    return table


def _read_timm_folder(folder: Path) -> LoadedTable:
    files = {p.stem: p for p in folder.glob("results-*.csv") if not p.stem.endswith("-clean")}
    known = [stem for stem in TIMM_FILES if stem in files]
    if "results-imagenet" not in known:
        raise TableError(
            f"{folder}: expected timm results files (results-imagenet.csv for val, results-imagenet-real.csv, "
            f"results-imagenetv2-matched-frequency.csv, results-imagenet-r.csv, results-sketch.csv, "
            f"results-imagenet-a.csv); found {sorted(p.name for p in folder.glob('*.csv')) or 'no CSV files'}"
        )
    sizes_of_model: dict[str, set[str]] = {}
    for row in _read_rows(files["results-imagenet"]):
        sizes_of_model.setdefault(row["model"], set()).add(row["img_size"])
    table = LoadedTable(accuracy={}, reference="val")
    for stem in known:
        dataset, count = TIMM_FILES[stem]
        table.datasets.append(dataset)
        for index, row in enumerate(_read_rows(files[stem]), start=2):
            model, size = row["model"], row["img_size"]
            name = model if len(sizes_of_model.get(model, {size})) == 1 else f"{model}@{size}"
            table.accuracy.setdefault(name, {})[dataset] = _number(row["top1"], f"{files[stem]}:{index}")
            table.n.setdefault(name, {})[dataset] = count
    table.datasets.sort(key=TIMM_ORDER.index)
    _warn_missing(table, what="no row in")
    unknown = sorted(set(files) - set(TIMM_FILES))
    if unknown:
        table.warnings.append(f"ignored files with unknown dataset names: {', '.join(unknown)}")
    return table


def read_table(path: Path) -> LoadedTable:
    """Read a CSV file, a JSON file, or a folder of timm ``results-*.csv`` files.

    Raises:
        TableError: the input is missing or in none of the accepted forms; the message says which forms exist.
    """
    if path.is_dir():
        return _read_timm_folder(path)
    if not path.is_file():
        raise TableError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".json":
        return _read_json(path)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _read_csv(path)
    raise TableError(f"{path}: expected a .csv or .json file, or a folder of timm results-*.csv files")
