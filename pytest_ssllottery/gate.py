"""The baseline gate: one-sided, tolerance never below the sampling error, optionally significance-aware.

``absolute`` mode: a cell fails when ``accuracy < baseline - tolerance`` with
``tolerance = max(margin, sampling_factor x binomial SE of the baseline at n)``.
``significant`` mode: a cell fails only when the drop exceeds the margin AND is significant at the
suite's alpha after Holm's correction across the suite's cells (McNemar's exact test against a stored
per-image baseline on the same images, else a one-sided binomial test against the baseline accuracy).
Improvements beyond the tolerance pass and are flagged as stale baselines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm

from .results import CellRecord, Verdict
from .spec import GateSpec
from .stats import (
    binomial_drop_test,
    binomial_standard_error,
    holm,
    holm_decision_bounds,
    mcnemar_exact,
    unpack_bits,
)

# Baselines store accuracies rounded to 4 decimals; differences below this are rounding, not change.
ROUNDING = 1e-4


def _expected_cell(baseline: Mapping[str, Any]) -> float:
    """The baseline accuracy in percent: exact from its counts when they agree with the stored (rounded) value.

    A hand-edited ``accuracy`` that no longer matches ``correct / n`` wins over the counts.
    """
    stored = float(baseline["accuracy"])
    correct, n = baseline.get("correct"), baseline.get("n")
    if isinstance(correct, int) and isinstance(n, int) and n > 0 and abs(100.0 * correct / n - stored) <= ROUNDING:
        return 100.0 * correct / n
    return stored


@dataclass(frozen=True)
class Tolerance:
    """How far below its baseline a value may fall, in accuracy points, and why."""

    margin: float
    sampling: float
    factor: float
    n: int

    @property
    def value(self) -> float:
        """The tolerance: the larger of the margin and the scaled sampling error."""
        return max(self.margin, self.sampling)

    def explain(self) -> str:
        """Human-readable derivation."""
        return (
            f"{self.value:.2f} points = max(margin {self.margin:.2f}, {self.factor:g} x standard error "
            f"{self.sampling / self.factor if self.factor else 0.0:.2f} at n={self.n})"
        )


def cell_tolerance(baseline_percent: float, n: int, gate: GateSpec) -> Tolerance:
    """Tolerance of a cell: the baseline's binomial sampling error at this n, scaled, or the margin."""
    p = min(max(baseline_percent / 100.0, 0.0), 1.0)
    se = 100.0 * binomial_standard_error(p, n) if n > 0 else math.inf
    return Tolerance(gate.margin, gate.sampling_factor * se, gate.sampling_factor, n)


def drop_pvalue(record: CellRecord, baseline: Mapping[str, Any]) -> tuple[float, str]:
    """One-sided p-value that the cell is worse than its baseline, and the test used.

    McNemar's exact test when the baseline stored per-image correctness for the same images (same
    dataset fingerprint), otherwise an exact binomial test against the baseline accuracy.
    """
    stored = baseline.get("per_sample") or {}
    if (
        stored.get("bits")
        and baseline.get("dataset_fingerprint") == record.fingerprint
        and baseline.get("n") == record.n
    ):
        before = unpack_bits(str(stored["bits"]), record.n)
        result = mcnemar_exact(record.correctness(), before, alternative="less")
        return result.pvalue, f"McNemar exact (b={result.b}, c={result.c})"
    p0 = min(max(float(baseline["accuracy"]) / 100.0, 0.0), 1.0)
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
        return Verdict(key, "update", obtained, None, None, "baseline will be updated")
    if context.baseline is None:
        return Verdict(
            key,
            "missing",
            obtained,
            None,
            None,
            f"{key}: no baseline in {context.source} (obtained {obtained:.2f}%, {record.correct}/{record.n}).\n"
            f"To record it: {context.accept}",
        )
    expected = _expected_cell(context.baseline)
    tol = cell_tolerance(expected, record.n, context.gate)
    lines = _header(record, expected, tol, context.source, context.gate.mode)
    if obtained > expected + tol.value + ROUNDING:
        return Verdict(
            key,
            "stale",
            obtained,
            expected,
            tol.value,
            f"{key}: improved by {obtained - expected:.2f} points beyond the tolerance; the baseline is stale",
        )
    drop = expected - obtained
    if context.gate.mode == "absolute":
        if drop <= tol.value + ROUNDING:
            return Verdict(key, "pass", obtained, expected, tol.value)
        return Verdict(key, "fail", obtained, expected, tol.value, _failure(key, drop, lines, context.accept))
    return _judge_significant(record, context, expected, drop, lines)


def _judge_significant(
    record: CellRecord, context: CellContext, expected: float, drop: float, lines: list[str]
) -> Verdict:
    gate = context.gate
    assert context.baseline is not None
    pvalue, test = drop_pvalue(record, context.baseline)
    decision = "accept"
    if drop > gate.margin + ROUNDING:  # only then can the cell fail; Holm needs the whole family only when undecided
        decision = holm_decision_bounds(pvalue, max(1, context.family_size), gate.alpha)
        if decision == "undetermined":
            if context.family_pvalues is None:
                raise ValueError("the significant gate needs the family's p-values to decide this cell")
            family = dict(context.family_pvalues())
            family[record.key] = pvalue
            keys = sorted(family)
            rejected = holm([family[k] for k in keys], gate.alpha).rejected
            decision = "reject" if rejected[keys.index(record.key)] else "accept"
    lines = [
        *lines,
        f"  test       one-sided {test}: p = {pvalue:.3g}; "
        f"Holm over {context.family_size} cells at alpha {gate.alpha:g}",
    ]
    tolerance = gate.margin
    if decision == "reject":
        return Verdict(
            record.key,
            "fail",
            record.accuracy,
            expected,
            tolerance,
            _failure(record.key, drop, lines, context.accept),
            pvalue,
        )
    return Verdict(record.key, "pass", record.accuracy, expected, tolerance, "\n".join(lines), pvalue)


def _failure(key: str, drop: float, lines: list[str], accept: str) -> str:
    return "\n".join([f"{key} regressed by {drop:.2f} points", *lines, f"To accept the new value: {accept}"])


def judge_aggregate(
    key: str,
    measure: str,
    obtained: float,
    standard_error: float,
    baseline: Mapping[str, Any] | None,
    floor: float | None,
    gate: GateSpec,
    accept: str,
    update: bool = False,
    paired_upper: float | None = None,
) -> list[Verdict]:
    """Verdicts on one aggregate score: its absolute floor (if set) and its baseline.

    Args:
        key: ``method::aggregate``.
        measure: ``weighted_average`` or ``geometric_mean``.
        obtained: The score in percent.
        standard_error: Its sampling standard error in points (delta method).
        baseline: The method's stored aggregate entry.
        floor: Absolute threshold from the suite, in percent.
        gate: Gate settings.
        accept: Command that accepts new values.
        update: Whether baselines are being updated (comparison skipped; floors still apply).
        paired_upper: In ``significant`` mode, the upper end of the one-sided (1 - alpha) paired bootstrap
            interval of (current - baseline) in points, when per-image baselines exist for every dataset; a
            drop is significant when it is below 0. Without it, a one-sided z-test with ``standard_error``.
    """
    label = f"{key} {measure.replace('_', ' ')}"
    verdicts: list[Verdict] = []
    if floor is not None and obtained < floor:
        verdicts.append(
            Verdict(
                f"{key}:{measure}",
                "threshold",
                obtained,
                floor,
                0.0,
                f"{label} {obtained:.2f}% is below the suite's threshold {floor:.2f}% "
                f"(gate.aggregate.{measure}_min); improve the model or lower the threshold in the suite",
            )
        )
    if update:
        verdicts.append(Verdict(f"{key}:{measure}", "update", obtained, None, None))
        return verdicts
    if baseline is None or measure not in baseline:
        verdicts.append(
            Verdict(
                f"{key}:{measure}",
                "missing",
                obtained,
                None,
                None,
                f"{label}: no baseline (obtained {obtained:.2f}%). To record it: {accept}",
            )
        )
        return verdicts
    expected = float(baseline[measure])
    sampling = gate.sampling_factor * standard_error
    tolerance = max(gate.margin, sampling)
    drop = expected - obtained
    if gate.mode == "significant":
        if paired_upper is not None:
            significant = paired_upper < 0
            how = f", paired bootstrap upper bound {paired_upper:+.2f} < 0"
        else:
            significant = standard_error > 0 and norm.sf(drop / standard_error) <= gate.alpha
            how = f", one-sided z-test at alpha {gate.alpha:g}"
        failed = drop > gate.margin + ROUNDING and bool(significant)
    else:
        failed = drop > tolerance + ROUNDING
    if obtained > expected + tolerance + ROUNDING:
        verdicts.append(
            Verdict(
                f"{key}:{measure}",
                "stale",
                obtained,
                expected,
                tolerance,
                f"{label} improved beyond the tolerance",
            )
        )
    elif failed:
        verdicts.append(
            Verdict(
                f"{key}:{measure}",
                "fail",
                obtained,
                expected,
                tolerance,
                f"{label} regressed by {drop:.2f} points: {obtained:.2f}% vs baseline {expected:.2f}%, tolerance "
                f"{tolerance:.2f} = max(margin {gate.margin:.2f}, "
                f"{gate.sampling_factor:g} x standard error {standard_error:.2f})"
                + (how if gate.mode == "significant" else "")
                + f"\nTo accept the new value: {accept}",
            )
        )
    else:
        verdicts.append(Verdict(f"{key}:{measure}", "pass", obtained, expected, tolerance))
    return verdicts
