"""The protocol lottery: do the methods' ranks move when the same backbones are scored by another protocol?

A suite's ``extra_protocols`` (``["knn"]``) adds, for every method, a variant ``<method>@<protocol>`` scored
from the same features. The main analysis covers the suite's own protocol; this module analyses each extra
protocol's cells under the methods' own names and compares the two: Kendall tau between the contenders'
scores under each protocol, per dataset and unified score, and the winner under each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..compute.records import CellRecord
from ..stats import Correlation, kendall_tau
from ..suite.spec import Suite
from .compare import Analysis
from .suite_table import suite_analysis

MEASURES = ("weighted_average", "geometric_mean")


@dataclass(frozen=True)
class ProtocolComparison:
    """The suite's protocol against one extra protocol, over the methods both scored."""

    protocol: str
    primary: str
    analysis: Analysis
    agreement: dict[str, Correlation]
    winners: dict[str, tuple[str | None, str | None]]

    @property
    def columns(self) -> tuple[str, ...]:
        """The datasets and unified scores compared, in report order."""
        return tuple(self.agreement)


def primary_protocol(suite: Suite) -> str:
    """The protocol of the suite's own methods: the [probe] kind (``linear``, ``official-head`` or ``knn``)."""
    return suite.probe.kind


def protocol_cells(suite: Suite, cells: Iterable[CellRecord], protocol: str) -> list[CellRecord]:
    """The cells of the ``<method>@<protocol>`` variants, under their methods' own names."""
    base = {m.name: m.variant_of for m in suite.methods if m.variant_of and m.name.endswith(f"@{protocol}")}
    return [replace(c, method=base[c.method]) for c in cells if c.method in base]


def _scores(analysis: Analysis, column: str, methods: list[str]) -> list[float]:
    if column in MEASURES:
        return [analysis.aggregates.get(m, {}).get(column, math.nan) for m in methods]
    return [analysis.table.column(column).get(m, math.nan) for m in methods]


def _winner(analysis: Analysis, column: str, methods: list[str]) -> str | None:
    scored = [(score, m) for score, m in zip(_scores(analysis, column, methods), methods, strict=True)]
    scored = [(s, m) for s, m in scored if not math.isnan(s)]
    return max(scored)[1] if scored else None


def compare_protocols(suite: Suite, main: Analysis, cells: Iterable[CellRecord]) -> list[ProtocolComparison]:
    """One comparison per extra protocol of the suite whose variants have results."""
    cells = list(cells)
    comparisons: list[ProtocolComparison] = []
    for protocol in suite.extra_protocols:
        other = protocol_cells(suite, cells, protocol)
        if not other:
            continue
        # ranks, scores and tau only: no bootstrap intervals (they would double the report's cost)
        analysis = suite_analysis(replace(suite, bootstrap_resamples=0), other)
        contenders = [m for m in main.table.methods if m in analysis.table.methods and m not in main.table.controls]
        columns = [d for d in main.table.datasets if d in analysis.table.datasets]
        columns += [m for m in MEASURES if contenders and all(c in analysis.aggregates for c in contenders)]
        agreement = {
            column: kendall_tau(_scores(main, column, contenders), _scores(analysis, column, contenders))
            for column in columns
        }
        winners = {
            column: (_winner(main, column, contenders), _winner(analysis, column, contenders)) for column in columns
        }
        comparisons.append(ProtocolComparison(protocol, primary_protocol(suite), analysis, agreement, winners))
    return comparisons
