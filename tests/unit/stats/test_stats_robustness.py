from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import LOGIT_EPSILON, LogitFit, effective_robustness, fit_logit_linear, logit, sigmoid

accuracy = st.floats(0.01, 0.99)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(accuracy, accuracy), min_size=3, max_size=30))
def test_fit_matches_linregress_on_logits(pairs: list[tuple[float, float]]) -> None:
    val, variant = np.array(pairs).T
    u, v = np.log(val / (1 - val)), np.log(variant / (1 - variant))
    assume(np.ptp(u) > 1e-6 and np.ptp(v) > 1e-6)
    fit = fit_logit_linear(val, variant)
    ref = sps.linregress(u, v)
    assert fit.slope == pytest.approx(ref.slope, rel=1e-8, abs=1e-10)
    assert fit.intercept == pytest.approx(ref.intercept, rel=1e-8, abs=1e-10)
    assert fit.r_squared == pytest.approx(ref.rvalue**2, abs=1e-9)
    assert fit.n == len(pairs)
    # Residuals of the fit sum to zero in logit space.
    residuals = [logit(b) - (fit.slope * logit(a) + fit.intercept) for a, b in pairs]
    assert sum(residuals) == pytest.approx(0.0, abs=1e-8)


def test_methods_on_the_line_have_zero_effective_robustness() -> None:
    val = np.array([0.6, 0.7, 0.8, 0.85])
    variant = 1 / (1 + np.exp(-(1.3 * np.log(val / (1 - val)) - 2.0)))
    fit = fit_logit_linear(dict(zip("abcd", val, strict=True)), dict(zip("abcd", variant, strict=True)))
    assert (fit.slope, fit.intercept, fit.r_squared) == pytest.approx((1.3, -2.0, 1.0))
    for a, b in zip(val, variant, strict=True):
        assert effective_robustness(a, b, fit) == pytest.approx(0.0, abs=1e-12)
    assert effective_robustness(0.7, 0.5, (1.3, -2.0)) == pytest.approx(0.5 - sigmoid(1.3 * logit(0.7) - 2.0))
    assert effective_robustness(0.7, 0.5, fit) > 0


def test_logit_clipping_and_sigmoid() -> None:
    assert logit(0.0) == pytest.approx(math.log(LOGIT_EPSILON / (1 - LOGIT_EPSILON)))
    assert logit(1.0) == pytest.approx(-logit(0.0))
    np.testing.assert_allclose(logit(np.array([0.0, 0.5, 1.0])), [logit(0.0), 0.0, logit(1.0)])
    assert logit(0.0, epsilon=0.01) == pytest.approx(math.log(0.01 / 0.99))
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(logit(0.3)) == pytest.approx(0.3)
    assert math.isfinite(effective_robustness(1.0, 0.0, (1.0, 0.0)))


def test_fit_edge_cases() -> None:
    with pytest.raises(StatisticsError, match="at least 2"):
        fit_logit_linear([0.5], [0.5])
    with pytest.raises(StatisticsError, match="slope is undefined"):
        fit_logit_linear([0.5, 0.5], [0.4, 0.6])
    with pytest.raises(StatisticsError, match="divide percentages"):
        fit_logit_linear([76.0, 80.0], [0.4, 0.6])
    with pytest.raises(StatisticsError, match="same keys"):
        fit_logit_linear({"a": 0.5, "b": 0.6}, {"a": 0.5, "c": 0.6})
    with pytest.raises(StatisticsError, match="pair"):
        effective_robustness(0.5, 0.5, (1.0,))  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="finite"):
        effective_robustness(0.5, 0.5, (math.nan, 0.0))
    two = fit_logit_linear([0.6, 0.8], [0.3, 0.5])
    assert two.n == 2
    assert two.r_squared == pytest.approx(1.0)
    flat = fit_logit_linear([0.6, 0.8], [0.3, 0.3])
    assert flat.slope == 0.0
    assert math.isnan(flat.r_squared)
    stored = LogitFit(slope=1.0, intercept=0.0)
    assert stored.n == 0
    assert math.isnan(stored.r_squared)
