"""The results table of a suite run: records in suite order, with the suite's aggregate weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..compute.records import CellRecord
from ..stats import LogitFit
from ..suite.spec import Suite
from .compare import Analysis, ResultTable, TableCell, analyse


def table_weights(suite: Suite, cells: Iterable[CellRecord]) -> dict[str, float] | None:
    """Aggregate weights for the analysis; None means scored images, which the table already holds."""
    if suite.aggregate_weights == "images" and all(suite.dataset(d).weight is None for d in suite.aggregate_datasets):
        return None
    scored = {c.dataset: c.n for c in cells}
    return {d: suite.aggregate_weight(d, scored.get(d)) for d in suite.aggregate_datasets}


def result_table(suite: Suite, cells: Iterable[CellRecord]) -> ResultTable:
    """The results table of ``cells`` in suite order, under the suite's own protocol.

    The ``@<protocol>`` variants' cells are left out here; ``analysis.protocols`` compares them.
    """
    primary = {m.name for m in suite.primary_methods}
    chosen = {c.key: c for c in cells if c.method in primary}
    methods = tuple(m.name for m in suite.primary_methods if any(c.method == m.name for c in chosen.values()))
    datasets = tuple(d.name for d in suite.eval_datasets if any(c.dataset == d.name for c in chosen.values()))
    return ResultTable(
        cells={(c.method, c.dataset): TableCell(c.accuracy, c.n, c.correctness()) for c in chosen.values()},
        methods=methods,
        datasets=datasets,
        reference=suite.reference,
        aggregate_datasets=suite.aggregate_datasets,
        weights=table_weights(suite, chosen.values()),
        reported={m.name: m.reported_top1 for m in suite.methods if m.reported_top1 is not None},
        controls=frozenset(m.name for m in suite.methods if m.control),
        planned=tuple(d.name for d in suite.eval_datasets),
    )


def suite_analysis(suite: Suite, cells: Iterable[CellRecord], fits: Mapping[str, LogitFit] | None = None) -> Analysis:
    """The rank-comparison analysis of ``cells``; effective robustness against ``fits`` when given."""
    return analyse(
        result_table(suite, cells),
        alpha=suite.gate.alpha,
        resamples=suite.bootstrap_resamples,
        robustness_fits=fits,
    )
