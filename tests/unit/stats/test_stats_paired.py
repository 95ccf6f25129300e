from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import Alternative, binomial_drop_test, mcnemar_exact, mcnemar_exact_from_counts


@st.composite
def paired_vectors(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    pa, pb, agree = draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(st.floats(0, 1))
    rng = np.random.default_rng(seed)
    a = rng.random(n) < pa
    b = np.where(rng.random(n) < agree, a, rng.random(n) < pb)
    return a, b


@settings(max_examples=80, deadline=None)
@given(paired_vectors())
def test_mcnemar_matches_statsmodels_and_binomtest(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    n10, n01 = int(np.sum(a & ~b)), int(np.sum(~a & b))
    table = [[int(np.sum(a & b)), n10], [n01, int(np.sum(~a & ~b))]]
    two = mcnemar_exact(a, b)
    reference = sm_mcnemar(table, exact=True)
    assert (two.b, two.c, two.n) == (n10, n01, a.size)
    assert two.statistic == reference.statistic
    assert two.pvalue == pytest.approx(reference.pvalue, rel=1e-12, abs=1e-300)
    assert two.difference == pytest.approx(a.mean() - b.mean())
    less, greater = mcnemar_exact(a, b, "less"), mcnemar_exact(a, b, "greater")
    if n10 + n01 > 0:
        ref_less = sps.binomtest(n10, n10 + n01, 0.5, alternative="less").pvalue
        ref_greater = sps.binomtest(n10, n10 + n01, 0.5, alternative="greater").pvalue
        assert less.pvalue == pytest.approx(ref_less, rel=1e-10, abs=1e-300)
        assert greater.pvalue == pytest.approx(ref_greater, rel=1e-10, abs=1e-300)
    assert less.statistic == greater.statistic == n10
    # The two-sided p-value is twice the smaller one-sided one (capped at 1).
    assert two.pvalue == pytest.approx(min(1.0, 2 * min(less.pvalue, greater.pvalue)), rel=1e-10, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(0, 200))
def test_mid_p_is_exact_p_minus_half_the_point_probability(b: int, c: int) -> None:
    m = b + c
    exact = mcnemar_exact_from_counts(b, c, "less")
    mid = mcnemar_exact_from_counts(b, c, "less", mid_p=True)
    if m == 0:
        assert exact.pvalue == mid.pvalue == 1.0
        return
    assert mid.pvalue == pytest.approx(exact.pvalue - 0.5 * sps.binom.pmf(b, m, 0.5), abs=1e-12)
    assert mid.pvalue <= exact.pvalue
    two_mid = mcnemar_exact_from_counts(b, c, mid_p=True)
    assert two_mid.pvalue == pytest.approx(
        min(1.0, 2 * (sps.binom.cdf(min(b, c), m, 0.5) - 0.5 * sps.binom.pmf(min(b, c), m, 0.5))), abs=1e-12
    )


def test_identical_methods_give_p_one() -> None:
    a = np.array([True, False, True, True])
    alternatives: tuple[Alternative, ...] = ("two-sided", "less", "greater")
    for alternative in alternatives:
        result = mcnemar_exact(a, a, alternative)
        assert (result.b, result.c, result.pvalue) == (0, 0, 1.0)


def test_one_sided_direction() -> None:
    a = np.array([False] * 30 + [True] * 70)  # a is wrong on 30 images where b is right
    b = np.ones(100, dtype=bool)
    assert mcnemar_exact(a, b, "less").pvalue == pytest.approx(0.5**30)
    assert mcnemar_exact(a, b, "greater").pvalue == 1.0
    assert mcnemar_exact(a, b).pvalue == pytest.approx(2 * 0.5**30)


def test_mcnemar_accepts_zero_one_integers() -> None:
    assert mcnemar_exact([1, 0, 1], [0, 0, 1]).b == 1


def test_mcnemar_input_errors() -> None:
    with pytest.raises(StatisticsError, match="n = 0"):
        mcnemar_exact(np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    with pytest.raises(StatisticsError, match="same images"):
        mcnemar_exact(np.ones(3, dtype=bool), np.ones(4, dtype=bool))
    with pytest.raises(StatisticsError, match="booleans"):
        mcnemar_exact([0.2, 1.0], [1, 0])
    with pytest.raises(StatisticsError, match="one-dimensional"):
        mcnemar_exact(np.ones((2, 2), dtype=bool), np.ones((2, 2), dtype=bool))
    with pytest.raises(StatisticsError, match="alternative"):
        mcnemar_exact([True], [False], "worse")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="non-negative"):
        mcnemar_exact_from_counts(-1, 3)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 5000), st.data(), st.floats(0.0, 1.0).filter(lambda p: p == 0 or p > 1e-12))
def test_binomial_drop_test_matches_binomtest(n: int, data: st.DataObject, p0: float) -> None:
    k = data.draw(st.integers(0, n))
    expected = sps.binomtest(k, n, p0, alternative="less").pvalue
    assert binomial_drop_test(k, n, p0) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    mid = binomial_drop_test(k, n, p0, mid_p=True)
    assert mid == pytest.approx(max(0.0, expected - 0.5 * sps.binom.pmf(k, n, p0)), abs=1e-12)


def test_binomial_drop_test_edges() -> None:
    assert binomial_drop_test(0, 10, 0.0) == 1.0
    assert binomial_drop_test(10, 10, 1.0) == 1.0
    assert binomial_drop_test(9, 10, 1.0) == 0.0
    assert binomial_drop_test(10, 10, 0.5) == 1.0
    with pytest.raises(StatisticsError, match="n = 0"):
        binomial_drop_test(0, 0, 0.5)
    with pytest.raises(StatisticsError, match="baseline_accuracy"):
        binomial_drop_test(5, 10, 76.1)
