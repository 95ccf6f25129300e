from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import holm, holm_decision_bounds

alphas = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2])


@st.composite
def families(draw: st.DrawFn) -> list[float]:
    # A mix of tiny, boundary-like and large p-values, with ties.
    pool = st.one_of(
        st.floats(0.0, 1.0),
        st.floats(0.0, 0.02),
        st.sampled_from([0.0, 0.01, 0.0125, 0.025, 0.05, 1.0]),
    )
    return draw(st.lists(pool, min_size=1, max_size=30))


@settings(max_examples=40, deadline=None)
@given(families(), alphas)
def test_holm_matches_statsmodels(pvalues: list[float], alpha: float) -> None:
    ours = holm(pvalues, alpha)
    # multipletests runs a full gc.collect() on every call (50-150 ms); it does not affect the result.
    with mock.patch("gc.collect"):
        rejected, adjusted, _, _ = multipletests(pvalues, alpha=alpha, method="holm")
    np.testing.assert_array_equal(ours.rejected, rejected)
    np.testing.assert_allclose(ours.adjusted, adjusted, rtol=1e-12, atol=0)


def _brute_force_holm(pvalues: list[float], alpha: float) -> tuple[list[bool], list[float]]:
    """Holm's procedure straight from its definition, one hypothesis at a time."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    rejected = [False] * m
    for position, index in enumerate(order):
        if pvalues[index] > alpha / (m - position):
            break
        rejected[index] = True
    adjusted = [0.0] * m
    for position, index in enumerate(order):
        adjusted[index] = min(1.0, max((m - j) * pvalues[order[j]] for j in range(position + 1)))
    return rejected, adjusted


@settings(max_examples=60, deadline=None)
@given(families(), alphas)
def test_holm_matches_brute_force(pvalues: list[float], alpha: float) -> None:
    ours = holm(pvalues, alpha)
    rejected, adjusted = _brute_force_holm(pvalues, alpha)
    assert ours.rejected.tolist() == rejected
    np.testing.assert_allclose(ours.adjusted, adjusted, rtol=1e-12, atol=0)


@settings(max_examples=60, deadline=None)
@given(families(), alphas)
def test_holm_adjusted_properties(pvalues: list[float], alpha: float) -> None:
    result = holm(pvalues, alpha)
    p = np.asarray(pvalues)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(result.adjusted[order]) >= 0)
    assert np.all(result.adjusted <= 1.0)
    assert np.all(result.adjusted >= p)
    # Rejections are a prefix of the sorted p-values.
    assert not np.any(np.diff(result.rejected[order].astype(int)) > 0)


@settings(max_examples=80, deadline=None)
@given(families(), alphas)
def test_holm_decision_bounds_consistent_with_full_holm(pvalues: list[float], alpha: float) -> None:
    full = holm(pvalues, alpha)
    m = len(pvalues)
    for p, rejected in zip(pvalues, full.rejected, strict=True):
        decision = holm_decision_bounds(p, m, alpha)
        if decision == "reject":
            assert rejected
        elif decision == "accept":
            assert not rejected
        else:
            assert alpha / m < p <= alpha


def test_holm_decision_bounds_cases() -> None:
    assert holm_decision_bounds(0.01, 5, 0.05) == "reject"
    assert holm_decision_bounds(0.02, 5, 0.05) == "undetermined"
    assert holm_decision_bounds(0.05, 5, 0.05) == "undetermined"
    assert holm_decision_bounds(0.051, 5, 0.05) == "accept"
    assert holm_decision_bounds(0.05, 1, 0.05) == "reject"  # m = 1 is a single test at alpha


def test_holm_small_cases() -> None:
    result = holm([0.01, 0.04, 0.03, 0.005], 0.05)
    np.testing.assert_allclose(result.adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_array_equal(result.rejected, [True, False, False, True])
    empty = holm([], 0.05)
    assert empty.rejected.shape == empty.adjusted.shape == (0,)


def test_holm_input_errors() -> None:
    with pytest.raises(StatisticsError, match=r"\[0, 1\]"):
        holm([0.5, float("nan")])
    with pytest.raises(StatisticsError, match=r"\[0, 1\]"):
        holm([1.5])
    with pytest.raises(StatisticsError, match="alpha"):
        holm([0.5], alpha=5)
    with pytest.raises(StatisticsError, match="at least 1"):
        holm_decision_bounds(0.01, 0, 0.05)
    with pytest.raises(StatisticsError, match="p-value"):
        holm_decision_bounds(-0.1, 3, 0.05)
