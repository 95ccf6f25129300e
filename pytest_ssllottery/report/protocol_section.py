"""The protocol lottery section of the report.

Each method's reference accuracy and geometric mean under the suite's protocol and under each extra protocol,
the change of its rank, and how well the two protocols' orders agree.
"""

from __future__ import annotations

import math

from ..analysis.protocols import MEASURES, ProtocolComparison
from .method_cells import method_column, method_name
from .model import Cell, Column, ReportInput, Section
from .numbers import arrow, fmt

LABELS = {"weighted_average": "weighted avg", "geometric_mean": "geometric mean"}


def _rank_change(before: float | None, after: float | None) -> str:
    if before is None or after is None or math.isnan(before) or math.isnan(after):
        return "–"
    return arrow(before - after)


def protocol_section(data: ReportInput, comparison: ProtocolComparison) -> Section:
    """One table per extra protocol, and lines on agreement and winners."""
    main, other = data.analysis, comparison.analysis
    reference, primary, protocol = main.table.reference, comparison.primary, comparison.protocol
    columns = [method_column(data.methods)]
    for label in (reference, "geometric mean"):
        columns += [
            Column(f"{label} {primary}", "right"),
            Column(f"{label} {protocol}", "right"),
            Column("rank", "right"),
        ]
    rows: list[tuple[Cell, ...]] = []
    ref_ranks = main.ranks.get(reference, {}), other.ranks.get(reference, {})
    mean_ranks = main.aggregate_ranks.get("geometric_mean", {}), other.aggregate_ranks.get("geometric_mean", {})
    for method in data.methods:
        if method not in other.table.methods:
            continue
        cells: list[Cell] = [method_name(data, method)]
        cells += [
            fmt(main.table.column(reference).get(method)),
            fmt(other.table.column(reference).get(method)),
            _rank_change(ref_ranks[0].get(method), ref_ranks[1].get(method)),
            fmt(main.aggregates.get(method, {}).get("geometric_mean")),
            fmt(other.aggregates.get(method, {}).get("geometric_mean")),
            _rank_change(mean_ranks[0].get(method), mean_ranks[1].get(method)),
        ]
        rows.append(tuple(cells))
    agreement = ", ".join(
        f"{LABELS.get(column, column)} {fmt(c.estimate)}" for column, c in comparison.agreement.items()
    )
    moved = [
        f"{LABELS.get(column, column)}: {first} ({primary}) vs {second} ({protocol})"
        for column, (first, second) in comparison.winners.items()
        if first != second and column in (reference, *MEASURES)
    ]
    lines = (
        f"Kendall tau between the two protocols' orders of the contenders: {agreement}.",
        "Winners that change with the protocol: " + ("; ".join(moved) if moved else "none") + ".",
    )
    title = f"Protocol lottery: {primary} against {protocol} (rank: change under {protocol})"
    return Section(f"protocol-{protocol}", title, tuple(columns), tuple(rows), lines)
