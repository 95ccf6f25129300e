"""The headline the report opens with: the gate's result, the winners, the significant lottery pairs, gaps.

Everything a reviewer needs before the tables, coloured on a terminal; the same lines open the Markdown
job summary, and ``-qq`` prints them as one line.
"""

from __future__ import annotations

from collections import Counter

from ..analysis.compare import Analysis
from ..gate.verdicts import Status
from .model import Cell, ReportInput, Span, plain
from .numbers import fmt, measure_label

REPORT_FAILURES = 5


def partial_note(analysis: Analysis) -> str | None:
    """What a partial run (``-k``, ``--lf``, ``--deselect``) could not compute, or None for a full run."""
    table = analysis.table
    missing = table.missing()
    if not missing:
        return None
    lost = []
    if table.reference in missing:
        lost.append(f"rank changes against {table.reference}")
    if set(missing) & set(table.aggregate_datasets):
        lost.append("unified scores")
    if table.reference in missing or set(missing) & set(table.aggregate_datasets):
        lost.append("the lottery")
    if table.reference in missing:
        lost.append("correlations")
    what = ", ".join(lost) if lost else "nothing else"
    return f"partial run: {', '.join(missing)} did not run for every method; not computed: {what}"


def _counts(data: ReportInput) -> str:
    kinds = Counter("cell" if ":" not in key.replace("::", "") else "score" for key in data.verdicts)
    parts = [f"{kinds['cell']} cells"] if kinds["cell"] else []
    if kinds["score"]:
        parts.append(f"{kinds['score']} unified scores and rank checks")
    return f"{len(data.verdicts)} verdicts ({' and '.join(parts)})"


def gate_line(data: ReportInput) -> Cell | None:
    """``PASSED``/``REGRESSED``/``UPDATED`` with counts, coloured; None when nothing was gated."""
    if not data.verdicts:
        return None
    statuses = Counter(v.status for v in data.verdicts.values())
    failed = sorted((k for k, v in data.verdicts.items() if v.failed), key=data.node_id)
    details = [
        f"{statuses[s]} {label}"
        for s, label in (
            (Status.FAIL, "regressed"),
            (Status.THRESHOLD, "below a threshold"),
            (Status.MISSING, "without baseline"),
            (Status.STALE, "stale (improved)"),
        )
        if statuses[s]
    ]
    if failed:
        shown = ", ".join(data.node_id(k) for k in failed[:REPORT_FAILURES])
        more = f" and {len(failed) - REPORT_FAILURES} more" if len(failed) > REPORT_FAILURES else ""
        return (
            Span("GATE FAILED", "bold red"),
            Span(f": {', '.join(details)} of {_counts(data)}: {shown}{more}"),
        )
    if statuses[Status.UPDATE]:
        return (Span("BASELINES UPDATED", "bold cyan"), Span(f": {_counts(data)}"))
    extra = f"; {', '.join(details)}" if details else ""
    return (Span("GATE PASSED", "bold green"), Span(f": {_counts(data)}{extra}"))


def winner_line(analysis: Analysis) -> Cell:
    """Who wins on the reference and on each unified score (controls excluded), flagged when they differ."""
    table = analysis.table
    picks = []
    for key, methods in analysis.winners.items():
        label = table.reference if key == "reference" else measure_label(analysis, key)
        if key == "reference":
            value = table.accuracy(methods[0], table.reference) if methods else None
        else:
            value = analysis.aggregates.get(methods[0], {}).get(key) if methods else None
        picks.append(
            f"{label}: {'/'.join(methods) or 'not computed'}" + (f" {fmt(value)}" if value is not None else "")
        )
    spans = [Span("Winners", "bold"), Span(f" on {'; '.join(picks)}")]
    if analysis.winners_disagree:
        spans.append(Span("  <- the unified scores disagree with the reference", "bold yellow"))
    return tuple(spans)


def lottery_line(analysis: Analysis, alpha: float) -> Cell:
    """How many pairs flip, and the ones whose reference difference is significant."""
    reference = analysis.table.reference
    if not analysis.lottery:
        return (Span("Lottery", "bold"), Span(f": no pair of methods flips its {reference} order on a unified score"))
    significant = [p for p in analysis.lottery if p.tie_on_reference is False]
    pairs = len({(p.better_on_reference, p.worse_on_reference) for p in analysis.lottery})
    head = f": {pairs} pairs flip their {reference} order on a unified score"
    if any(p.tie_on_reference is not None for p in analysis.lottery):
        head += f"; {len(significant)} of them differ significantly on {reference} (McNemar p < {alpha:g})"
    spans = [Span("Lottery", "bold"), Span(head)]
    for pair in sorted(significant, key=lambda p: -abs(p.aggregate_difference))[:3]:
        spans.append(
            Span(
                f"; {pair.better_on_reference} > {pair.worse_on_reference} on {reference} by "
                f"{pair.reference_difference:.2f} but {pair.aggregate_difference:+.2f} on the "
                f"{measure_label(analysis, pair.measure)}",
                "yellow",
            )
        )
    return tuple(spans)


def headline(data: ReportInput) -> tuple[Cell, ...]:
    """The headline lines, in order: gate result, winners, lottery, partial-run note."""
    analysis = data.analysis
    lines: list[Cell] = [line for line in [gate_line(data)] if line is not None]
    note = partial_note(analysis)
    if note is None or all(m not in note for m in ("the lottery",)):
        lines.append(winner_line(analysis))
        lines.append(lottery_line(analysis, data.alpha))
    if note is not None:
        lines.append((Span("Partial run", "bold yellow"), Span(note.removeprefix("partial run"))))
    return tuple(lines)


def one_line(data: ReportInput) -> str:
    """The whole report in one line (``-qq``)."""
    parts = [plain(line) for line in headline(data)]
    return "ssl lottery: " + " | ".join(parts)
