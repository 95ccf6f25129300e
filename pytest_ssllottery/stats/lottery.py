"""Rank flips: pairs of methods whose order on the reference dataset reverses on another dataset.

Scores are compared in the units they are given in (use fractions throughout, or points throughout).
A pair is *ordered* on a dataset when its scores differ; a *flip* is a strict reversal, so a pair
tied on either dataset is never a flip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import check_alpha, check_same_keys
from pytest_ssllottery.stats.paired import mcnemar_exact

__all__ = ["Flip", "FlipRate", "flip_pairs", "flip_rate_of_close_pairs", "significant_difference"]


@dataclass(frozen=True)
class Flip:
    """A pair whose order flips: ``better`` beats ``worse`` on the reference, loses on the other.

    Attributes:
        better: The method ahead on the reference.
        worse: The method behind on the reference.
        ref_difference: ``ref[better] - ref[worse]`` (> 0).
        other_difference: ``other[better] - other[worse]`` (< 0).
    """

    better: str
    worse: str
    ref_difference: float
    other_difference: float


@dataclass(frozen=True)
class FlipRate:
    """Flips among the pairs that are close on the reference.

    Attributes:
        flips: Number of close pairs that flip.
        pairs: Number of close pairs (``0 < |ref difference| <= within``).
        rate: ``flips / pairs``, nan when ``pairs == 0``.
        within: The closeness threshold used, in the units of the scores.
    """

    flips: int
    pairs: int
    rate: float
    within: float


def _checked_scores(ref: Mapping[str, float], other: Mapping[str, float]) -> None:
    check_same_keys(ref, other, "ref and other")
    for name, scores in (("ref", ref), ("other", other)):
        for method, value in scores.items():
            if not math.isfinite(float(value)):
                raise StatisticsError(f"{name}[{method!r}] must be a finite score, found {value!r}")


def _flips(ref: Mapping[str, float], other: Mapping[str, float]) -> list[Flip]:
    found = []
    for first, second in combinations(sorted(ref), 2):
        ref_diff = float(ref[first]) - float(ref[second])
        other_diff = float(other[first]) - float(other[second])
        if ref_diff * other_diff < 0:
            better, worse = (first, second) if ref_diff > 0 else (second, first)
            found.append(Flip(better, worse, abs(ref_diff), -abs(other_diff)))
    return found


def flip_pairs(ref: Mapping[str, float], other: Mapping[str, float]) -> list[Flip]:
    """Pairs of methods strictly ordered on both datasets, in opposite orders.

    Args:
        ref: ``method -> score`` on the reference dataset (ImageNet val).
        other: ``method -> score`` on another dataset, same methods.

    Returns:
        The flips, largest reference gap first (ties broken by method names).
    """
    _checked_scores(ref, other)
    return sorted(_flips(ref, other), key=lambda f: (-f.ref_difference, f.better, f.worse))


def flip_rate_of_close_pairs(ref: Mapping[str, float], other: Mapping[str, float], within: float) -> FlipRate:
    """Among the pairs whose reference gap is in ``(0, within]``, the fraction whose order flips.

    Pairs tied on the reference (gap 0) are excluded: they have no order to flip.

    Args:
        ref: ``method -> score`` on the reference dataset.
        other: ``method -> score`` on another dataset, same methods.
        within: Largest reference gap of a close pair, in the units of the scores (0.005 for half a
            point when scores are fractions).
    """
    _checked_scores(ref, other)
    within = float(within)
    if not (math.isfinite(within) and within >= 0):
        raise StatisticsError(f"within must be a non-negative finite gap, found {within!r}")
    close = 0
    for first, second in combinations(sorted(ref), 2):
        if 0 < abs(float(ref[first]) - float(ref[second])) <= within:
            close += 1
    flips = sum(1 for f in _flips(ref, other) if f.ref_difference <= within)
    return FlipRate(flips=flips, pairs=close, rate=flips / close if close else math.nan, within=within)


def significant_difference(a_correct: npt.ArrayLike, b_correct: npt.ArrayLike, alpha: float = 0.05) -> bool:
    """Whether two methods differ on the same images at level ``alpha`` (two-sided exact McNemar).

    ``False`` marks the pair as a statistical tie: its order (and any flip) is within noise.
    """
    return mcnemar_exact(a_correct, b_correct, "two-sided").pvalue <= check_alpha(alpha)
