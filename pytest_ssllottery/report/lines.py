"""The report's lines of text: skipped images, undefined correlations, winners, the lottery, the gate."""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.compare import MEASURES, Analysis, LotteryPair
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


def flip_weight(pair: LotteryPair) -> float:
    """How much a flip matters: the size of the flip per point of reference gap (close pairs that swap most)."""
    return float(abs(pair.aggregate_difference) / (pair.reference_difference + 0.1))


def lottery_lines(analysis: Analysis, limit: int | None = None, among: Sequence[str] | None = None) -> list[str]:
    """The pairs whose reference order flips on an aggregate: the closest pairs with the largest flips first.

    ``among`` restricts the list to pairs of those methods (the top of a large table), ``limit`` its length.
    """
    reference = analysis.table.reference
    if not analysis.lottery:
        return [f"No lottery: every pair keeps its {reference} order on both aggregates."]
    counts = ", ".join(
        f"{sum(p.measure == m for p in analysis.lottery)} on the {measure_label(analysis, m)}" for m in MEASURES
    )
    ties = sum(bool(p.tie_on_reference) for p in analysis.lottery)
    lines = [f"Lottery: pairs whose {reference} order flips on an aggregate ({counts}; {ties} are ties on {reference})"]
    chosen = set(among) if among is not None else None
    pairs = [
        p
        for p in analysis.lottery
        if chosen is None or (p.better_on_reference in chosen and p.worse_on_reference in chosen)
    ]
    pairs.sort(key=lambda p: (-flip_weight(p), p.better_on_reference, p.worse_on_reference, p.measure))
    shown = pairs if limit is None else pairs[:limit]
    if len(shown) < len(analysis.lottery):
        scope = f" among the {len(chosen)} methods shown" if chosen is not None else ""
        lines[0] += f"; the {len(shown)}{scope} that flip most for the smallest {reference} gap:"
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
    mode = f"gate: {data.gate.mode}"
    if data.gate.mode == "significant":
        mode += f" (drop > margin and significant at alpha {data.alpha:g}, Holm over {data.family_size} cells)"
    lines = [
        f"{mode}; verdicts: {counts or 'none'} (one per cell, one per unified score of each aggregate item, "
        "one per rank threshold: more verdicts than items)"
    ]
    for status, label in GATE_LABELS:
        for verdict in sorted(by_status.get(status, []), key=lambda v: v.key):
            expected = f" vs {verdict.expected:.2f}" if verdict.expected is not None else ""
            lines.append(f"  {label}: {data.node_id(verdict.key)} {verdict.obtained:.2f}{expected}")
    return lines


def unused_lines(data: ReportInput) -> list[str]:
    """Baseline entries for methods or datasets the suite no longer has (kept, never deleted silently)."""
    if not data.unused:
        return []
    listed = ", ".join(data.node_id(key) for key in data.unused[:10])
    more = f" and {len(data.unused) - 10} more" if len(data.unused) > 10 else ""
    return [
        f"unused baselines (not in the suite): {listed}{more}; delete them from the baseline file if the methods "
        "or datasets are gone for good"
    ]


def failure_lines(data: ReportInput) -> list[str]:
    """Each failing verdict's full message, with the command that accepts it (for the Markdown job summary)."""
    ordered = sorted(data.verdicts.items(), key=lambda kv: data.node_id(kv[0]))
    return [v.message for _, v in ordered if v.failed and v.message]
