"""The detectable drop and power formulas against simulations of the gate's own tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_ssllottery.stats import (
    binomial_drop_test,
    detectable_drop_absolute,
    detectable_drop_score,
    detectable_drop_significant,
    power_absolute,
    power_significant,
)
from pytest_ssllottery.stats.paired import mcnemar_exact_from_counts

SIMULATIONS = 2000


def _absolute_failure_rate(p: float, n: int, drop: float, tolerance: float, rng: np.random.Generator) -> float:
    correct = rng.binomial(n, p - drop / 100.0, size=SIMULATIONS)
    return float(np.mean(100.0 * p - 100.0 * correct / n > tolerance))


@pytest.mark.parametrize(("p", "n", "tolerance"), [(0.5, 10_000, 1.0), (0.8, 600, 3.27), (0.1, 7_500, 0.69)])
def test_absolute_gate_fails_the_detectable_drop_80_percent_of_the_time(p: float, n: int, tolerance: float) -> None:
    drop = detectable_drop_absolute(p, n, tolerance)
    rate = _absolute_failure_rate(p, n, drop, tolerance, np.random.default_rng(0))
    assert rate == pytest.approx(0.8, abs=0.04)
    assert power_absolute(drop, p, n, tolerance) == pytest.approx(0.8, abs=1e-9)


def test_absolute_power_grows_with_the_drop_and_is_half_at_the_tolerance() -> None:
    powers = [power_absolute(d, 0.6, 2_000, 1.5) for d in (0.5, 1.5, 3.0, 6.0)]
    assert powers == sorted(powers)
    assert powers[1] == pytest.approx(0.5)
    assert powers[-1] > 0.99


def test_paired_significant_drop_matches_a_simulated_mcnemar_gate() -> None:
    """Discordance d: images flip both ways at d/2 each; a drop adds right -> wrong flips; one-sided exact test."""
    n, d, alpha, family = 5_000, 0.06, 0.05, 4
    drop = detectable_drop_significant(0.7, n, 0.0, alpha, family, discordance=d)
    rng = np.random.default_rng(1)
    shares = [d / 2 + drop / 100.0, d / 2, 1 - d - drop / 100.0]  # now wrong, now right, unchanged
    counts = rng.multinomial(n, shares, size=SIMULATIONS)
    level = alpha / family
    caught = [mcnemar_exact_from_counts(int(c[1]), int(c[0]), alternative="less").pvalue < level for c in counts]
    assert float(np.mean(caught)) == pytest.approx(0.8, abs=0.06)
    assert power_significant(drop, 0.7, n, 0.0, alpha, family, discordance=d) == pytest.approx(0.8, abs=0.02)


def test_unpaired_significant_drop_matches_a_simulated_binomial_gate() -> None:
    p, n, alpha = 0.4, 3_000, 0.05
    drop = detectable_drop_significant(p, n, 0.0, alpha)
    correct = np.random.default_rng(2).binomial(n, p - drop / 100.0, size=SIMULATIONS)
    caught = [binomial_drop_test(int(k), n, p) < alpha for k in correct]
    assert float(np.mean(caught)) == pytest.approx(0.8, abs=0.05)


def test_significant_gate_never_sees_below_its_margin() -> None:
    assert detectable_drop_significant(0.5, 1_000_000, 2.0, 0.05) == 2.0
    assert power_significant(1.9, 0.5, 1_000_000, 2.0, 0.05) == 0.0


def test_more_cells_in_the_holm_family_need_a_bigger_drop() -> None:
    one = detectable_drop_significant(0.5, 10_000, 0.0, 0.05, family=1)
    many = detectable_drop_significant(0.5, 10_000, 0.0, 0.05, family=72)
    assert many > one


def test_less_discordance_makes_the_paired_gate_sharper() -> None:
    calm = detectable_drop_significant(0.5, 10_000, 0.0, 0.05, discordance=0.01)
    noisy = detectable_drop_significant(0.5, 10_000, 0.0, 0.05, discordance=0.2)
    unpaired = detectable_drop_significant(0.5, 10_000, 0.0, 0.05)
    assert calm < noisy < unpaired


def test_no_images_means_nothing_is_detectable() -> None:
    assert detectable_drop_absolute(0.5, 0, 1.0) == math.inf
    assert detectable_drop_significant(0.5, 0, 1.0, 0.05) == math.inf
    assert power_absolute(5.0, 0.5, 0, 1.0) == 0.0


def test_score_drop_under_each_gate() -> None:
    absolute = detectable_drop_score(0.3, margin=1.0, sampling_factor=2.0, mode="absolute", alpha=0.05)
    assert absolute == pytest.approx(1.0 + 0.8416212335729143 * 0.3)
    significant = detectable_drop_score(0.3, margin=0.0, sampling_factor=2.0, mode="significant", alpha=0.05)
    assert significant == pytest.approx((1.6448536269514722 + 0.8416212335729143) * 0.3)
