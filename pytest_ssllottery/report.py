"""Rendering the rank-comparison report: rich terminal tables, Markdown, JSON. It never decides pass/fail.

The report is built from an :class:`~pytest_ssllottery.analysis.Analysis` plus the gate's verdicts and
the baseline entries, so the same renderer serves ``pytest --ssl-suite=...`` and ``ssllottery analyze``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .analysis import MEASURES, Analysis, analysis_to_dict
from .baselines import Change
from .results import Verdict

REPORT_SCHEMA_VERSION = 1
_STATUS_STYLE = {
    "fail": "bold red",
    "missing": "yellow",
    "threshold": "bold red",
    "stale": "green",
    "pass": "",
    "update": "cyan",
}
_MEASURE_LABEL = {"weighted_average": "weighted avg", "geometric_mean": "geometric mean"}


def measure_label(analysis: Analysis, measure: str) -> str:
    """Column label of a unified score; an average without image counts is called what it is."""
    if measure == "weighted_average" and analysis.table.weighting.startswith("equal"):
        return "equal-weight mean"
    return _MEASURE_LABEL.get(measure, analysis.table.reference)


@dataclass(frozen=True)
class ReportInput:
    """Everything a report shows."""

    title: str
    analysis: Analysis
    baselines: Mapping[str, float] = field(default_factory=dict)
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    changes: Sequence[Change] = ()
    notes: Sequence[str] = ()
    gate_mode: str = "absolute"
    alpha: float = 0.05
    family_size: int = 0
    max_rows: int | None = None
    max_pairs: int = 30
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods shown in the tables (the first ``max_rows`` in table order)."""
        methods = self.analysis.table.methods
        return methods if self.max_rows is None else methods[: self.max_rows]


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _signed(delta: float) -> str:
    """A signed difference in points; unchanged (below rounding) shows as ``=``, as ranks do, never -0.00."""
    return "=" if abs(delta) < 0.005 else f"{delta:+.2f}"


def _rank(value: float) -> str:
    """A rank, average ranks and interval ends to one decimal at most."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _arrow(change: float) -> str:
    if change > 0:
        return f"↑{change:g}"
    if change < 0:
        return f"↓{-change:g}"
    return "="


def _method_column(table: Table, methods: Sequence[str]) -> None:
    """The method column: never wrapped or cut, whatever the width (other columns shrink first)."""
    table.add_column("method", no_wrap=True, min_width=max((len(m) for m in methods), default=6))


def _cell_text(data: ReportInput, method: str, dataset: str) -> Text:
    accuracy = data.analysis.table.accuracy(method, dataset)
    if accuracy is None:
        return Text("·", style="dim")
    text = Text(f"{accuracy:.2f}")
    key = f"{method}::{dataset}"
    verdict = data.verdicts.get(key)
    baseline = data.baselines.get(key)
    if baseline is not None:
        delta = accuracy - baseline
        text.append(f" {_signed(delta)}", style=_STATUS_STYLE.get(verdict.status if verdict else "pass") or "dim")
    elif verdict is not None and verdict.status == "missing":
        text.append(" new", style="yellow")
    if data.skipped.get(key):
        text.append("†", style="magenta")
    return text


def accuracy_table(data: ReportInput) -> Table:
    """Method x dataset accuracies with coloured deltas against the baselines."""
    table_data = data.analysis.table
    title = "Top-1 accuracy (%) and change vs baseline" if data.baselines or data.verdicts else "Top-1 accuracy (%)"
    table = Table(title=title, title_justify="left")
    _method_column(table, data.methods)
    if table_data.reported:
        table.add_column("reported", justify="right", style="dim")
    for dataset in table_data.datasets:
        label = f"{dataset} (ref)" if dataset == table_data.reference else dataset
        table.add_column(label, justify="right")
    for method in data.methods:
        row: list[Text | str] = [method]
        if table_data.reported:
            row.append(_fmt(table_data.reported.get(method), 1))
        row.extend(_cell_text(data, method, d) for d in table_data.datasets)
        table.add_row(*row)
    return table


def undefined_correlations(analysis: Analysis) -> list[str]:
    """Why some correlations are shown as a dash."""
    reasons = sorted({c.reason for v in analysis.correlations.values() for c in v.values() if c.reason})
    return [f"Correlation undefined: {reason}" for reason in reasons]


def skipped_lines(data: ReportInput) -> list[str]:
    """Unreadable images skipped under --ssl-skip-corrupt, per cell."""
    cells = sorted((k, v) for k, v in data.skipped.items() if v)
    if not cells:
        return []
    listed = ", ".join(f"{key} {count}" for key, count in cells)
    return [f"† unreadable images skipped (--ssl-skip-corrupt), not scored: {listed}"]


def rank_table(analysis: Analysis, methods: Sequence[str], intervals: bool = False) -> Table:
    """Each method's rank per dataset with its change against its reference rank (and bootstrap intervals)."""
    reference = analysis.table.reference
    table = Table(title=f"Rank per dataset (1 = best; arrow = change vs {reference})", title_justify="left")
    _method_column(table, methods)
    for dataset in analysis.table.datasets:
        table.add_column(dataset, justify="right")
    for measure in MEASURES:
        table.add_column(measure_label(analysis, measure), justify="right")
    for method in methods:
        row = [method]
        for dataset in analysis.table.datasets:
            rank = analysis.ranks.get(dataset, {}).get(method)
            change = analysis.rank_change.get(dataset, {}).get(method, 0.0)
            interval = analysis.rank_intervals.get(method, {}).get(dataset) if intervals else None
            span = f" [{_rank(interval.low)}-{_rank(interval.high)}]" if interval else ""
            row.append(
                "·"
                if rank is None
                else (f"{rank:g}{span}" if dataset == reference else f"{rank:g} {_arrow(change)}{span}")
            )
        for measure in MEASURES:
            rank = analysis.aggregate_ranks.get(measure, {}).get(method)
            change = analysis.ranks.get(reference, {}).get(method, rank or 0) - (rank or 0)
            row.append("·" if rank is None else f"{rank:g} {_arrow(change)}")
        table.add_row(*row)
    return table


def aggregate_table(data: ReportInput) -> Table:
    """Weighted average and geometric mean per method, with ranks, intervals and baseline deltas."""
    analysis = data.analysis
    table = Table(title=f"Unified scores over {', '.join(analysis.table.aggregate_datasets)}", title_justify="left")
    _method_column(table, data.methods)
    for measure in MEASURES:
        table.add_column(measure_label(analysis, measure), justify="right")
        table.add_column("rank", justify="right")
    for method in data.methods:
        scores = analysis.aggregates.get(method)
        if scores is None:
            continue
        row: list[Text | str] = [method]
        for measure in MEASURES:
            text = Text(f"{scores[measure]:.2f}")
            interval = analysis.aggregate_intervals.get(method, {}).get(measure)
            if interval:
                text.append(f" [{interval[0]:.2f}, {interval[1]:.2f}]", style="dim")
            baseline = data.baselines.get(f"{method}::aggregate:{measure}")
            verdict = data.verdicts.get(f"{method}::aggregate:{measure}")
            if baseline is not None:
                text.append(
                    f" {_signed(scores[measure] - baseline)}",
                    style=_STATUS_STYLE.get(verdict.status if verdict else "pass") or "dim",
                )
            row.extend([text, f"{analysis.aggregate_ranks.get(measure, {}).get(method, float('nan')):g}"])
        table.add_row(*row)
    return table


def correlation_table(analysis: Analysis) -> Table:
    """Pearson r, Kendall tau and Spearman rho of each dataset against the reference, across methods."""
    table = Table(
        title=f"Agreement with {analysis.table.reference} across methods (95% intervals)",
        title_justify="left",
    )
    for name in (
        "dataset",
        "Pearson r",
        "Kendall tau",
        "Spearman rho",
        f"flips within {analysis.close_within:g} pt",
    ):
        table.add_column(name, justify="left" if name == "dataset" else "right")
    for dataset, values in analysis.correlations.items():
        cells = []
        for key in ("pearson", "kendall", "spearman"):
            c = values[key]
            cells.append(f"{_fmt(c.estimate)} [{_fmt(c.low)}, {_fmt(c.high)}]" if not math.isnan(c.estimate) else "–")
        rate = analysis.flip_rates.get(dataset)
        cells.append(f"{rate.flips}/{rate.pairs}" if rate else "–")
        table.add_row(dataset, *cells)
    return table


def lottery_lines(analysis: Analysis, limit: int | None = None) -> list[str]:
    """The pairs whose reference order flips on an aggregate (the ``limit`` largest reference gaps)."""
    reference = analysis.table.reference
    if not analysis.lottery:
        return [f"No lottery: every pair keeps its {reference} order on both aggregates."]
    counts = ", ".join(
        f"{sum(p.measure == m for p in analysis.lottery)} on the {measure_label(analysis, m)}" for m in MEASURES
    )
    ties = sum(bool(p.tie_on_reference) for p in analysis.lottery)
    lines = [f"Lottery: pairs whose {reference} order flips on an aggregate ({counts}; {ties} are ties on {reference})"]
    pairs = sorted(analysis.lottery, key=lambda p: -p.reference_difference)
    shown = pairs if limit is None else pairs[:limit]
    if len(shown) < len(pairs):
        lines[0] += f"; the {len(shown)} with the largest {reference} gap:"
    for pair in shown:
        tie = ""
        if pair.tie_on_reference:
            tie = f"  (tie on {reference}: McNemar p={pair.pvalue:.2g})"
        elif pair.tie_on_reference is False:
            tie = f"  (significant on {reference}: p={pair.pvalue:.2g})"
        lines.append(
            f"  {pair.better_on_reference} > {pair.worse_on_reference} on {reference} "
            f"by {pair.reference_difference:.2f}, "
            f"but {pair.aggregate_difference:+.2f} on the {measure_label(analysis, pair.measure)}{tie}"
        )
    return lines


def winner_lines(analysis: Analysis) -> list[str]:
    """Who wins on the reference and on each aggregate, flagged when they differ."""
    picks = ", ".join(f"{measure_label(analysis, k)}: {'/'.join(v) or '–'}" for k, v in analysis.winners.items())
    flag = "  <- the unified scores disagree with the reference" if analysis.winners_disagree else ""
    return [f"Winners: {picks}{flag}"]


def robustness_table(analysis: Analysis, methods: Sequence[str]) -> Table:
    """Effective robustness: accuracy above the logit-linear fit on the reference, in points."""
    source = "the reference fits stored with the baselines" if analysis.stored_fits else "a fit over these methods"
    table = Table(
        title=f"Effective robustness: points above the logit-linear fit on {analysis.table.reference} ({source})",
        title_justify="left",
    )
    _method_column(table, methods)
    datasets = list(analysis.effective_robustness)
    for dataset in datasets:
        fit = analysis.robustness_fits[dataset]
        mark = " stored" if dataset in analysis.stored_fits else ""
        table.add_column(f"{dataset} (r²={_fmt(fit.r_squared)}{mark})", justify="right")
    for method in methods:
        table.add_row(method, *[f"{analysis.effective_robustness[d].get(method, float('nan')):+.2f}" for d in datasets])
    return table


def gate_lines(data: ReportInput) -> list[str]:
    """Counts of verdicts, the failures, stale baselines and missing baselines (nothing when nothing was gated)."""
    if not data.verdicts:
        return []
    by_status: dict[str, list[Verdict]] = {}
    for verdict in data.verdicts.values():
        by_status.setdefault(verdict.status, []).append(verdict)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_status.items()))
    mode = f"gate: {data.gate_mode}"
    if data.gate_mode == "significant":
        mode += f" (drop > margin and significant at alpha {data.alpha:g}, Holm over {data.family_size} cells)"
    lines = [f"{mode}; verdicts: {counts or 'none'}"]
    for status, label in (
        ("fail", "regressed"),
        ("threshold", "below threshold"),
        ("missing", "no baseline"),
        ("stale", "stale baseline (improved beyond tolerance)"),
    ):
        for verdict in sorted(by_status.get(status, []), key=lambda v: v.key):
            expected = f" vs {verdict.expected:.2f}" if verdict.expected is not None else ""
            lines.append(f"  {label}: {verdict.key} {verdict.obtained:.2f}{expected}")
    return lines


def change_table(changes: Sequence[Change]) -> Table:
    """Old -> new baselines after an update."""
    table = Table(title="Baselines updated (old -> new)", title_justify="left")
    for name in ("key", "measure", "old", "new", "delta"):
        table.add_column(name, justify="left" if name in ("key", "measure") else "right")
    for change in changes:
        delta = "new" if change.old is None else _signed(change.new - change.old)
        table.add_row(change.key, change.measure, _fmt(change.old), _fmt(change.new), delta)
    return table


def render_terminal(data: ReportInput, *, width: int, color: bool, verbosity: int = 0) -> str:
    """The report as text for the terminal (ANSI colours only when ``color``)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, 60),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )
    console.print(f"[bold]{data.title}[/bold]" if color else data.title)
    if len(data.methods) < len(data.analysis.table.methods):
        shown, total = len(data.methods), len(data.analysis.table.methods)
        console.print(f"(tables show the first {shown} of {total} methods; the JSON report has all)", markup=False)
    if verbosity < 0:
        console.print(accuracy_table(data))
        console.print(aggregate_table(data))
        for line in [*winner_lines(data.analysis), *lottery_lines(data.analysis, 5), *gate_lines(data)]:
            console.print(line, markup=False, soft_wrap=True)
    else:
        console.print(accuracy_table(data))
        console.print(rank_table(data.analysis, data.methods, intervals=verbosity > 0))
        console.print(aggregate_table(data))
        if data.analysis.correlations:
            console.print(correlation_table(data.analysis))
        if data.analysis.effective_robustness:
            console.print(robustness_table(data.analysis, data.methods))
        for line in [
            *skipped_lines(data),
            *undefined_correlations(data.analysis),
            *winner_lines(data.analysis),
            *lottery_lines(data.analysis, data.max_pairs),
            *gate_lines(data),
            *data.notes,
        ]:
            console.print(line, markup=False, soft_wrap=True)
    if data.changes:
        console.print(change_table(data.changes))
    return buffer.getvalue()


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(data: ReportInput) -> str:
    """The report as GitHub-flavoured Markdown (for files and the CI job summary)."""
    analysis, table = data.analysis, data.analysis.table
    lines = [f"## {data.title}", ""]
    if len(data.methods) < len(table.methods):
        lines += [
            f"Showing the first {len(data.methods)} of {len(table.methods)} methods; the JSON report has all.",
            "",
        ]
    rows = []
    for method in data.methods:
        row = [method] + ([_fmt(table.reported.get(method), 1)] if table.reported else [])
        for dataset in table.datasets:
            accuracy = table.accuracy(method, dataset)
            baseline = data.baselines.get(f"{method}::{dataset}")
            verdict = data.verdicts.get(f"{method}::{dataset}")
            cell = _fmt(accuracy)
            if accuracy is not None and baseline is not None:
                cell += f" ({_signed(accuracy - baseline)})"
            if data.skipped.get(f"{method}::{dataset}"):
                cell += "†"
            if verdict is not None and verdict.status in ("fail", "stale", "missing"):
                cell += {"fail": " ❌", "stale": " ⬆", "missing": " 🆕"}[verdict.status]
            row.append(cell)
        rows.append(row)
    header = (
        ["method"]
        + (["reported"] if table.reported else [])
        + [f"{d} (ref)" if d == table.reference else d for d in table.datasets]
    )
    lines += ["### Top-1 accuracy (%), change vs baseline", "", *_md_table(header, rows), ""]
    rank_rows = []
    for method in data.methods:
        row = [method]
        for dataset in table.datasets:
            rank = analysis.ranks.get(dataset, {}).get(method)
            change = analysis.rank_change.get(dataset, {}).get(method, 0.0)
            row.append(
                "·" if rank is None else (f"{rank:g}" if dataset == table.reference else f"{rank:g} {_arrow(change)}")
            )
        for measure in MEASURES:
            score = analysis.aggregates.get(method, {}).get(measure)
            rank = analysis.aggregate_ranks.get(measure, {}).get(method)
            row.append("·" if score is None else f"{score:.2f} (#{rank:g})")
        rank_rows.append(row)
    lines += [
        "### Ranks and unified scores",
        "",
        *_md_table(["method", *table.datasets, "weighted avg", "geometric mean"], rank_rows),
        "",
    ]
    corr_rows = [
        [
            d,
            *(
                f"{_fmt(v[k].estimate)} [{_fmt(v[k].low)}, {_fmt(v[k].high)}]"
                for k in ("pearson", "kendall", "spearman")
            ),
        ]
        for d, v in analysis.correlations.items()
    ]
    if corr_rows:
        lines += [
            f"### Agreement with {table.reference} across methods",
            "",
            *_md_table(["dataset", "Pearson r", "Kendall tau", "Spearman rho"], corr_rows),
            "",
        ]
    lines += [*(f"{line}  " for line in skipped_lines(data)), ""] if data.skipped else []
    lines += [*(f"{line}  " for line in winner_lines(analysis)), ""]
    lines += [*(f"{line}  " for line in lottery_lines(analysis, data.max_pairs)), ""]
    lines += [*(f"{line}  " for line in gate_lines(data)), ""]
    if data.changes:
        lines += [
            "### Baselines updated",
            "",
            *_md_table(
                ["key", "measure", "old", "new"],
                [[c.key, c.measure, _fmt(c.old), _fmt(c.new)] for c in data.changes],
            ),
            "",
        ]
    return "\n".join(lines) + "\n"


def render_json(data: ReportInput) -> dict[str, Any]:
    """The report as a JSON-safe document (schema version 1)."""
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": data.title,
        "analysis": analysis_to_dict(data.analysis),
        "baselines": dict(sorted(data.baselines.items())),
        "verdicts": {k: v.to_dict() for k, v in sorted(data.verdicts.items())},
        "gate": {"mode": data.gate_mode, "alpha": data.alpha, "family_size": data.family_size},
        "baseline_changes": [{"key": c.key, "measure": c.measure, "old": c.old, "new": c.new} for c in data.changes],
        "notes": list(data.notes),
        "skipped": dict(sorted(data.skipped.items())),
    }
