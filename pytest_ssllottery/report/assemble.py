"""From a run's records to what the report shows: the results table, the analysis, the report input.

Pure functions of the suite, the records, the baseline store and the verdicts; the run calls them once
at the end, and ``ssllottery run`` calls them without a gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..compute.records import AggregateRecord, CellRecord
from ..gate.baselines import BaselineStore, Change
from ..gate.verdicts import Verdict
from ..stats import LogitFit
from ..suite.spec import Suite
from .analysis import Analysis, ResultTable, TableCell, analyse
from .model import ReportInput


def table_weights(suite: Suite, cells: Iterable[CellRecord]) -> dict[str, float] | None:
    """Aggregate weights for the analysis; None means scored images, which the table already holds."""
    if suite.aggregate_weights == "images" and all(suite.dataset(d).weight is None for d in suite.aggregate_datasets):
        return None
    scored = {c.dataset: c.n for c in cells}
    return {d: suite.aggregate_weight(d, scored.get(d)) for d in suite.aggregate_datasets}


def result_table(suite: Suite, cells: Iterable[CellRecord]) -> ResultTable:
    """The results table of ``cells``, in suite order."""
    chosen = {c.key: c for c in cells}
    methods = tuple(m.name for m in suite.methods if any(c.method == m.name for c in chosen.values()))
    datasets = tuple(d.name for d in suite.eval_datasets if any(c.dataset == d.name for c in chosen.values()))
    return ResultTable(
        cells={(c.method, c.dataset): TableCell(c.accuracy, c.n, c.correctness()) for c in chosen.values()},
        methods=methods,
        datasets=datasets,
        reference=suite.reference,
        aggregate_datasets=suite.aggregate_datasets,
        weights=table_weights(suite, chosen.values()),
        reported={m.name: m.reported_top1 for m in suite.methods if m.reported_top1 is not None},
    )


def suite_analysis(suite: Suite, cells: Iterable[CellRecord], fits: Mapping[str, LogitFit] | None = None) -> Analysis:
    """The rank-comparison analysis of ``cells``; effective robustness against ``fits`` when given."""
    return analyse(
        result_table(suite, cells),
        alpha=suite.gate.alpha,
        resamples=suite.bootstrap_resamples,
        robustness_fits=fits,
    )


def baseline_values(
    store: BaselineStore, cells: Iterable[CellRecord], aggregates: Iterable[AggregateRecord]
) -> dict[str, float]:
    """The stored values the report compares with: ``method::dataset`` and ``method::aggregate:measure``."""
    values: dict[str, float] = {}
    for record in cells:
        entry = store.cell(record.key)
        if entry is not None:
            values[record.key] = entry.accuracy
    for aggregate in aggregates:
        stored = store.aggregate(aggregate.method)
        for measure in ("weighted_average", "geometric_mean"):
            score = stored.score(measure) if stored is not None else None
            if score is not None:
                values[f"{aggregate.key}:{measure}"] = score
    return values


def report_input(
    suite: Suite,
    analysis: Analysis,
    baselines: Mapping[str, float],
    verdicts: Mapping[str, Verdict],
    changes: Sequence[Change] = (),
    notes: Sequence[str] = (),
    skipped: Mapping[str, int] | None = None,
) -> ReportInput:
    """Everything the report of a suite run shows."""
    return ReportInput(
        title=f"SSL lottery report: suite {suite.name}, reference {suite.reference}",
        analysis=analysis,
        baselines=baselines if not changes else {},
        verdicts=dict(verdicts),
        changes=list(changes),
        notes=list(notes),
        gate_mode=suite.gate.mode,
        alpha=suite.gate.alpha,
        family_size=len(suite.methods) * len(suite.eval_datasets),
        skipped=dict(skipped or {}),
    )
