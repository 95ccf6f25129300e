"""Ranks of methods on a dataset and bootstrap intervals of those ranks.

Rank 1 is the best method; tied methods share the average of the ranks they span (``2.5`` for a
tie on places 2 and 3), as ``scipy.stats.rankdata(method="average")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt
from scipy import stats

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import BoolArray, FloatArray, as_bool_vector, as_finite_array, check_confidence
from pytest_ssllottery.stats.aggregates import _check_floor, _geometric_mean_rows

__all__ = [
    "AggregateRankIntervals",
    "RankInterval",
    "bootstrap_aggregate_rank_intervals",
    "bootstrap_rank_intervals",
    "rank_scores",
]

# Largest number of multinomial cells drawn at once (resamples x joint patterns), to bound memory.
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class RankInterval:
    """Observed rank of a method and its bootstrap percentile interval (1 = best)."""

    rank: float
    low: float
    high: float


@dataclass(frozen=True)
class AggregateRankIntervals:
    """Rank intervals of one method on both aggregate scores."""

    weighted_average: RankInterval
    geometric_mean: RankInterval


@overload
def rank_scores(values: Mapping[str, float], higher_is_better: bool = True) -> dict[str, float]: ...


@overload
def rank_scores(values: Sequence[float] | npt.NDArray[np.floating], higher_is_better: bool = True) -> FloatArray: ...


def rank_scores(
    values: Mapping[str, float] | Sequence[float] | npt.NDArray[np.floating], higher_is_better: bool = True
) -> dict[str, float] | FloatArray:
    """Rank scores, 1 = best, ties sharing their average rank.

    Args:
        values: Scores as a sequence/array, or a mapping ``method -> score``.
        higher_is_better: Whether a larger score is better (accuracy) or worse (error).

    Returns:
        Ranks as floats, in the same shape as the input (a dict for a mapping).
    """
    if isinstance(values, Mapping):
        keys = list(values)
        ranks = _ranks(as_finite_array([values[k] for k in keys], "values"), higher_is_better)
        return {key: float(rank) for key, rank in zip(keys, ranks, strict=True)}
    return _ranks(as_finite_array(values, "values"), higher_is_better)


def _ranks(values: FloatArray, higher_is_better: bool) -> FloatArray:
    """Average ranks along the last axis (1 = best)."""
    if values.shape[-1] == 0:
        return values.copy()
    ranks: FloatArray = stats.rankdata(-values if higher_is_better else values, method="average", axis=-1)
    return ranks.astype(np.float64)


def _check_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 2:
        raise StatisticsError(f"n_resamples must be an integer >= 2, found {n_resamples!r}")
    return int(n_resamples)


def _joint_accuracy_samples(vectors: list[BoolArray], resamples: int, rng: np.random.Generator) -> FloatArray:
    """Accuracies of every method under a joint image bootstrap: shape ``(resamples, methods)``.

    A resample of ``n`` image indices enters the accuracies only through how many times each joint
    correctness pattern (one bit per method) is drawn, which is ``Multinomial(n, pattern
    frequencies)``; drawing those counts is the same bootstrap in distribution.
    """
    stacked = np.stack(vectors, axis=1)  # (n images, m methods)
    n = stacked.shape[0]
    patterns, counts = np.unique(stacked, axis=0, return_counts=True)
    pattern_matrix = patterns.astype(np.float64)  # (p patterns, m methods)
    pvals = counts / n
    out = np.empty((resamples, stacked.shape[1]), dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // len(counts))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        draws = rng.multinomial(n, pvals, size=stop - start).astype(np.float64)
        out[start:stop] = draws @ pattern_matrix / n
    return out


def _interval(rank: float, samples: FloatArray, confidence: float) -> RankInterval:
    half_alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [half_alpha, 1.0 - half_alpha])
    return RankInterval(rank=float(rank), low=float(low), high=float(high))


def _dataset_vectors(
    correct: Mapping[str, Mapping[str, npt.ArrayLike]], dataset: str, methods: list[str]
) -> list[BoolArray]:
    vectors = [as_bool_vector(correct[m][dataset], f"correct[{m!r}][{dataset!r}]") for m in methods]
    sizes = {v.size for v in vectors}
    if len(sizes) != 1:
        found = {m: v.size for m, v in zip(methods, vectors, strict=True)}
        raise StatisticsError(
            f"dataset {dataset!r}: every method must be scored on the same images, found lengths {found}"
        )
    if 0 in sizes:
        raise StatisticsError(f"dataset {dataset!r} has n = 0 scored images; cannot rank methods on it")
    return vectors


def bootstrap_rank_intervals(
    correct: Mapping[str, Mapping[str, npt.ArrayLike]],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, RankInterval]]:
    """Bootstrap percentile intervals of each method's rank on each dataset.

    On each dataset the same image indices are resampled for every method (they are scored on the
    same images), the accuracies recomputed and the methods re-ranked (average ranks for ties).
    Drawn as multinomial counts of the joint correctness patterns (exact, see
    ``_joint_accuracy_samples``). A dataset missing for some methods ranks the methods that have it.

    Args:
        correct: ``method -> dataset -> per-image correctness`` (bool, same images per dataset).
        n_resamples: Number of bootstrap resamples (>= 2).
        seed: Seed of ``np.random.default_rng``; datasets are drawn in sorted-name order.
        confidence: Level of the two-sided percentile intervals.

    Returns:
        ``method -> dataset -> RankInterval``.
    """
    confidence = check_confidence(confidence)
    resamples = _check_resamples(n_resamples)
    if not correct:
        raise StatisticsError("correct is empty; expected at least one method")
    rng = np.random.default_rng(seed)
    result: dict[str, dict[str, RankInterval]] = {method: {} for method in correct}
    datasets = sorted({d for per_method in correct.values() for d in per_method})
    for dataset in datasets:
        methods = sorted(m for m in correct if dataset in correct[m])
        vectors = _dataset_vectors(correct, dataset, methods)
        observed = _ranks(np.array([v.mean() for v in vectors]), True)
        sample_ranks = _ranks(_joint_accuracy_samples(vectors, resamples, rng), True)
        for column, method in enumerate(methods):
            result[method][dataset] = _interval(observed[column], sample_ranks[:, column], confidence)
    return result


def bootstrap_aggregate_rank_intervals(
    correct: Mapping[str, Mapping[str, npt.ArrayLike]],
    weights: Mapping[str, float] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    floor: float | None = None,
) -> dict[str, AggregateRankIntervals]:
    """Bootstrap intervals of each method's rank on the weighted average and on the geometric mean.

    Images are resampled within each dataset (stratified), jointly for all methods, and both
    aggregates recomputed per resample (see :mod:`pytest_ssllottery.stats.aggregates` for the
    formulas, zeros and ``floor``).

    Args:
        correct: ``method -> dataset -> correctness``; every method must have the same datasets.
        weights: ``dataset -> weight``; ``None`` means scored images per dataset.
        n_resamples: Number of bootstrap resamples (>= 2).
        seed: Seed of ``np.random.default_rng``; datasets are drawn in sorted-name order.
        confidence: Level of the two-sided percentile intervals.
        floor: Floor of the geometric mean, or ``None`` (a zero accuracy gives 0).
    """
    confidence = check_confidence(confidence)
    resamples = _check_resamples(n_resamples)
    checked_floor = _check_floor(floor)
    if not correct:
        raise StatisticsError("correct is empty; expected at least one method")
    methods = sorted(correct)
    datasets = sorted(correct[methods[0]])
    for method in methods:
        if sorted(correct[method]) != datasets:
            raise StatisticsError(
                f"every method needs the same datasets to rank aggregates; {methods[0]!r} has {datasets}, "
                f"{method!r} has {sorted(correct[method])}"
            )
    if not datasets:
        raise StatisticsError("no datasets to aggregate; expected at least one per method")
    rng = np.random.default_rng(seed)
    samples = np.empty((resamples, len(methods), len(datasets)), dtype=np.float64)
    observed = np.empty((len(methods), len(datasets)), dtype=np.float64)
    sizes = np.empty(len(datasets), dtype=np.float64)
    for column, dataset in enumerate(datasets):
        vectors = _dataset_vectors(correct, dataset, methods)
        sizes[column] = vectors[0].size
        observed[:, column] = [v.mean() for v in vectors]
        samples[:, :, column] = _joint_accuracy_samples(vectors, resamples, rng)
    if weights is None:
        w = sizes
    else:
        if set(weights) != set(datasets):
            raise StatisticsError(f"weights must have exactly the datasets {datasets}, found {sorted(weights)}")
        w = as_finite_array([weights[d] for d in datasets], "weights")
        if np.any(w < 0) or not w.sum() > 0:
            raise StatisticsError(f"weights must be non-negative with a positive sum, found {w.tolist()}")
    wa_obs = _ranks(observed @ w / w.sum(), True)
    gm_obs = _ranks(_geometric_mean_rows(observed, checked_floor), True)
    wa_samples = _ranks(samples @ w / w.sum(), True)
    gm_samples = _ranks(
        _geometric_mean_rows(samples.reshape(-1, len(datasets)), checked_floor).reshape(resamples, -1), True
    )
    return {
        method: AggregateRankIntervals(
            weighted_average=_interval(wa_obs[i], wa_samples[:, i], confidence),
            geometric_mean=_interval(gm_obs[i], gm_samples[:, i], confidence),
        )
        for i, method in enumerate(methods)
    }
