"""The baseline gate for cells: one-sided, tolerance never below the sampling error, optionally significance-aware.

``absolute`` mode: a cell fails when ``accuracy < baseline - tolerance`` with
``tolerance = max(margin, sampling_factor x binomial SE of the baseline at n)``.
``significant`` mode: a cell fails only when the drop exceeds the margin AND is significant at the
suite's alpha after Holm's correction across the suite's cells (McNemar's exact test against a stored
per-image baseline on the same images, else a one-sided binomial test against the baseline accuracy).
Improvements beyond the tolerance pass and are flagged as stale baselines. Aggregates are judged in
``judge_aggregate`` and the ranking in ``judge_ranking``: all of the gate's rules live in this package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compute.records import CellRecord
from ..stats import binomial_drop_test, holm, holm_decision_bounds, mcnemar_exact
from ..suite.spec import GateSpec
from .entries import ROUNDING, CellBaseline
from .sensitivity import cell_detectable_drop
from .tolerance import Tolerance, cell_tolerance
from .verdicts import Status, Verdict


def _entry(baseline: Mapping[str, Any] | None) -> CellBaseline | None:
    if baseline is None or isinstance(baseline, CellBaseline):
        return baseline
    return CellBaseline(dict(baseline))


def drop_pvalue(record: CellRecord, baseline: Mapping[str, Any]) -> tuple[float, str]:
    """One-sided p-value that the cell is worse than its baseline, and the test used.

    McNemar's exact test when the baseline stored per-image correctness for the same images (same
    dataset fingerprint), otherwise an exact binomial test against the baseline accuracy.
    """
    entry = _entry(baseline)
    assert entry is not None
    if entry.same_images(record):
        result = mcnemar_exact(record.correctness(), entry.correctness(), alternative="less")
        return result.pvalue, f"McNemar exact (b={result.b}, c={result.c})"
    p0 = min(max(entry.accuracy / 100.0, 0.0), 1.0)
    return binomial_drop_test(record.correct, record.n, p0), "binomial (no per-image baseline on these images)"


@dataclass(frozen=True)
class CellContext:
    """What the gate needs besides the record: the baseline entry, the settings, and how to accept."""

    baseline: Mapping[str, Any] | None
    gate: GateSpec
    accept: str
    source: str
    family_size: int = 1
    family_pvalues: Callable[[], Mapping[str, float]] | None = None


def _header(record: CellRecord, expected: float, tol: Tolerance, source: str, mode: str) -> list[str]:
    criterion = (
        f"  tolerance  {tol.explain()}"
        if mode == "absolute"
        else f"  margin     {tol.margin:.2f} points (the drop must exceed it and be significant)"
    )
    return [
        f"  obtained   {record.accuracy:6.2f}%  ({record.correct}/{record.n} scored images"
        + (f", {record.skipped} unreadable skipped" if record.skipped else "")
        + ")",
        f"  expected   {expected:6.2f}%  ({source})",
        criterion,
    ]


def judge_cell(record: CellRecord, context: CellContext, update: bool = False) -> Verdict:
    """The verdict on one cell."""
    key, obtained = record.key, record.accuracy
    if update:
        return Verdict(key, Status.UPDATE, obtained, None, None, "baseline will be updated")
    baseline = _entry(context.baseline)
    if baseline is None:
        return Verdict(
            key,
            Status.MISSING,
            obtained,
            None,
            None,
            f"{key}: no baseline in {context.source} (obtained {obtained:.2f}%, {record.correct}/{record.n}).\n"
            f"To record it: {context.accept}",
        )
    expected = baseline.expected
    tol = cell_tolerance(expected, record.n, context.gate)
    lines = _header(record, expected, tol, context.source, context.gate.mode)
    detectable = round(
        cell_detectable_drop(expected, record.n, context.gate, context.family_size, _discordance(record, baseline)), 6
    )
    if obtained > expected + tol.value + ROUNDING:
        message = f"{key}: improved by {obtained - expected:.2f} points beyond the tolerance; the baseline is stale"
        return Verdict(key, Status.STALE, obtained, expected, tol.value, message, detectable_drop=detectable)
    drop = expected - obtained
    if context.gate.mode == "absolute":
        if drop <= tol.value + ROUNDING:
            return Verdict(key, Status.PASS, obtained, expected, tol.value, detectable_drop=detectable)
        message = failure_text(key, drop, lines, context.accept)
        return Verdict(key, Status.FAIL, obtained, expected, tol.value, message, detectable_drop=detectable)
    return _judge_significant(record, context, baseline, drop, lines, detectable)


def _discordance(record: CellRecord, baseline: CellBaseline) -> float | None:
    """Share of images whose correctness differs from the baseline's, in the significant gate's paired model."""
    if not baseline.same_images(record):
        return None
    return float(np.mean(record.correctness() != baseline.correctness()))


def _holm_decision(record: CellRecord, pvalue: float, context: CellContext) -> bool:
    """Whether Holm's procedure over the suite's cells rejects this cell's null (a real drop)."""
    decision = holm_decision_bounds(pvalue, max(1, context.family_size), context.gate.alpha)
    if decision != "undetermined":
        return decision == "reject"
    if context.family_pvalues is None:
        raise ValueError("the significant gate needs the family's p-values to decide this cell")
    family = dict(context.family_pvalues())
    family[record.key] = pvalue
    keys = sorted(family)
    return bool(holm([family[k] for k in keys], context.gate.alpha).rejected[keys.index(record.key)])


def _judge_significant(
    record: CellRecord, context: CellContext, baseline: CellBaseline, drop: float, lines: list[str], detectable: float
) -> Verdict:
    gate = context.gate
    pvalue, test = drop_pvalue(record, baseline)
    # only a drop beyond the margin can fail; Holm needs the whole family only when undecided
    rejected = drop > gate.margin + ROUNDING and _holm_decision(record, pvalue, context)
    lines = [
        *lines,
        f"  test       one-sided {test}: p = {pvalue:.3g}; "
        f"Holm over {context.family_size} cells at alpha {gate.alpha:g}",
    ]
    expected = baseline.expected
    if rejected:
        message = failure_text(record.key, drop, lines, context.accept)
        return Verdict(record.key, Status.FAIL, record.accuracy, expected, gate.margin, message, pvalue, detectable)
    return Verdict(
        record.key, Status.PASS, record.accuracy, expected, gate.margin, "\n".join(lines), pvalue, detectable
    )


def failure_text(key: str, drop: float, lines: list[str], accept: str) -> str:
    """The message of a failed cell: the drop, the derivation lines, and the command that accepts it."""
    return "\n".join([f"{key} regressed by {drop:.2f} points", *lines, f"To accept the new value: {accept}"])
