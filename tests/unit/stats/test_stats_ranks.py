from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import (
    bootstrap_aggregate_rank_intervals,
    bootstrap_rank_intervals,
    geometric_mean,
    rank_scores,
)
from pytest_ssllottery.stats.ranks import _joint_accuracy_samples


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10).map(lambda v: v / 10), min_size=0, max_size=12))
def test_rank_scores_matches_rankdata(values: list[float]) -> None:
    np.testing.assert_allclose(rank_scores(values), sps.rankdata([-v for v in values]) if values else [])
    np.testing.assert_allclose(rank_scores(values, higher_is_better=False), sps.rankdata(values) if values else [])
    assert sum(rank_scores(values)) == pytest.approx(len(values) * (len(values) + 1) / 2)


def test_rank_scores_ties_and_mapping() -> None:
    ranks = rank_scores({"dino": 0.8, "mae": 0.7, "moco": 0.7, "simclr": 0.6})
    assert ranks == {"dino": 1.0, "mae": 2.5, "moco": 2.5, "simclr": 4.0}
    np.testing.assert_array_equal(rank_scores([0.5, 0.5]), [1.5, 1.5])
    with pytest.raises(StatisticsError, match="finite"):
        rank_scores([0.5, float("nan")])


def test_joint_accuracy_samples_is_the_exact_index_bootstrap() -> None:
    # 4 images, 3 methods: enumerate all 4^4 index resamples for the exact bootstrap distribution.
    vectors = [np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool), np.array([1, 1, 1, 0], bool)]
    stacked = np.stack(vectors, axis=1)
    exact: Counter[tuple[float, ...]] = Counter()
    for idx in itertools.product(range(4), repeat=4):
        exact[tuple(stacked[list(idx)].mean(axis=0))] += 1
    samples = _joint_accuracy_samples(vectors, 40_000, np.random.default_rng(0))
    observed = Counter(tuple(row) for row in samples)
    assert set(observed) <= set(exact)
    for key, count in exact.items():
        assert observed[key] / 40_000 == pytest.approx(count / 4**4, abs=0.01)


def _brute_force_rank_samples(correct: dict[str, dict[str, np.ndarray]], dataset: str, r: int) -> np.ndarray:
    rng = np.random.default_rng(123)
    methods = sorted(correct)
    stacked = np.stack([correct[m][dataset] for m in methods], axis=1)
    idx = rng.integers(0, stacked.shape[0], size=(r, stacked.shape[0]))
    acc = stacked[idx].mean(axis=1)
    return np.asarray(sps.rankdata(-acc, axis=1))


def test_rank_intervals_match_brute_force_bootstrap() -> None:
    rng = np.random.default_rng(4)
    probabilities = {"a": 0.70, "b": 0.72, "c": 0.80, "d": 0.50}
    base = rng.random(200)
    correct = {m: {"val": base < p} for m, p in probabilities.items()}  # nested, highly correlated
    for m in correct:
        noise = rng.random(200) < 0.05
        correct[m]["val"] = correct[m]["val"] ^ noise
    ours = bootstrap_rank_intervals(correct, n_resamples=4000, seed=0)
    brute = _brute_force_rank_samples(correct, "val", 4000)
    for column, method in enumerate(sorted(correct)):
        low, high = np.quantile(brute[:, column], [0.025, 0.975])
        assert ours[method]["val"].low == pytest.approx(low, abs=0.5)
        assert ours[method]["val"].high == pytest.approx(high, abs=0.5)


def test_rank_intervals_separate_and_overlap() -> None:
    rng = np.random.default_rng(1)
    correct = {
        "strong": {"val": rng.random(5000) < 0.9},
        "weak": {"val": rng.random(5000) < 0.5},
        "twin_a": {"val": rng.random(5000) < 0.7},
    }
    correct["twin_b"] = {"val": correct["twin_a"]["val"].copy()}
    correct["twin_b"]["val"][:3] = ~correct["twin_b"]["val"][:3]
    result = bootstrap_rank_intervals(correct, n_resamples=300)
    assert (result["strong"]["val"].rank, result["strong"]["val"].low, result["strong"]["val"].high) == (1, 1, 1)
    assert (result["weak"]["val"].low, result["weak"]["val"].high) == (4, 4)
    for twin in ("twin_a", "twin_b"):
        assert result[twin]["val"].low <= 2.5 <= result[twin]["val"].high


def test_identical_methods_share_rank_in_every_resample() -> None:
    v = np.random.default_rng(0).random(100) < 0.6
    result = bootstrap_rank_intervals({"a": {"val": v}, "b": {"val": v.copy()}}, n_resamples=50)
    assert result["a"]["val"] == result["b"]["val"]
    assert (result["a"]["val"].rank, result["a"]["val"].low, result["a"]["val"].high) == (1.5, 1.5, 1.5)


@st.composite
def suites(draw: st.DrawFn) -> dict[str, dict[str, np.ndarray]]:
    n_methods = draw(st.integers(1, 5))
    datasets = draw(st.lists(st.sampled_from(["val", "r", "a"]), min_size=1, max_size=3, unique=True))
    sizes = {d: draw(st.integers(1, 80)) for d in datasets}
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return {f"m{i}": {d: rng.random(n) < rng.random() for d, n in sizes.items()} for i in range(n_methods)}


@settings(max_examples=25, deadline=None)
@given(suites(), st.integers(0, 2**16))
def test_rank_interval_properties(correct: dict[str, dict[str, np.ndarray]], seed: int) -> None:
    m = len(correct)
    result = bootstrap_rank_intervals(correct, n_resamples=100, seed=seed)
    assert result == bootstrap_rank_intervals(dict(reversed(list(correct.items()))), n_resamples=100, seed=seed)
    for method, per_dataset in result.items():
        for dataset, interval in per_dataset.items():
            assert 1 <= interval.low <= interval.high <= m
            acc = {k: float(v[dataset].mean()) for k, v in correct.items()}
            assert interval.rank == rank_scores(acc)[method]
    aggregate = bootstrap_aggregate_rank_intervals(correct, n_resamples=100, seed=seed)
    wa = rank_scores({k: np.mean(np.concatenate([v[d] for d in sorted(v)])) for k, v in correct.items()})
    gm = rank_scores({k: geometric_mean({d: float(x.mean()) for d, x in v.items()}) for k, v in correct.items()})
    for method, intervals in aggregate.items():
        assert intervals.weighted_average.rank == wa[method]
        assert intervals.geometric_mean.rank == gm[method]
        for interval in (intervals.weighted_average, intervals.geometric_mean):
            assert 1 <= interval.low <= interval.high <= m


def test_missing_dataset_ranks_the_methods_that_have_it() -> None:
    v = np.ones(10, bool)
    result = bootstrap_rank_intervals({"a": {"val": v, "r": v}, "b": {"val": ~v}}, n_resamples=10)
    assert result["a"]["r"].rank == 1
    assert "r" not in result["b"]
    with pytest.raises(StatisticsError, match="same datasets"):
        bootstrap_aggregate_rank_intervals({"a": {"val": v, "r": v}, "b": {"val": ~v}}, n_resamples=10)


def test_rank_interval_input_errors() -> None:
    with pytest.raises(StatisticsError, match="same images"):
        bootstrap_rank_intervals({"a": {"val": np.ones(3, bool)}, "b": {"val": np.ones(4, bool)}})
    with pytest.raises(StatisticsError, match="n = 0"):
        bootstrap_rank_intervals({"a": {"val": np.ones(0, bool)}})
    with pytest.raises(StatisticsError, match="empty"):
        bootstrap_rank_intervals({})
    with pytest.raises(StatisticsError, match="weights"):
        bootstrap_aggregate_rank_intervals({"a": {"val": np.ones(3, bool)}}, weights={"r": 1.0})
