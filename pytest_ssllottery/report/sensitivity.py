"""What the gate can see: the smallest drop each gated value fails 80 % of the time, and the power at one drop.

Cells and scores with a verdict use the verdict's figure (computed by the gate from the baseline); the others
(``ssllottery analyze``, baseline updates) are computed the same way from the table's accuracy and image count
under the report's gate settings. Cells of unknown size have none.
"""

from __future__ import annotations

import statistics

import numpy as np

from ..analysis.compare import MEASURES, aggregate_weights
from ..gate.judge_aggregate import GEOMETRIC_FLOOR
from ..gate.sensitivity import cell_detectable_drop, cell_power, score_detectable_drop
from ..stats import geometric_mean_standard_error, weighted_average_standard_error
from .method_cells import method_column, method_name
from .model import Cell, Column, ReportInput, Section
from .numbers import measure_label


def _family(data: ReportInput) -> int:
    table = data.analysis.table
    return data.family_size or len(table.methods) * len(table.datasets)


def _score_errors(data: ReportInput, method: str) -> dict[str, float]:
    """Delta-method standard errors (points) of a method's unified scores; empty when a size is unknown."""
    table = data.analysis.table
    cells = [table.cells.get((method, d)) for d in table.aggregate_datasets]
    weights = aggregate_weights(table, method)
    if not cells or weights is None or any(c is None or not c.n for c in cells):
        return {}
    accuracies = np.array([c.accuracy / 100.0 for c in cells if c is not None])
    counts = np.array([c.n for c in cells if c is not None])
    return {
        "weighted_average": 100.0 * weighted_average_standard_error(accuracies, counts, np.array(weights)),
        "geometric_mean": 100.0 * geometric_mean_standard_error(accuracies, counts, floor=GEOMETRIC_FLOOR),
    }


def detectable_drops(data: ReportInput) -> dict[str, float]:
    """``method::dataset`` and ``method::aggregate:measure`` -> the drop (points) the gate catches 80 % of the time."""
    table = data.analysis.table
    drops: dict[str, float] = {}
    for (method, dataset), cell in table.cells.items():
        key = f"{method}::{dataset}"
        verdict = data.verdicts.get(key)
        if verdict is not None and verdict.detectable_drop is not None:
            drops[key] = verdict.detectable_drop
        elif cell.n:
            drops[key] = round(cell_detectable_drop(cell.accuracy, cell.n, data.gate, _family(data)), 6)
    for method in table.methods:
        errors = _score_errors(data, method)
        for measure in MEASURES:
            key = f"{method}::aggregate:{measure}"
            verdict = data.verdicts.get(key)
            if verdict is not None and verdict.detectable_drop is not None:
                drops[key] = verdict.detectable_drop
            elif measure in errors:
                drops[key] = round(score_detectable_drop(errors[measure], data.gate), 6)
    return drops


def _gate_rule(data: ReportInput) -> str:
    gate = data.gate
    if gate.mode == "significant":
        return (
            f"significant gate: drop > margin {gate.margin:g} and significant at alpha {gate.alpha:g} / "
            f"{_family(data)} cells (Holm)"
        )
    return f"absolute gate: tolerance max({gate.margin:g}, {gate.sampling_factor:g} x standard error)"


def sensitivity_section(data: ReportInput) -> Section:
    """Method x dataset (and unified scores): the drop the gate fails 80 % of the time."""
    drops = detectable_drops(data)
    table = data.analysis.table
    datasets = [d for d in table.datasets if any(f"{m}::{d}" in drops for m in data.methods)]
    measures = [m for m in MEASURES if any(f"{x}::aggregate:{m}" in drops for x in data.methods)]
    if not datasets:
        return Section("sensitivity", lines=("Detectable drops not computed: the table has no image counts.",))
    columns = (
        method_column(data.methods),
        *(Column(d, "right") for d in datasets),
        *(Column(measure_label(data.analysis, m), "right") for m in measures),
    )
    rows: list[tuple[Cell, ...]] = []
    for method in data.methods:
        keys = [f"{method}::{d}" for d in datasets] + [f"{method}::aggregate:{m}" for m in measures]
        rows.append((method_name(data, method), *(f"{drops[k]:.2f}" if k in drops else "–" for k in keys)))
    title = f"Smallest drop (points) the gate fails 80% of the time ({_gate_rule(data)})"
    return Section("sensitivity", title, columns, tuple(rows), lines=(power_line(data),))


def power_line(data: ReportInput) -> str:
    """One line: the probability that the gate catches a drop of ``data.power_drop`` points, per dataset.

    At the median accuracy and image count of the dataset's contenders (controls left out).
    """
    table = data.analysis.table
    parts = []
    for dataset in table.datasets:
        cells = [c for (m, d), c in table.cells.items() if d == dataset and c.n and m not in table.controls]
        if not cells:
            continue
        accuracy = statistics.median(c.accuracy for c in cells)
        n = int(statistics.median(c.n for c in cells if c.n))
        power = cell_power(data.power_drop, accuracy, n, data.gate, _family(data))
        parts.append(f"{dataset} {100 * power:.0f}% (n={n:,})")
    if not parts:
        return ""
    return f"A {data.power_drop:g}-point drop in one cell is caught with probability: " + ", ".join(parts)
