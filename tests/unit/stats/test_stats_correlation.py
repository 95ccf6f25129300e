from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import kendall_tau, pearson_r, spearman_rho


@st.composite
def score_pairs(draw: st.DrawFn, min_size: int = 3) -> tuple[list[float], list[float]]:
    n = draw(st.integers(min_size, 25))
    # Coarse grids create ties; independent or correlated y.
    x = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    noise = draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n))
    sign = draw(st.sampled_from([1, -1, 0]))
    y = [sign * xi + e for xi, e in zip(x, noise, strict=True)]
    assume(len(set(x)) > 1 and len(set(y)) > 1)
    return [v / 100 for v in x], [v / 100 for v in y]


def _pvalue_tolerance(r: float) -> float:
    # At |r| = 1 up to rounding the p-value is ill-conditioned (with n = 3, p ~ sqrt(1 - |r|)):
    # scipy may get 1e-8 where the exact answer, which we return, is 0.
    return 1e-6 if abs(r) > 1 - 1e-12 else 1e-12


def _fisher(estimate: float, se: float, confidence: float = 0.95) -> tuple[float, float]:
    z = sps.norm.isf((1 - confidence) / 2)
    return math.tanh(math.atanh(estimate) - z * se), math.tanh(math.atanh(estimate) + z * se)


@settings(max_examples=80, deadline=None)
@given(score_pairs())
def test_pearson_matches_scipy(xy: tuple[list[float], list[float]]) -> None:
    x, y = xy
    ours = pearson_r(x, y)
    ref = sps.pearsonr(x, y)
    assert ours.estimate == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-6, abs=_pvalue_tolerance(ref.statistic))
    if len(x) >= 4 and abs(ours.estimate) < 1:
        ci = ref.confidence_interval(0.95)
        assert (ours.low, ours.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        assert ours.reason is None


@settings(max_examples=80, deadline=None)
@given(score_pairs())
def test_spearman_matches_scipy_and_bonett_wright(xy: tuple[list[float], list[float]]) -> None:
    x, y = xy
    ours = spearman_rho(x, y)
    ref = sps.spearmanr(x, y)
    assert ours.estimate == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-6, abs=_pvalue_tolerance(ref.statistic))
    n = len(x)
    if n >= 4 and abs(ours.estimate) < 1:
        se = math.sqrt((1 + ours.estimate**2 / 2) / (n - 3))
        assert (ours.low, ours.high) == pytest.approx(_fisher(ours.estimate, se), abs=1e-12)


def _brute_tau_b(x: list[float], y: list[float]) -> float:
    concordant = discordant = tied_x = tied_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0:
                tied_x += 1
            if dy == 0:
                tied_y += 1
            if dx * dy > 0:
                concordant += 1
            elif dx * dy < 0:
                discordant += 1
    pairs = n * (n - 1) / 2
    return (concordant - discordant) / math.sqrt((pairs - tied_x) * (pairs - tied_y))


@settings(max_examples=80, deadline=None)
@given(score_pairs())
def test_kendall_matches_scipy_and_brute_force(xy: tuple[list[float], list[float]]) -> None:
    x, y = xy
    ours = kendall_tau(x, y)
    ref = sps.kendalltau(x, y)
    assert ours.estimate == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.estimate == pytest.approx(_brute_tau_b(x, y), abs=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    n = len(x)
    if n >= 5 and abs(ours.estimate) < 1:
        assert (ours.low, ours.high) == pytest.approx(_fisher(ours.estimate, math.sqrt(0.437 / (n - 4))), abs=1e-12)
    elif n < 5:
        assert math.isnan(ours.low)
        assert ours.reason is not None


@pytest.mark.parametrize("function", [pearson_r, spearman_rho, kendall_tau])
def test_two_methods_only(function: object) -> None:
    assert callable(function)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = function([0.7, 0.8], [0.3, 0.2])
    assert result.estimate == -1.0
    assert math.isnan(result.pvalue)
    assert math.isnan(result.low)
    assert math.isnan(result.high)
    assert result.n == 2
    assert "only 2 methods" in result.reason


@pytest.mark.parametrize("function", [pearson_r, spearman_rho, kendall_tau])
@pytest.mark.parametrize(("x", "y"), [([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]), ([0.1, 0.2, 0.3], [0.4, 0.4, 0.4])])
def test_constant_vector_is_nan_with_reason(function: object, x: list[float], y: list[float]) -> None:
    assert callable(function)
    result = function(x, y)
    assert math.isnan(result.estimate)
    assert math.isnan(result.pvalue)
    assert "constant" in result.reason


@pytest.mark.parametrize("function", [pearson_r, spearman_rho, kendall_tau])
def test_fewer_than_two_methods_is_nan(function: object) -> None:
    assert callable(function)
    for x in ([], [0.5]):
        result = function(x, x)
        assert math.isnan(result.estimate)
        assert "at least 2" in result.reason


def test_perfect_agreement_interval_degenerates() -> None:
    result = spearman_rho([0.1, 0.2, 0.3, 0.4, 0.5], [0.2, 0.3, 0.4, 0.5, 0.9])
    assert (result.estimate, result.low, result.high) == (1.0, 1.0, 1.0)
    assert result.pvalue == 0.0


def test_mappings_align_by_key() -> None:
    x = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4, "e": 0.5}
    y = {"e": 0.5, "d": 0.4, "c": 0.3, "b": 0.2, "a": 0.1}
    assert kendall_tau(x, y).estimate == 1.0
    with pytest.raises(StatisticsError, match="same keys"):
        kendall_tau(x, {"a": 0.1})
    with pytest.raises(StatisticsError, match="both be mappings"):
        kendall_tau(x, [0.1, 0.2, 0.3, 0.4, 0.5])
    with pytest.raises(StatisticsError, match="same length"):
        pearson_r([0.1, 0.2], [0.1])
    with pytest.raises(StatisticsError, match="finite"):
        pearson_r([0.1, float("inf")], [0.1, 0.2])
