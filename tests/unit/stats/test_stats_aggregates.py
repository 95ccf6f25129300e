from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import (
    bootstrap_aggregate_difference,
    bootstrap_aggregates,
    geometric_mean,
    geometric_mean_standard_error,
    weighted_average,
    weighted_average_standard_error,
)

fractions = st.floats(0.0, 1.0, allow_nan=False)
accuracy_lists = st.lists(fractions, min_size=1, max_size=8)


def _correct(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    return rng.random(n) < p


# --- point aggregates -------------------------------------------------------------------------


def test_weighted_average_is_micro_accuracy_with_image_counts() -> None:
    acc = {"val": 0.8, "r": 0.3}
    n = {"val": 50_000, "r": 30_000}
    assert weighted_average(acc, n) == pytest.approx((0.8 * 50_000 + 0.3 * 30_000) / 80_000)


def test_weighted_average_aligns_mappings_by_key() -> None:
    assert weighted_average({"a": 1.0, "b": 0.0}, {"b": 3.0, "a": 1.0}) == pytest.approx(0.25)


@settings(max_examples=60, deadline=None)
@given(accuracy_lists, st.data())
def test_weighted_average_bounds_and_permutation(values: list[float], data: st.DataObject) -> None:
    weights = data.draw(st.lists(st.floats(0.01, 100.0), min_size=len(values), max_size=len(values)))
    result = weighted_average(values, weights)
    assert min(values) - 1e-12 <= result <= max(values) + 1e-12
    permutation = data.draw(st.permutations(range(len(values))))
    permuted = weighted_average([values[i] for i in permutation], [weights[i] for i in permutation])
    assert permuted == pytest.approx(result, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(accuracy_lists, st.data())
def test_geometric_mean_bounds_permutation_and_am_gm(values: list[float], data: st.DataObject) -> None:
    g = geometric_mean(values)
    assert 0.0 <= g <= 1.0
    assert g <= weighted_average(values, [1.0] * len(values)) + 1e-12
    assert min(values) - 1e-12 <= g <= max(values) + 1e-12
    permutation = data.draw(st.permutations(range(len(values))))
    assert geometric_mean([values[i] for i in permutation]) == pytest.approx(g, abs=1e-12)
    if all(v > 0 for v in values):
        assert g == pytest.approx(float(sps.gmean(values)), rel=1e-9)


def test_geometric_mean_of_a_zero_is_zero_unless_floored() -> None:
    assert geometric_mean([0.9, 0.0, 0.5]) == 0.0
    assert geometric_mean({"a": 0.9, "b": 0.0}) == 0.0
    floored = geometric_mean([0.9, 0.0, 0.5], floor=1e-4)
    assert floored == pytest.approx((0.9 * 1e-4 * 0.5) ** (1 / 3))
    assert geometric_mean([1.0, 1.0]) == 1.0


@pytest.mark.parametrize("floor", [0.0, -1.0, 1.5])
def test_geometric_mean_rejects_bad_floor(floor: float) -> None:
    with pytest.raises(StatisticsError, match="floor"):
        geometric_mean([0.5], floor=floor)


def test_aggregate_input_errors() -> None:
    with pytest.raises(StatisticsError, match="zero datasets"):
        geometric_mean([])
    with pytest.raises(StatisticsError, match="divide percentages by 100"):
        weighted_average([76.0, 80.0], [1, 1])
    with pytest.raises(StatisticsError, match="expected 2 weights"):
        weighted_average([0.7, 0.8], [1.0])
    with pytest.raises(StatisticsError, match="positive sum"):
        weighted_average([0.7, 0.8], [0.0, 0.0])
    with pytest.raises(StatisticsError, match="same keys"):
        weighted_average({"a": 0.5}, {"b": 1.0})
    with pytest.raises(StatisticsError, match="must be a mapping"):
        weighted_average({"a": 0.5}, [1.0])
    with pytest.raises(StatisticsError, match="weights are required"):
        weighted_average([0.5], None)  # type: ignore[arg-type]


# --- analytic standard errors -----------------------------------------------------------------


def test_weighted_average_standard_error_of_one_dataset_is_binomial() -> None:
    assert weighted_average_standard_error([0.7], [1000]) == pytest.approx(math.sqrt(0.7 * 0.3 / 1000))


def test_weighted_average_standard_error_formula() -> None:
    acc, n, w = np.array([0.8, 0.3, 0.5]), np.array([1000, 400, 250]), np.array([1.0, 2.0, 1.0])
    expected = math.sqrt(float(np.sum(w**2 * acc * (1 - acc) / n))) / w.sum()
    assert weighted_average_standard_error(acc, n, w) == pytest.approx(expected)
    # Default weights are the image counts.
    default = weighted_average_standard_error(acc, n)
    assert default == pytest.approx(math.sqrt(float(np.sum(n * acc * (1 - acc)))) / n.sum())


def test_geometric_mean_standard_error_matches_numeric_delta_method() -> None:
    acc, n = np.array([0.8, 0.3, 0.5]), np.array([1000.0, 400.0, 250.0])
    h = 1e-7
    gradient = np.array(
        [(geometric_mean(acc + h * np.eye(3)[i]) - geometric_mean(acc - h * np.eye(3)[i])) / (2 * h) for i in range(3)]
    )
    expected = math.sqrt(float(np.sum(gradient**2 * acc * (1 - acc) / n)))
    assert geometric_mean_standard_error(acc, n) == pytest.approx(expected, rel=1e-6)


def test_analytic_standard_errors_agree_with_bootstrap() -> None:
    rng = np.random.default_rng(3)
    correct = {"val": _correct(rng, 20_000, 0.8), "r": _correct(rng, 5_000, 0.35), "a": _correct(rng, 2_000, 0.1)}
    acc = {d: float(v.mean()) for d, v in correct.items()}
    n = {d: v.size for d, v in correct.items()}
    boot = bootstrap_aggregates(correct, n_resamples=4000, seed=1)
    assert boot.weighted_average.standard_error == pytest.approx(weighted_average_standard_error(acc, n), rel=0.08)
    assert boot.geometric_mean.standard_error == pytest.approx(geometric_mean_standard_error(acc, n), rel=0.08)


def test_geometric_mean_standard_error_at_zero_needs_floor() -> None:
    with pytest.raises(StatisticsError, match="pass floor"):
        geometric_mean_standard_error([0.0, 0.5], [10, 10])
    assert geometric_mean_standard_error([0.0, 0.5], [10, 10], floor=0.01) > 0
    assert geometric_mean_standard_error([1.0, 1.0], [10, 10]) == 0.0


def test_standard_error_rejects_empty_dataset() -> None:
    with pytest.raises(StatisticsError, match="n > 0"):
        weighted_average_standard_error([0.5, 0.5], [10, 0])


# --- bootstrap ------------------------------------------------------------------------------


def _brute_force_bootstrap(correct: dict[str, np.ndarray], n_resamples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Resample image indices explicitly (the textbook stratified bootstrap)."""
    rng = np.random.default_rng(seed)
    names = sorted(correct)
    sizes = np.array([correct[d].size for d in names], dtype=float)
    acc = np.empty((n_resamples, len(names)))
    for j, d in enumerate(names):
        idx = rng.integers(0, correct[d].size, size=(n_resamples, correct[d].size))
        acc[:, j] = correct[d][idx].mean(axis=1)
    wa = acc @ sizes / sizes.sum()
    with np.errstate(divide="ignore"):
        gm = np.exp(np.log(acc).mean(axis=1))
    return wa, gm


def test_bootstrap_matches_brute_force_index_resampling() -> None:
    rng = np.random.default_rng(7)
    correct = {"val": _correct(rng, 60, 0.7), "r": _correct(rng, 40, 0.4)}
    ours = bootstrap_aggregates(correct, n_resamples=20_000, seed=11)
    wa, gm = _brute_force_bootstrap(correct, 20_000, seed=12)
    for interval, samples in ((ours.weighted_average, wa), (ours.geometric_mean, gm)):
        low, high = np.quantile(samples, [0.025, 0.975])
        assert interval.low == pytest.approx(low, abs=0.012)
        assert interval.high == pytest.approx(high, abs=0.012)
        assert interval.standard_error == pytest.approx(np.std(samples, ddof=1), rel=0.05)


def test_single_dataset_bootstrap_interval_is_binomial_quantile() -> None:
    correct = {"val": np.array([True] * 300 + [False] * 700)}
    boot = bootstrap_aggregates(correct, n_resamples=20_000, seed=0)
    assert boot.weighted_average.estimate == 0.3
    assert boot.weighted_average.low == pytest.approx(sps.binom.ppf(0.025, 1000, 0.3) / 1000, abs=0.0021)
    assert boot.weighted_average.high == pytest.approx(sps.binom.ppf(0.975, 1000, 0.3) / 1000, abs=0.0021)
    # One dataset: both aggregates are its accuracy.
    wa, gm = boot.weighted_average, boot.geometric_mean
    assert (gm.estimate, gm.low, gm.high) == pytest.approx((wa.estimate, wa.low, wa.high), abs=1e-12)


@st.composite
def correctness_by_dataset(draw: st.DrawFn) -> dict[str, np.ndarray]:
    names = draw(
        st.lists(st.sampled_from(["val", "real", "v2", "r", "sketch", "a"]), min_size=1, max_size=4, unique=True)
    )
    out = {}
    for name in names:
        n = draw(st.integers(1, 300))
        p = draw(st.sampled_from([0.0, 0.02, 0.3, 0.5, 0.9, 1.0]))
        seed = draw(st.integers(0, 2**16))
        out[name] = np.random.default_rng(seed).random(n) < p
    return out


@settings(max_examples=40, deadline=None)
@given(correctness_by_dataset(), st.integers(0, 2**32 - 1))
def test_bootstrap_properties(correct: dict[str, np.ndarray], seed: int) -> None:
    boot = bootstrap_aggregates(correct, n_resamples=200, seed=seed)
    acc = {d: float(v.mean()) for d, v in correct.items()}
    n = {d: v.size for d, v in correct.items()}
    assert boot.weighted_average.estimate == pytest.approx(weighted_average(acc, n))
    assert boot.geometric_mean.estimate == pytest.approx(geometric_mean(acc))
    for interval in (boot.weighted_average, boot.geometric_mean):
        assert 0.0 <= interval.low <= interval.estimate + 1e-12
        assert interval.estimate - 1e-12 <= interval.high <= 1.0
    # Reproducible, and independent of the mapping's order.
    again = bootstrap_aggregates(dict(reversed(list(correct.items()))), n_resamples=200, seed=seed)
    assert again == boot


def test_bootstrap_seed_changes_result() -> None:
    rng = np.random.default_rng(0)
    correct = {"val": _correct(rng, 1000, 0.7)}
    assert bootstrap_aggregates(correct, seed=1) != bootstrap_aggregates(correct, seed=2)


def test_bootstrap_custom_weights_and_confidence() -> None:
    rng = np.random.default_rng(0)
    correct = {"val": _correct(rng, 1000, 0.7), "r": _correct(rng, 100, 0.2)}
    equal = bootstrap_aggregates(correct, weights={"val": 1.0, "r": 1.0}, n_resamples=500)
    assert equal.weighted_average.estimate == pytest.approx((correct["val"].mean() + correct["r"].mean()) / 2)
    narrow = bootstrap_aggregates(correct, n_resamples=500, confidence=0.5)
    wide = bootstrap_aggregates(correct, n_resamples=500, confidence=0.99)
    assert wide.weighted_average.low < narrow.weighted_average.low
    assert wide.weighted_average.high > narrow.weighted_average.high


def test_bootstrap_geometric_mean_with_a_zero_accuracy_dataset() -> None:
    correct = {"val": np.ones(50, dtype=bool), "a": np.zeros(20, dtype=bool)}
    boot = bootstrap_aggregates(correct, n_resamples=100)
    assert (boot.geometric_mean.estimate, boot.geometric_mean.low, boot.geometric_mean.high) == (0.0, 0.0, 0.0)
    floored = bootstrap_aggregates(correct, n_resamples=100, floor=0.01)
    assert floored.geometric_mean.estimate == pytest.approx(0.1)


def test_bootstrap_input_errors() -> None:
    with pytest.raises(StatisticsError, match="n = 0"):
        bootstrap_aggregates({"val": np.zeros(0, dtype=bool)})
    with pytest.raises(StatisticsError, match="is empty"):
        bootstrap_aggregates({})
    with pytest.raises(StatisticsError, match="booleans"):
        bootstrap_aggregates({"val": np.array([0.5, 1.0])})
    with pytest.raises(StatisticsError, match="n_resamples"):
        bootstrap_aggregates({"val": np.ones(3, dtype=bool)}, n_resamples=1)
    with pytest.raises(StatisticsError, match="same keys"):
        bootstrap_aggregates({"val": np.ones(3, dtype=bool)}, weights={"r": 1.0})


# --- paired difference ------------------------------------------------------------------------


def test_difference_of_identical_methods_is_exactly_zero() -> None:
    rng = np.random.default_rng(0)
    correct = {"val": _correct(rng, 500, 0.7), "r": _correct(rng, 200, 0.3)}
    diff = bootstrap_aggregate_difference(correct, correct, n_resamples=300)
    for interval in (diff.weighted_average, diff.geometric_mean):
        assert (interval.estimate, interval.low, interval.high, interval.standard_error) == (0.0, 0.0, 0.0, 0.0)


def test_difference_standard_error_matches_paired_formula() -> None:
    rng = np.random.default_rng(5)
    a = _correct(rng, 5000, 0.75)
    b = a.copy()
    flip = rng.random(5000) < 0.1
    b[flip] = ~b[flip]
    diff = bootstrap_aggregate_difference({"val": a}, {"val": b}, n_resamples=4000, seed=3)
    n = a.size
    n10, n01 = np.sum(a & ~b), np.sum(~a & b)
    expected_se = math.sqrt(((n10 + n01) / n - ((n10 - n01) / n) ** 2) / n)
    assert diff.weighted_average.estimate == pytest.approx(a.mean() - b.mean())
    assert diff.weighted_average.standard_error == pytest.approx(expected_se, rel=0.08)
    # The paired interval is much narrower than treating the two methods as independent.
    independent_se = math.sqrt(a.mean() * (1 - a.mean()) / n + b.mean() * (1 - b.mean()) / n)
    assert diff.weighted_average.standard_error < 0.6 * independent_se


def test_difference_matches_brute_force_paired_resampling() -> None:
    rng = np.random.default_rng(9)
    a = {"val": _correct(rng, 50, 0.7), "r": _correct(rng, 30, 0.4)}
    b = {"val": _correct(rng, 50, 0.6), "r": _correct(rng, 30, 0.5)}
    ours = bootstrap_aggregate_difference(a, b, n_resamples=20_000, seed=1)
    brng = np.random.default_rng(2)
    sizes = np.array([50.0, 30.0])
    acc_a, acc_b = np.empty((20_000, 2)), np.empty((20_000, 2))
    for j, d in enumerate(["val", "r"]):
        idx = brng.integers(0, a[d].size, size=(20_000, a[d].size))
        acc_a[:, j], acc_b[:, j] = a[d][idx].mean(axis=1), b[d][idx].mean(axis=1)
    wa = (acc_a - acc_b) @ sizes / sizes.sum()
    gm = np.exp(np.log(acc_a).mean(axis=1)) - np.exp(np.log(acc_b).mean(axis=1))
    for interval, samples in ((ours.weighted_average, wa), (ours.geometric_mean, gm)):
        low, high = np.quantile(samples, [0.025, 0.975])
        assert interval.low == pytest.approx(low, abs=0.015)
        assert interval.high == pytest.approx(high, abs=0.015)


@settings(max_examples=30, deadline=None)
@given(correctness_by_dataset(), st.integers(0, 2**16))
def test_difference_properties(a: dict[str, np.ndarray], seed: int) -> None:
    rng = np.random.default_rng(seed)
    b = {d: rng.random(v.size) < 0.5 for d, v in a.items()}
    diff = bootstrap_aggregate_difference(a, b, n_resamples=200, seed=seed)
    reverse = bootstrap_aggregate_difference(b, a, n_resamples=200, seed=seed)
    assert reverse.weighted_average.estimate == pytest.approx(-diff.weighted_average.estimate)
    for interval in (diff.weighted_average, diff.geometric_mean):
        assert -1.0 <= interval.low <= interval.estimate + 1e-12 <= interval.high + 2e-12 <= 1.0 + 2e-12
    assert bootstrap_aggregate_difference(a, b, n_resamples=200, seed=seed) == diff


def test_difference_input_errors() -> None:
    a = {"val": np.ones(5, dtype=bool)}
    with pytest.raises(StatisticsError, match="same images"):
        bootstrap_aggregate_difference(a, {"val": np.ones(6, dtype=bool)})
    with pytest.raises(StatisticsError, match="same keys"):
        bootstrap_aggregate_difference(a, {"r": np.ones(5, dtype=bool)})
