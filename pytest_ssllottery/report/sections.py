"""Building the report's sections from its input, once, for every renderer.

Tables: accuracy (with deltas against the baselines), ranks, unified scores, agreement with the
reference, effective robustness, and the old -> new table after an update. Lines: skipped images, why
correlations are undefined, winners, the lottery, the gate, notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis.compare import MEASURES, Analysis
from ..gate.baselines import Change
from ..gate.verdicts import Status, Verdict
from .lines import gate_lines, lottery_lines, skipped_lines, undefined_correlations, winner_lines
from .model import Cell, Column, ReportData, ReportInput, Section, Span
from .numbers import STATUS_STYLE, arrow, fmt, measure_label, rank_text, signed

QUIET_LOTTERY_PAIRS = 5


def method_column(methods: Sequence[str]) -> Column:
    """The method column: never wrapped or cut, whatever the width (other columns shrink first)."""
    return Column("method", min_width=max((len(m) for m in methods), default=6))


def _delta_style(verdict: Verdict | None) -> str:
    return STATUS_STYLE.get(verdict.status if verdict else Status.PASS) or "dim"


def _accuracy_cell(data: ReportInput, method: str, dataset: str) -> Cell:
    accuracy = data.analysis.table.accuracy(method, dataset)
    if accuracy is None:
        return (Span("·", "dim"),)
    spans = [Span(f"{accuracy:.2f}")]
    key = f"{method}::{dataset}"
    verdict = data.verdicts.get(key)
    baseline = data.baselines.get(key)
    if baseline is not None:
        spans.append(Span(f" {signed(accuracy - baseline)}", _delta_style(verdict)))
    elif verdict is not None and verdict.status == Status.MISSING:
        spans.append(Span(" new", "yellow"))
    if data.skipped.get(key):
        spans.append(Span("†", "magenta"))
    return tuple(spans)


def accuracy_section(data: ReportInput) -> Section:
    """Method x dataset accuracies with coloured deltas against the baselines."""
    table = data.analysis.table
    title = "Top-1 accuracy (%) and change vs baseline" if data.baselines or data.verdicts else "Top-1 accuracy (%)"
    columns = [method_column(data.methods)]
    if table.reported:
        columns.append(Column("reported", "right", "dim"))
    columns += [Column(f"{d} (ref)" if d == table.reference else d, "right") for d in table.datasets]
    rows = []
    for method in data.methods:
        row: list[Cell] = [method]
        if table.reported:
            row.append(fmt(table.reported.get(method), 1))
        row.extend(_accuracy_cell(data, method, d) for d in table.datasets)
        rows.append(tuple(row))
    return Section("accuracy", title, tuple(columns), tuple(rows))


def _rank_cell(analysis: Analysis, method: str, dataset: str, intervals: bool) -> str:
    rank = analysis.ranks.get(dataset, {}).get(method)
    if rank is None:
        return "·"
    change = analysis.rank_change.get(dataset, {}).get(method, 0.0)
    interval = analysis.rank_intervals.get(method, {}).get(dataset) if intervals else None
    span = f" [{rank_text(interval.low)}-{rank_text(interval.high)}]" if interval else ""
    return f"{rank:g}{span}" if dataset == analysis.table.reference else f"{rank:g} {arrow(change)}{span}"


def rank_section(analysis: Analysis, methods: Sequence[str], intervals: bool = False) -> Section:
    """Each method's rank per dataset with its change against its reference rank (and bootstrap intervals)."""
    reference = analysis.table.reference
    columns = [method_column(methods)]
    columns += [Column(d, "right") for d in analysis.table.datasets]
    columns += [Column(measure_label(analysis, m), "right") for m in MEASURES]
    rows = []
    for method in methods:
        row: list[Cell] = [method, *(_rank_cell(analysis, method, d, intervals) for d in analysis.table.datasets)]
        for measure in MEASURES:
            rank = analysis.aggregate_ranks.get(measure, {}).get(method)
            change = analysis.ranks.get(reference, {}).get(method, rank or 0) - (rank or 0)
            row.append("·" if rank is None else f"{rank:g} {arrow(change)}")
        rows.append(tuple(row))
    title = f"Rank per dataset (1 = best; arrow = change vs {reference})"
    return Section("ranks", title, tuple(columns), tuple(rows))


def unified_section(data: ReportInput) -> Section:
    """Weighted average and geometric mean per method, with ranks, intervals and baseline deltas."""
    analysis = data.analysis
    columns = [method_column(data.methods)]
    for measure in MEASURES:
        columns += [Column(measure_label(analysis, measure), "right"), Column("rank", "right")]
    rows = []
    for method in data.methods:
        scores = analysis.aggregates.get(method)
        if scores is None:
            continue
        row: list[Cell] = [method]
        for measure in MEASURES:
            spans = [Span(f"{scores[measure]:.2f}")]
            interval = analysis.aggregate_intervals.get(method, {}).get(measure)
            if interval:
                spans.append(Span(f" [{interval[0]:.2f}, {interval[1]:.2f}]", "dim"))
            key = f"{method}::aggregate:{measure}"
            baseline = data.baselines.get(key)
            if baseline is not None:
                spans.append(Span(f" {signed(scores[measure] - baseline)}", _delta_style(data.verdicts.get(key))))
            row += [tuple(spans), f"{analysis.aggregate_ranks.get(measure, {}).get(method, float('nan')):g}"]
        rows.append(tuple(row))
    title = f"Unified scores over {', '.join(analysis.table.aggregate_datasets)}"
    return Section("unified", title, tuple(columns), tuple(rows))


def agreement_section(analysis: Analysis) -> Section:
    """Pearson r, Kendall tau and Spearman rho of each dataset against the reference, across methods."""
    names = ("dataset", "Pearson r", "Kendall tau", "Spearman rho", f"flips within {analysis.close_within:g} pt")
    columns = tuple(Column(name, "left" if name == "dataset" else "right") for name in names)
    rows = []
    for dataset, values in analysis.correlations.items():
        cells: list[Cell] = [dataset]
        for key in ("pearson", "kendall", "spearman"):
            c = values[key]
            cells.append(f"{fmt(c.estimate)} [{fmt(c.low)}, {fmt(c.high)}]" if not math.isnan(c.estimate) else "–")
        rate = analysis.flip_rates.get(dataset)
        cells.append(f"{rate.flips}/{rate.pairs}" if rate else "–")
        rows.append(tuple(cells))
    title = f"Agreement with {analysis.table.reference} across methods (95% intervals)"
    return Section("agreement", title, columns, tuple(rows))


def robustness_section(analysis: Analysis, methods: Sequence[str]) -> Section:
    """Effective robustness: accuracy above the logit-linear fit on the reference, in points."""
    source = "the reference fits stored with the baselines" if analysis.stored_fits else "a fit over these methods"
    datasets = list(analysis.effective_robustness)
    columns = [method_column(methods)]
    for dataset in datasets:
        mark = " stored" if dataset in analysis.stored_fits else ""
        columns.append(Column(f"{dataset} (r²={fmt(analysis.robustness_fits[dataset].r_squared)}{mark})", "right"))
    rows = tuple(
        (method, *(f"{analysis.effective_robustness[d].get(method, float('nan')):+.2f}" for d in datasets))
        for method in methods
    )
    title = f"Effective robustness: points above the logit-linear fit on {analysis.table.reference} ({source})"
    return Section("robustness", title, tuple(columns), rows)


def change_section(changes: Sequence[Change]) -> Section:
    """Old -> new baselines after an update."""
    names = ("key", "measure", "old", "new", "delta")
    columns = tuple(Column(n, "left" if n in ("key", "measure") else "right") for n in names)
    rows = tuple(
        (c.key, c.measure, fmt(c.old), fmt(c.new), "new" if c.old is None else signed(c.new - c.old)) for c in changes
    )
    return Section("changes", "Baselines updated (old -> new)", columns, rows)


def build_report(data: ReportInput, verbosity: int = 0) -> ReportData:
    """The sections of the report, in reading order; ``verbosity < 0`` is the short form (``-q``)."""
    analysis = data.analysis
    preface: tuple[str, ...] = ()
    if len(data.methods) < len(analysis.table.methods):
        shown, total = len(data.methods), len(analysis.table.methods)
        preface = (f"(tables show the first {shown} of {total} methods; the JSON report has all)",)
    sections = [accuracy_section(data)]
    if verbosity < 0:
        sections += [
            unified_section(data),
            Section("winners", lines=tuple(winner_lines(analysis))),
            Section("lottery", lines=tuple(lottery_lines(analysis, QUIET_LOTTERY_PAIRS))),
            Section("gate", lines=tuple(gate_lines(data))),
        ]
    else:
        sections += [rank_section(analysis, data.methods, intervals=verbosity > 0), unified_section(data)]
        if analysis.correlations:
            sections.append(agreement_section(analysis))
        if analysis.effective_robustness:
            sections.append(robustness_section(analysis, data.methods))
        sections += [
            Section("skipped", lines=tuple(skipped_lines(data))),
            Section("correlation-notes", lines=tuple(undefined_correlations(analysis))),
            Section("winners", lines=tuple(winner_lines(analysis))),
            Section("lottery", lines=tuple(lottery_lines(analysis, data.max_pairs))),
            Section("gate", lines=tuple(gate_lines(data))),
            Section("notes", lines=tuple(data.notes)),
        ]
    if data.changes:
        sections.append(change_section(data.changes))
    return ReportData(data.title, preface, tuple(sections), data)
