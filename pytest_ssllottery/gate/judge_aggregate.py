"""The gate for a method's unified scores (weighted average, geometric mean), and for the ranking.

An aggregate fails below the suite's absolute floor, or when it drops below its baseline by more than
``max(margin, sampling_factor x standard error)`` (``absolute``), or by more than the margin and
significantly (``significant``: a paired bootstrap over per-image baselines when every dataset has them,
else a one-sided z-test with the delta-method standard error). The ranking fails only on the suite's
optional rank thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from ..compute.records import AggregateRecord, CellRecord
from ..stats import bootstrap_aggregate_difference, geometric_mean_standard_error, weighted_average_standard_error
from ..suite.spec import GateSpec, RankingGate
from .entries import MEASURES, ROUNDING, AggregateBaseline, CellBaseline
from .sensitivity import score_detectable_drop
from .verdicts import Status, Verdict

GEOMETRIC_FLOOR = 1e-4  # accuracies below 0.01 % count as 0.01 % in the geometric mean's error and bootstrap
MIN_PAIRED_RESAMPLES = 200


@dataclass(frozen=True)
class AggregateCase:
    """One unified score to judge.

    Attributes:
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

    key: str
    measure: str
    obtained: float
    standard_error: float
    baseline: Mapping[str, Any] | None
    floor: float | None
    gate: GateSpec
    accept: str
    update: bool = False
    paired_upper: float | None = None

    @property
    def verdict_key(self) -> str:
        """``method::aggregate:measure``."""
        return f"{self.key}:{self.measure}"

    @property
    def label(self) -> str:
        """``method::aggregate weighted average``, for messages."""
        return f"{self.key} {self.measure.replace('_', ' ')}"


def _threshold(case: AggregateCase) -> Verdict | None:
    if case.floor is None or case.obtained >= case.floor:
        return None
    return Verdict(
        case.verdict_key,
        Status.THRESHOLD,
        case.obtained,
        case.floor,
        0.0,
        f"{case.label} {case.obtained:.2f}% is below the suite's threshold {case.floor:.2f}% "
        f"(gate.aggregate.{case.measure}_min); improve the model or lower the threshold in the suite",
    )


def _significant(case: AggregateCase, drop: float) -> tuple[bool, str]:
    if case.paired_upper is not None:
        return case.paired_upper < 0, f", paired bootstrap upper bound {case.paired_upper:+.2f} < 0"
    se = case.standard_error
    return bool(se > 0 and norm.sf(drop / se) <= case.gate.alpha), f", one-sided z-test at alpha {case.gate.alpha:g}"


def judge_aggregate(case: AggregateCase) -> list[Verdict]:
    """Verdicts on one aggregate score: its absolute floor (if set) and its baseline."""
    verdicts = [v for v in [_threshold(case)] if v is not None]
    if case.update:
        return [*verdicts, Verdict(case.verdict_key, Status.UPDATE, case.obtained, None, None)]
    expected = (
        case.baseline.score(case.measure)
        if isinstance(case.baseline, AggregateBaseline)
        else (case.baseline or {}).get(case.measure)
    )
    if expected is None:
        message = f"{case.label}: no baseline (obtained {case.obtained:.2f}%). To record it: {case.accept}"
        return [*verdicts, Verdict(case.verdict_key, Status.MISSING, case.obtained, None, None, message)]
    expected = float(expected)
    gate = case.gate
    detectable = round(score_detectable_drop(case.standard_error, gate), 6)
    tolerance = max(gate.margin, gate.sampling_factor * case.standard_error)
    drop = expected - case.obtained
    how = ""
    if gate.mode == "significant":
        significant, how = _significant(case, drop)
        failed = drop > gate.margin + ROUNDING and significant
    else:
        failed = drop > tolerance + ROUNDING
    if case.obtained > expected + tolerance + ROUNDING:
        message = f"{case.label} improved beyond the tolerance"
        stale = Verdict(case.verdict_key, Status.STALE, case.obtained, expected, tolerance, message, None, detectable)
        return [*verdicts, stale]
    if not failed:
        passed = Verdict(case.verdict_key, Status.PASS, case.obtained, expected, tolerance, detectable_drop=detectable)
        return [*verdicts, passed]
    message = (
        f"{case.label} regressed by {drop:.2f} points: {case.obtained:.2f}% vs baseline {expected:.2f}%, tolerance "
        f"{tolerance:.2f} = max(margin {gate.margin:.2f}, "
        f"{gate.sampling_factor:g} x standard error {case.standard_error:.2f})"
        f"{how}\nTo accept the new value: {case.accept}"
    )
    return [
        *verdicts,
        Verdict(case.verdict_key, Status.FAIL, case.obtained, expected, tolerance, message, None, detectable),
    ]


def standard_errors(record: AggregateRecord, cells: Sequence[CellRecord]) -> dict[str, float]:
    """Delta-method standard errors (points) of the record's two scores, datasets independent."""
    accuracies = np.array([c.accuracy / 100.0 for c in cells])
    counts = np.array([c.n for c in cells])
    return {
        "weighted_average": 100.0 * weighted_average_standard_error(accuracies, counts, np.array(record.weights)),
        "geometric_mean": 100.0 * geometric_mean_standard_error(accuracies, counts, floor=GEOMETRIC_FLOOR),
    }


def paired_upper_bounds(
    record: AggregateRecord,
    cells: Sequence[CellRecord],
    baselines: Mapping[str, CellBaseline | None],
    alpha: float,
    resamples: int,
) -> dict[str, float]:
    """Upper ends (points) of one-sided paired bootstrap intervals of current - baseline scores.

    Empty unless every dataset's baseline stored per-image correctness for the same images.
    """
    before: dict[str, np.ndarray] = {}
    for cell in cells:
        entry = baselines.get(cell.key)
        if entry is None or not entry.same_images(cell):
            return {}
        before[cell.dataset] = entry.correctness()
    difference = bootstrap_aggregate_difference(
        {c.dataset: c.correctness() for c in cells},
        before,
        dict(zip(record.datasets, record.weights, strict=True)),
        max(resamples, MIN_PAIRED_RESAMPLES),
        seed=0,
        confidence=1.0 - 2.0 * alpha,
        floor=GEOMETRIC_FLOOR,
    )
    return {
        "weighted_average": 100.0 * difference.weighted_average.high,
        "geometric_mean": 100.0 * difference.geometric_mean.high,
    }


def judge_ranking(
    correlations: Mapping[str, Mapping[str, Any]], lottery_pairs: int, gate: RankingGate, reference: str
) -> list[Verdict]:
    """Verdicts on the suite's optional rank thresholds (Kendall tau per dataset, number of lottery pairs)."""
    verdicts: list[Verdict] = []
    if not gate.active:
        return verdicts
    if gate.min_kendall_tau is not None:
        for dataset, values in correlations.items():
            tau = values["kendall"].estimate
            low = not tau >= gate.min_kendall_tau
            message = (
                f"Kendall tau of {dataset} against {reference} is {tau:.3f}, below the suite's "
                f"gate.ranking.min_kendall_tau = {gate.min_kendall_tau:g}"
                if low
                else ""
            )
            status = Status.THRESHOLD if low else Status.PASS
            verdicts.append(Verdict(f"ranking:kendall_tau:{dataset}", status, tau, gate.min_kendall_tau, None, message))
    if gate.max_lottery_pairs is not None:
        many = lottery_pairs > gate.max_lottery_pairs
        message = (
            f"{lottery_pairs} method pairs flip their {reference} order on an aggregate, more than "
            f"gate.ranking.max_lottery_pairs = {gate.max_lottery_pairs}"
            if many
            else ""
        )
        status = Status.THRESHOLD if many else Status.PASS
        verdicts.append(
            Verdict("ranking:lottery_pairs", status, float(lottery_pairs), float(gate.max_lottery_pairs), None, message)
        )
    return verdicts


__all__ = ["MEASURES", "AggregateCase", "judge_aggregate", "judge_ranking", "paired_upper_bounds", "standard_errors"]
