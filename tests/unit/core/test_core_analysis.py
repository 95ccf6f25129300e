"""The rank-comparison analysis on random tables against brute force and scipy."""

from __future__ import annotations

import json
import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pytest_ssllottery.analysis.compare import ResultTable, TableCell, analyse
from pytest_ssllottery.report.json_report import analysis_to_dict

REFERENCE = "ref"


@st.composite
def tables(draw: st.DrawFn, *, tied: str = "none", holes: bool = True, per_image: bool = False) -> ResultTable:
    """A methods x datasets table.

    ``tied`` ("none", "reference" or "all") draws those columns from three values, so ranks tie; distinct
    inputs whose aggregates are mathematically equal arise only with "all".
    ``holes`` drops some non-reference cells.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    methods = [f"m{i}" for i in range(draw(st.integers(2, 7)))]
    datasets = [REFERENCE, "d1", "d2", "d3"][: draw(st.integers(2, 4))]
    sizes = {d: int(rng.integers(20, 400)) for d in datasets}
    aggregate = tuple(d for d in datasets if draw(st.booleans())) or (datasets[-1],)
    weights = None if draw(st.booleans()) else {d: float(rng.integers(1, 5)) for d in datasets}
    cells = {}
    for method in methods:
        for dataset in datasets:
            if holes and dataset != REFERENCE and rng.random() < 0.15:
                continue
            n = sizes[dataset]
            few = tied == "all" or (tied == "reference" and dataset == REFERENCE)
            accuracy = float(rng.choice([30.0, 45.0, 60.0])) if few else float(rng.uniform(5.0, 95.0))
            correct = None
            if per_image:
                k = round(accuracy * n / 100)
                correct = rng.permutation(np.arange(n) < k)
                accuracy = 100.0 * k / n
            counted = weights is None or draw(st.booleans())  # counts are optional when the table has weights
            cells[(method, dataset)] = TableCell(accuracy, n if counted else None, correct)
    return ResultTable(cells, tuple(methods), tuple(datasets), REFERENCE, aggregate, weights)


def brute_ranks(column: dict[str, float]) -> dict[str, float]:
    return {
        m: 1 + sum(v > x for o, v in column.items() if o != m) + 0.5 * sum(v == x for o, v in column.items() if o != m)
        for m, x in column.items()
    }


def brute_aggregates(table: ResultTable) -> dict[str, dict[str, float]]:
    result = {}
    for method in table.methods:
        cells = [table.cells.get((method, d)) for d in table.aggregate_datasets]
        if any(c is None for c in cells):
            continue
        if table.weights is not None:
            weights = [table.weights[d] for d in table.aggregate_datasets]
        else:
            weights = [c.n if c.n else 1.0 for c in cells]
        accuracies = [c.accuracy for c in cells]
        weighted = sum(w * a for w, a in zip(weights, accuracies, strict=True)) / sum(weights)
        geometric = 100.0 * math.exp(sum(math.log(a / 100.0) for a in accuracies) / len(accuracies))
        result[method] = {"weighted_average": weighted, "geometric_mean": geometric}
    return result


@settings(max_examples=30, deadline=None)
@given(tables(tied="all"))
def test_ranks_are_average_ranks_with_one_for_the_best(table: ResultTable) -> None:
    analysis = analyse(table)
    for dataset in table.datasets:
        column = table.column(dataset)
        if not column:
            assert dataset not in analysis.ranks
            continue
        assert analysis.ranks[dataset] == pytest.approx(brute_ranks(column))


@settings(max_examples=30, deadline=None)
@given(tables(tied="all"))
def test_rank_change_is_reference_rank_minus_rank(table: ResultTable) -> None:
    analysis = analyse(table)
    reference = brute_ranks(table.column(REFERENCE))
    for dataset in table.datasets:
        if not table.column(dataset):
            continue
        ranks = brute_ranks(table.column(dataset))
        assert analysis.rank_change[dataset] == pytest.approx({m: reference[m] - r for m, r in ranks.items()})
    assert set(analysis.rank_change[REFERENCE].values()) == {0.0}


@settings(max_examples=30, deadline=None)
@given(tables())
def test_aggregates_are_weighted_averages_and_geometric_means(table: ResultTable) -> None:
    analysis = analyse(table)
    expected = brute_aggregates(table)
    assert set(analysis.aggregates) == set(expected)
    for method, values in expected.items():
        assert analysis.aggregates[method] == pytest.approx(values, abs=1e-8)  # rounded to 1e-9 points
    if not expected:
        assert analysis.aggregate_ranks == {}
    for measure in ("weighted_average", "geometric_mean") if expected else ():
        scores = {m: v[measure] for m, v in expected.items()}
        assert analysis.aggregate_ranks[measure] == pytest.approx(brute_ranks(scores))


def test_aggregate_weights_default_to_the_number_of_scored_images() -> None:
    cells = {
        ("a", REFERENCE): TableCell(80.0, 100),
        ("a", "d1"): TableCell(20.0, 300),
        ("b", REFERENCE): TableCell(50.0, 100),
        ("b", "d1"): TableCell(50.0, 300),
    }
    table = ResultTable(cells, ("a", "b"), (REFERENCE, "d1"), REFERENCE, (REFERENCE, "d1"))
    analysis = analyse(table)
    assert analysis.aggregates["a"]["weighted_average"] == pytest.approx((80 * 100 + 20 * 300) / 400)
    assert analysis.aggregates["a"]["geometric_mean"] == pytest.approx(40.0)


@settings(max_examples=40, deadline=None)
@given(tables(tied="reference"))
def test_lottery_pairs_are_exactly_the_pairs_whose_order_flips_on_an_aggregate(table: ResultTable) -> None:
    analysis = analyse(table)
    reference = table.column(REFERENCE)
    aggregates = brute_aggregates(table)
    expected = set()
    for measure in ("weighted_average", "geometric_mean"):
        for a, b in combinations([m for m in aggregates if m in reference], 2):
            ref_diff = reference[a] - reference[b]
            agg_diff = aggregates[a][measure] - aggregates[b][measure]
            if ref_diff * agg_diff < 0:
                better, worse = (a, b) if ref_diff > 0 else (b, a)
                expected.add((better, worse, measure, abs(ref_diff), -abs(agg_diff)))
    found = {
        (p.better_on_reference, p.worse_on_reference, p.measure, p.reference_difference, p.aggregate_difference)
        for p in analysis.lottery
    }
    assert len(found) == len(analysis.lottery)
    assert {f[:3] for f in found} == {e[:3] for e in expected}
    for pair in expected:
        match = next(f for f in found if f[:3] == pair[:3])
        assert match[3:] == pytest.approx(pair[3:])
    assert all(p.tie_on_reference is None and p.pvalue is None for p in analysis.lottery)


@settings(max_examples=25, deadline=None)
@given(tables(per_image=True, holes=False))
def test_lottery_ties_use_a_two_sided_mcnemar_test_on_the_reference(table: ResultTable) -> None:
    analysis = analyse(table, alpha=0.05)
    for pair in analysis.lottery:
        first = table.cells[(pair.better_on_reference, REFERENCE)].correct
        second = table.cells[(pair.worse_on_reference, REFERENCE)].correct
        b, c = int(np.sum(first & ~second)), int(np.sum(~first & second))
        pvalue = 1.0 if b + c == 0 else stats.binomtest(min(b, c), b + c, 0.5).pvalue
        assert pair.pvalue == pytest.approx(pvalue, rel=1e-9)
        assert pair.tie_on_reference == (pair.pvalue > 0.05)


@settings(max_examples=30, deadline=None)
@given(tables(tied="reference"))
def test_winners_are_all_methods_sharing_the_best_score(table: ResultTable) -> None:
    analysis = analyse(table)
    aggregates = brute_aggregates(table)
    scores = {
        "reference": table.column(REFERENCE),
        "weighted_average": {m: v["weighted_average"] for m, v in aggregates.items()},
        "geometric_mean": {m: v["geometric_mean"] for m, v in aggregates.items()},
    }
    for name, values in scores.items():
        best = max(values.values()) if values else None
        assert analysis.winners[name] == sorted(m for m, v in values.items() if v == best)
    picks = {tuple(w) for w in analysis.winners.values() if w}
    assert analysis.winners_disagree == (len(picks) > 1)


def _two_method_table(ref: tuple[float, float], other: tuple[float, float]) -> ResultTable:
    cells = {
        ("a", REFERENCE): TableCell(ref[0], 100),
        ("b", REFERENCE): TableCell(ref[1], 100),
        ("a", "d1"): TableCell(other[0], 100),
        ("b", "d1"): TableCell(other[1], 100),
    }
    return ResultTable(cells, ("a", "b"), (REFERENCE, "d1"), REFERENCE, ("d1",))


def _equal_weighted_averages() -> ResultTable:
    """A published table (no counts): a (15, 75) and b (30, 60) both average exactly 45.0; b leads on the reference."""
    cells = {
        ("a", REFERENCE): TableCell(15.0),
        ("a", "d1"): TableCell(75.0),
        ("b", REFERENCE): TableCell(30.0),
        ("b", "d1"): TableCell(60.0),
    }
    return ResultTable(cells, ("a", "b"), (REFERENCE, "d1"), REFERENCE, (REFERENCE, "d1"))


def test_methods_tied_on_an_aggregate_are_not_a_lottery_pair() -> None:
    analysis = analyse(_equal_weighted_averages())
    assert [p for p in analysis.lottery if p.measure == "weighted_average"] == []
    assert analysis.winners["weighted_average"] == ["a", "b"]
    assert analysis.aggregate_ranks["weighted_average"] == {"a": 1.5, "b": 1.5}


def test_winners_disagree_when_the_aggregate_crowns_another_method() -> None:
    analysis = analyse(_two_method_table((80.0, 70.0), (40.0, 60.0)))
    assert analysis.winners == {"reference": ["a"], "weighted_average": ["b"], "geometric_mean": ["b"]}
    assert analysis.winners_disagree


def test_winners_agree_when_one_method_leads_everywhere() -> None:
    analysis = analyse(_two_method_table((80.0, 70.0), (60.0, 40.0)))
    assert not analysis.winners_disagree
    assert analysis.lottery == []


@settings(max_examples=40, deadline=None)
@given(tables())
def test_correlations_equal_scipy(table: ResultTable) -> None:
    analysis = analyse(table)
    reference = table.column(REFERENCE)
    for dataset in table.datasets[1:]:
        other = table.column(dataset)
        common = sorted(set(reference) & set(other))
        if len(common) < 2:
            assert dataset not in analysis.correlations
            continue
        if len(common) < 3:
            continue
        x, y = [reference[m] for m in common], [other[m] for m in common]
        found = analysis.correlations[dataset]
        assert found["pearson"].estimate == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
        assert found["pearson"].pvalue == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-6, abs=1e-12)
        assert found["kendall"].estimate == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
        assert found["spearman"].estimate == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert found["pearson"].n == len(common)


@settings(max_examples=30, deadline=None)
@given(tables(tied="all"), st.sampled_from([0.0, 5.0, 15.0, 100.0]))
def test_flip_rates_count_close_reference_pairs_that_reverse(table: ResultTable, within: float) -> None:
    analysis = analyse(table, close_within=within)
    reference = table.column(REFERENCE)
    for dataset in table.datasets[1:]:
        other = table.column(dataset)
        common = sorted(set(reference) & set(other))
        if len(common) < 2:
            assert dataset not in analysis.flip_rates
            continue
        close = flips = 0
        for a, b in combinations(common, 2):
            gap = reference[a] - reference[b]
            if 0 < abs(gap) <= within:
                close += 1
                flips += gap * (other[a] - other[b]) < 0
        rate = analysis.flip_rates[dataset]
        assert (rate.pairs, rate.flips, rate.within) == (close, flips, within)
        assert rate.rate == pytest.approx(flips / close) if close else math.isnan(rate.rate)


def _without_method_order(analysis_dict: dict) -> dict:
    return {k: v for k, v in analysis_dict.items() if k != "methods"}


@settings(max_examples=30, deadline=None)
@given(tables(tied="all"), st.randoms())
def test_results_do_not_depend_on_the_order_methods_are_listed(table: ResultTable, random) -> None:
    methods = list(table.methods)
    random.shuffle(methods)
    cells = {(m, d): table.cells[(m, d)] for m in methods for d in table.datasets if (m, d) in table.cells}
    shuffled = ResultTable(cells, tuple(methods), table.datasets, REFERENCE, table.aggregate_datasets, table.weights)
    assert _without_method_order(analysis_to_dict(analyse(shuffled))) == _without_method_order(
        analysis_to_dict(analyse(table))
    )


def _degenerate_table() -> ResultTable:
    cells = {}
    for i, method in enumerate(("a", "b", "c")):
        cells[(method, REFERENCE)] = TableCell(50.0, 10, np.arange(10) < 5)
        cells[(method, "flat")] = TableCell(30.0, 10)
        cells[(method, "d1")] = TableCell(20.0 + i, 10)
    return ResultTable(cells, ("a", "b", "c"), (REFERENCE, "flat", "d1"), REFERENCE, ("flat", "d1"))


def test_undefined_statistics_become_null_in_the_json_form() -> None:
    data = analysis_to_dict(analyse(_degenerate_table()))
    json.dumps(data, allow_nan=False)
    assert data["correlations"]["flat"]["pearson"]["estimate"] is None
    assert data["flip_rates"]["flat"]["rate"] is None


@settings(max_examples=20, deadline=None)
@given(tables(per_image=True, holes=False), st.sampled_from([0, 20]))
def test_analysis_to_dict_is_strict_json(table: ResultTable, resamples: int) -> None:
    data = analysis_to_dict(analyse(table, resamples=resamples, seed=1))
    json.loads(json.dumps(data, allow_nan=False))
    assert data["reference"] == REFERENCE
    assert set(data["aggregates"]) == set(brute_aggregates(table))
