"""Building the report's sections from its input, once, for every renderer.

The headline first (gate result, winners, significant lottery pairs, partial-run gaps), then tables sorted by
the reference with the best contender of each column marked: accuracy (with deltas against the baselines),
ranks, unified scores, agreement with the reference, effective robustness; then lines, a legend, and the
old -> new table after an update. Controls (``control = true``) are shown dimmed and never win.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..analysis.compare import MEASURES, Analysis, ResultTable
from ..gate.baselines import Change
from ..gate.verdicts import Status, Verdict
from .headline import headline, one_line, partial_note
from .lines import failure_lines, gate_lines, lottery_lines, skipped_lines, undefined_correlations, unused_lines
from .method_cells import method_column, method_name
from .model import Cell, Column, ReportData, ReportInput, Section, Span
from .numbers import STATUS_STYLE, arrow, fmt, measure_label, rank_text, short_names, signed
from .protocol_section import protocol_section
from .sensitivity import sensitivity_section

BEST = "*"
LEGEND = (
    f"{BEST} best contender in the column; delta vs baseline: red regressed, green improved beyond the tolerance "
    "(stale baseline), yellow 'new' no baseline, '=' unchanged; ↑/↓ rank change vs the reference; "
    "dimmed rows are controls; † unreadable images skipped"
)


def names_section(data: ReportInput) -> Section:
    """The full names of the methods the tables show shortened."""
    shortened = {short: full for full, short in short_names(data.methods).items() if short != full}
    lines = tuple(f"  {short} = {full}" for short, full in shortened.items())
    return Section("names", lines=(("Names shortened in the tables:", *lines) if lines else ()))


def _delta_style(verdict: Verdict | None) -> str:
    return STATUS_STYLE.get(verdict.status if verdict else Status.PASS) or "dim"


def _best(data: ReportInput, value: Callable[[str], float | None]) -> float | None:
    """The best value among the shown contenders (None when there is none)."""
    values = [v for m in data.methods if m not in data.analysis.table.controls and (v := value(m)) is not None]
    return max(values) if values else None


def _accuracy_of(table: ResultTable, dataset: str) -> Callable[[str], float | None]:
    return lambda method: table.accuracy(method, dataset)


def _score_of(analysis: Analysis, measure: str) -> Callable[[str], float | None]:
    return lambda method: analysis.aggregates.get(method, {}).get(measure)


def _accuracy_cell(data: ReportInput, method: str, dataset: str, best: float | None) -> Cell:
    accuracy = data.analysis.table.accuracy(method, dataset)
    if accuracy is None:
        return (Span("·", "dim"),)
    is_best = best is not None and accuracy == best and method not in data.analysis.table.controls
    spans = [Span(f"{accuracy:.2f}{BEST if is_best else ''}", "bold" if is_best else "")]
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
    """Method x dataset accuracies with coloured deltas against the baselines, best first on the reference."""
    table = data.analysis.table
    title = "Top-1 accuracy (%) and change vs baseline" if data.baselines or data.verdicts else "Top-1 accuracy (%)"
    title += f", sorted by {table.reference}" if table.column(table.reference) else ""
    columns = [method_column(data.methods)]
    if table.reported:
        columns.append(Column("reported", "right", "dim"))
    columns += [Column(f"{d} (ref)" if d == table.reference else d, "right") for d in table.datasets]
    best = {d: _best(data, _accuracy_of(table, d)) for d in table.datasets}
    rows = []
    for method in data.methods:
        row: list[Cell] = [method_name(data, method)]
        if table.reported:
            row.append(fmt(table.reported.get(method), 1))
        row.extend(_accuracy_cell(data, method, d, best[d]) for d in table.datasets)
        rows.append(tuple(row))
    return Section("accuracy", title, tuple(columns), tuple(rows))


def _rank_cell(analysis: Analysis, method: str, dataset: str, intervals: bool) -> str:
    rank = analysis.ranks.get(dataset, {}).get(method)
    if rank is None:
        return "·"
    interval = analysis.rank_intervals.get(method, {}).get(dataset) if intervals else None
    span = f" [{rank_text(interval.low)}-{rank_text(interval.high)}]" if interval else ""
    change = analysis.rank_change.get(dataset, {}).get(method)
    if dataset == analysis.table.reference or change is None:
        return f"{rank:g}{span}"
    return f"{rank:g}{arrow(change)}{span}"


def rank_section(data: ReportInput, intervals: bool = False) -> Section:
    """Each method's rank per dataset with its change against its reference rank (and bootstrap intervals)."""
    analysis, methods = data.analysis, data.methods
    reference = analysis.table.reference
    columns = [method_column(methods)]
    columns += [Column(d, "right") for d in analysis.table.datasets]
    columns += [Column(measure_label(analysis, m), "right") for m in MEASURES]
    rows = []
    for method in methods:
        row: list[Cell] = [method_name(data, method)]
        row += [_rank_cell(analysis, method, d, intervals) for d in analysis.table.datasets]
        for measure in MEASURES:
            rank = analysis.aggregate_ranks.get(measure, {}).get(method)
            base = analysis.ranks.get(reference, {}).get(method)
            if rank is None:
                row.append("·")
            else:
                row.append(f"{rank:g}" if base is None else f"{rank:g}{arrow(base - rank)}")
        rows.append(tuple(row))
    title = f"Rank per dataset (1 = best; arrow = change vs {reference})"
    return Section("ranks", title, tuple(columns), tuple(rows))


def _score_cell(data: ReportInput, method: str, measure: str, best: float | None) -> Cell:
    analysis = data.analysis
    score = analysis.aggregates[method][measure]
    is_best = best is not None and score == best and method not in analysis.table.controls
    spans = [Span(f"{score:.2f}{BEST if is_best else ''}", "bold" if is_best else "")]
    interval = analysis.aggregate_intervals.get(method, {}).get(measure)
    if interval:
        spans.append(Span(f" [{interval[0]:.2f}, {interval[1]:.2f}]", "dim"))
    key = f"{method}::aggregate:{measure}"
    baseline = data.baselines.get(key)
    if baseline is not None:
        spans.append(Span(f" {signed(score - baseline)}", _delta_style(data.verdicts.get(key))))
    return tuple(spans)


def unified_section(data: ReportInput) -> Section:
    """Weighted average and geometric mean per method, with ranks, intervals and baseline deltas."""
    analysis = data.analysis
    columns = [method_column(data.methods)]
    for measure in MEASURES:
        columns += [Column(measure_label(analysis, measure), "right"), Column("rank", "right")]
    timed = bool(data.throughput)
    if timed:
        columns.append(Column("images/s", "right"))
    best = {m: _best(data, _score_of(analysis, m)) for m in MEASURES}
    rows = []
    for method in data.methods:
        if method not in analysis.aggregates:
            continue
        row: list[Cell] = [method_name(data, method)]
        for measure in MEASURES:
            rank = analysis.aggregate_ranks.get(measure, {}).get(method, float("nan"))
            row += [_score_cell(data, method, measure, best[measure]), f"{rank:g}"]
        if timed:
            speed = data.throughput.get(method)
            row.append(f"{speed.images_per_s:,.0f}" if speed is not None else "–")
        rows.append(tuple(row))
    title = f"Unified scores over {', '.join(analysis.table.aggregate_datasets)}"
    note = partial_note(analysis)
    lines: tuple[str, ...] = (f"Unified scores not computed for every method ({note}).",) if note and not rows else ()
    if timed and rows:
        lines += (throughput_line(data),)
    return Section("unified", title, tuple(columns) if rows else (), tuple(rows), lines)


def throughput_line(data: ReportInput) -> str:
    """What the images/s column measured: batch, input, device, dtype and rounds of the timed forward pass."""
    records = data.throughput.values()
    settings = sorted({(r.batch_size, "x".join(map(str, r.input_shape)), r.device, r.dtype, r.rounds) for r in records})
    described = "; ".join(
        f"batch {batch} of {shape} on {device} ({dtype}), median of {rounds} rounds"
        for batch, shape, device, dtype, rounds in settings
    )
    return f"images/s: the frozen forward pass alone (pytest-benchmark, <suite>::<method>::throughput): {described}."


def agreement_section(analysis: Analysis) -> Section:
    """Pearson r, Kendall tau and Spearman rho of each dataset against the reference, across contenders."""
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
    controls = " (controls excluded)" if analysis.table.controls else ""
    title = f"Agreement with {analysis.table.reference} across methods{controls} (95% intervals)"
    return Section("agreement", title, columns, tuple(rows))


def robustness_section(data: ReportInput) -> Section:
    """Effective robustness: accuracy above the logit-linear fit on the reference, in points."""
    analysis, methods = data.analysis, data.methods
    source = "the reference fits stored with the baselines" if analysis.stored_fits else "a fit over these methods"
    datasets = list(analysis.effective_robustness)
    columns = [method_column(methods)]
    for dataset in datasets:
        mark = " stored" if dataset in analysis.stored_fits else ""
        columns.append(Column(f"{dataset} (r²={fmt(analysis.robustness_fits[dataset].r_squared)}{mark})", "right"))
    effective = analysis.effective_robustness
    rows = tuple(
        (method_name(data, method), *(f"{effective[d].get(method, float('nan')):+.2f}" for d in datasets))
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


def _lottery_section(data: ReportInput, limit: int | None) -> Section:
    note = partial_note(data.analysis)
    if note and "the lottery" in note:
        return Section("lottery", lines=(f"Lottery not computed ({note}).",))
    among = data.methods if len(data.methods) < len(data.analysis.table.methods) else None
    return Section("lottery", lines=tuple(lottery_lines(data.analysis, limit, among)))


def build_report(data: ReportInput, verbosity: int = 0) -> ReportData:
    """The sections of the report, in reading order.

    ``verbosity``: 0 the full report, 1 with rank intervals (``-v``), -1 the short form (``-q``), -2 one line.
    """
    analysis = data.analysis
    if verbosity <= -2:
        return ReportData("", (), (Section("headline", lines=(one_line(data),)),), data)  # -qq: that line alone
    preface: tuple[str, ...] = ()
    if len(data.methods) < len(analysis.table.methods):
        shown, total = len(data.methods), len(analysis.table.methods)
        preface = (f"(tables show the first {shown} of {total} methods; the JSON report has all)",)
    sections = [Section("headline", lines=headline(data)), accuracy_section(data)]
    if verbosity < 0:
        sections += [unified_section(data), Section("gate", lines=tuple(gate_lines(data)))]
    else:
        sections += [rank_section(data, intervals=verbosity > 0), unified_section(data)]
        if analysis.correlations:
            sections.append(agreement_section(analysis))
        if analysis.effective_robustness:
            sections.append(robustness_section(data))
        sections += [protocol_section(data, comparison) for comparison in data.protocols]
        sections.append(sensitivity_section(data))
        sections += [
            Section("legend", lines=(f"Legend: {LEGEND}",)),
            names_section(data),
            Section("skipped", lines=tuple(skipped_lines(data))),
            Section("correlation-notes", lines=tuple(undefined_correlations(analysis))),
            _lottery_section(data, data.max_pairs),
            Section("gate", lines=tuple(gate_lines(data)) + tuple(unused_lines(data))),
            Section("notes", lines=tuple(data.notes), wrap=False),
        ]
    failures = failure_lines(data)
    if failures:
        sections.append(Section("failures", "Failures and how to accept them", lines=tuple(failures), terminal=False))
    if data.changes:
        sections.append(change_section(data.changes))
    return ReportData(data.title, preface, tuple(sections), data)
