from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import binomial_standard_error, clopper_pearson, sampling_tolerance, wilson


@st.composite
def counts(draw: st.DrawFn, max_n: int = 5000) -> tuple[int, int]:
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(0, n))
    return k, n


confidences = st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.995])


@settings(max_examples=80, deadline=None)
@given(counts(), confidences)
def test_clopper_pearson_matches_statsmodels(kn: tuple[int, int], confidence: float) -> None:
    k, n = kn
    lo, hi = clopper_pearson(k, n, confidence)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - confidence, method="beta")
    ref_lo = 0.0 if k == 0 else ref_lo
    ref_hi = 1.0 if k == n else ref_hi
    assert lo == pytest.approx(ref_lo, abs=1e-12)
    assert hi == pytest.approx(ref_hi, abs=1e-12)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


@settings(max_examples=80, deadline=None)
@given(counts(), confidences)
def test_wilson_matches_statsmodels(kn: tuple[int, int], confidence: float) -> None:
    k, n = kn
    lo, hi = wilson(k, n, confidence)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12)
    assert hi == pytest.approx(ref_hi, abs=1e-12)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 150), confidences)
def test_clopper_pearson_is_monotone_in_k(n: int, confidence: float) -> None:
    bounds = np.array([clopper_pearson(k, n, confidence) for k in range(n + 1)])
    assert np.all(np.diff(bounds[:, 0]) > 0)
    assert np.all(np.diff(bounds[:, 1]) > 0)


def test_clopper_pearson_edges() -> None:
    assert clopper_pearson(0, 20)[0] == 0.0
    assert clopper_pearson(20, 20)[1] == 1.0
    # k = 0: the upper bound solves (1 - p)^n = alpha / 2.
    assert clopper_pearson(0, 20, 0.95)[1] == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-12)
    lo, hi = clopper_pearson(1, 1)
    assert lo == pytest.approx(0.025)
    assert hi == 1.0


def test_wilson_edges() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0.0
    assert 0 < hi < 1
    assert wilson(10, 10)[1] == 1.0


def test_clopper_pearson_is_wider_than_wilson_at_the_centre() -> None:
    cp = clopper_pearson(500, 1000)
    wi = wilson(500, 1000)
    assert cp[0] < wi[0]
    assert cp[1] > wi[1]


@pytest.mark.parametrize("function", [clopper_pearson, wilson])
def test_interval_rejects_empty_dataset(function: object) -> None:
    assert callable(function)
    with pytest.raises(StatisticsError, match=r"n = 0 scored images"):
        function(0, 0)


@pytest.mark.parametrize("function", [clopper_pearson, wilson])
@pytest.mark.parametrize(("k", "n"), [(-1, 10), (11, 10)])
def test_interval_rejects_k_outside_range(function: object, k: int, n: int) -> None:
    assert callable(function)
    with pytest.raises(StatisticsError, match=r"must lie in \[0, n\]"):
        function(k, n)


@pytest.mark.parametrize("bad", [2.5, "3", True, None])
def test_interval_rejects_non_integer_counts(bad: object) -> None:
    with pytest.raises(StatisticsError, match="integer count"):
        clopper_pearson(bad, 10)  # type: ignore[arg-type]


def test_numpy_integer_counts_are_accepted() -> None:
    assert clopper_pearson(np.int64(3), np.int32(10)) == clopper_pearson(3, 10)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0, -0.5, math.nan])
def test_interval_rejects_bad_confidence(confidence: float) -> None:
    with pytest.raises(StatisticsError, match="confidence"):
        clopper_pearson(3, 10, confidence)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 10**6))
def test_binomial_standard_error_formula(p: float, n: int) -> None:
    se = binomial_standard_error(p, n)
    assert se == pytest.approx(math.sqrt(p * (1 - p) / n), rel=1e-12, abs=0.0)
    assert 0.0 <= se <= 0.5 / math.sqrt(n) + 1e-15


def test_binomial_standard_error_errors() -> None:
    assert binomial_standard_error(0.0, 10) == 0.0
    assert binomial_standard_error(1.0, 10) == 0.0
    with pytest.raises(StatisticsError, match="n = 0"):
        binomial_standard_error(0.5, 0)
    with pytest.raises(StatisticsError, match="divide percentages by 100"):
        binomial_standard_error(76.5, 100)


def test_sampling_tolerance() -> None:
    assert sampling_tolerance(0.76, 50_000) == pytest.approx(1.6448536 * math.sqrt(0.76 * 0.24 / 50_000))
    assert sampling_tolerance(0.76, 50_000, 0.99) > sampling_tolerance(0.76, 50_000)
    assert sampling_tolerance(0.76, 500) > sampling_tolerance(0.76, 50_000)
    assert sampling_tolerance(1.0, 10) == 0.0
    with pytest.raises(StatisticsError, match="n = 0"):
        sampling_tolerance(0.5, 0)
