"""The report's lines of text: skipped images, undefined correlations, winners, the lottery, the gate."""

from __future__ import annotations

from ..analysis.compare import MEASURES, Analysis
from ..gate.verdicts import Status, Verdict
from .model import ReportInput
from .numbers import measure_label


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


GATE_LABELS = (
    (Status.FAIL, "regressed"),
    (Status.THRESHOLD, "below threshold"),
    (Status.MISSING, "no baseline"),
    (Status.STALE, "stale baseline (improved beyond tolerance)"),
)


def gate_lines(data: ReportInput) -> list[str]:
    """Counts of verdicts, the failures, stale baselines and missing baselines (nothing when nothing was gated)."""
    if not data.verdicts:
        return []
    by_status: dict[Status, list[Verdict]] = {}
    for verdict in data.verdicts.values():
        by_status.setdefault(verdict.status, []).append(verdict)
    counts = ", ".join(f"{len(v)} {k.value}" for k, v in sorted(by_status.items()))
    mode = f"gate: {data.gate_mode}"
    if data.gate_mode == "significant":
        mode += f" (drop > margin and significant at alpha {data.alpha:g}, Holm over {data.family_size} cells)"
    lines = [f"{mode}; verdicts: {counts or 'none'}"]
    for status, label in GATE_LABELS:
        for verdict in sorted(by_status.get(status, []), key=lambda v: v.key):
            expected = f" vs {verdict.expected:.2f}" if verdict.expected is not None else ""
            lines.append(f"  {label}: {data.node_id(verdict.key)} {verdict.obtained:.2f}{expected}")
    return lines
