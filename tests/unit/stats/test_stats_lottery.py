from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import flip_pairs, flip_rate_of_close_pairs, kendall_tau, significant_difference


@st.composite
def two_scorings(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, float]]:
    methods = draw(st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=8, unique=True))
    grid = st.integers(0, 20).map(lambda v: v / 20)
    ref = {m: draw(grid) for m in methods}
    other = {m: draw(grid) for m in methods}
    return ref, other


@settings(max_examples=80, deadline=None)
@given(two_scorings())
def test_flip_pairs_match_brute_force(scores: tuple[dict[str, float], dict[str, float]]) -> None:
    ref, other = scores
    flips = flip_pairs(ref, other)
    expected = {
        frozenset((a, b))
        for a, b in itertools.combinations(ref, 2)
        if (ref[a] > ref[b] and other[a] < other[b]) or (ref[a] < ref[b] and other[a] > other[b])
    }
    assert {frozenset((f.better, f.worse)) for f in flips} == expected
    for f in flips:
        assert ref[f.better] > ref[f.worse]
        assert other[f.better] < other[f.worse]
        assert f.ref_difference == pytest.approx(ref[f.better] - ref[f.worse])
        assert f.other_difference == pytest.approx(other[f.better] - other[f.worse])
    assert [f.ref_difference for f in flips] == sorted((f.ref_difference for f in flips), reverse=True)
    assert flip_pairs(ref, ref) == []
    # With no ties, the number of flips is the number of discordant pairs: tau = 1 - 4 D / (n (n - 1)).
    n = len(ref)
    if n >= 2 and len(set(ref.values())) == n and len(set(other.values())) == n:
        assert kendall_tau(ref, other).estimate == pytest.approx(1 - 4 * len(flips) / (n * (n - 1)))


@settings(max_examples=80, deadline=None)
@given(two_scorings(), st.sampled_from([0.0, 0.05, 0.1, 0.3, 1.0]))
def test_flip_rate_of_close_pairs_matches_brute_force(
    scores: tuple[dict[str, float], dict[str, float]], within: float
) -> None:
    ref, other = scores
    close = [(a, b) for a, b in itertools.combinations(ref, 2) if 0 < abs(ref[a] - ref[b]) <= within]
    flips = [(a, b) for a, b in close if (ref[a] - ref[b]) * (other[a] - other[b]) < 0]
    result = flip_rate_of_close_pairs(ref, other, within)
    assert (result.pairs, result.flips, result.within) == (len(close), len(flips), within)
    if close:
        assert result.rate == pytest.approx(len(flips) / len(close))
    else:
        assert math.isnan(result.rate)


def test_flip_examples() -> None:
    ref = {"dino": 0.80, "mae": 0.78, "moco": 0.70}
    other = {"dino": 0.30, "mae": 0.35, "moco": 0.20}
    (flip,) = flip_pairs(ref, other)
    assert (flip.better, flip.worse) == ("dino", "mae")
    assert flip.ref_difference == pytest.approx(0.02)
    assert flip.other_difference == pytest.approx(-0.05)
    rate = flip_rate_of_close_pairs(ref, other, within=0.05)
    assert (rate.flips, rate.pairs, rate.rate) == (1, 1, 1.0)
    # A tie on either dataset is not a flip; a tie on the reference is not a close pair.
    assert flip_pairs({"a": 0.5, "b": 0.5}, {"a": 0.4, "b": 0.6}) == []
    assert flip_pairs({"a": 0.6, "b": 0.5}, {"a": 0.4, "b": 0.4}) == []
    assert flip_rate_of_close_pairs({"a": 0.5, "b": 0.5}, {"a": 0.4, "b": 0.6}, 0.1).pairs == 0


def test_flip_input_errors() -> None:
    with pytest.raises(StatisticsError, match="same keys"):
        flip_pairs({"a": 0.5}, {"b": 0.5})
    with pytest.raises(StatisticsError, match="finite"):
        flip_pairs({"a": float("nan")}, {"a": 0.5})
    with pytest.raises(StatisticsError, match="within"):
        flip_rate_of_close_pairs({"a": 0.5}, {"a": 0.5}, -0.1)


def test_significant_difference() -> None:
    a = np.ones(1000, dtype=bool)
    b = a.copy()
    b[:40] = False
    assert significant_difference(a, b, 0.05)
    b2 = a.copy()
    b2[:3] = False
    assert not significant_difference(a, b2, 0.05)
    assert not significant_difference(a, a, 0.05)
    with pytest.raises(StatisticsError, match="alpha"):
        significant_difference(a, b, 0.0)
