"""The rank-comparison analysis of a results table (methods x datasets), run or published.

Given accuracies (percent), optional image counts and optional per-image correctness, it computes each
method's rank per dataset and its change against the reference (ImageNet val), the unified scores
(weighted average and geometric mean) and their ranks, Pearson r / Kendall tau / Spearman rho of each
dataset against the reference across methods, the "lottery" list (pairs whose reference order flips on
an aggregate, marked as ties when their reference difference is not significant), flip rates of close
pairs, effective robustness, and bootstrap intervals where per-image data exists. The report renders it;
it decides nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from ..stats import (
    Correlation,
    FlipRate,
    LogitFit,
    RankInterval,
    bootstrap_aggregate_rank_intervals,
    bootstrap_aggregates,
    bootstrap_rank_intervals,
    clopper_pearson,
    effective_robustness,
    fit_logit_linear,
    flip_rate_of_close_pairs,
    geometric_mean,
    kendall_tau,
    mcnemar_exact,
    pearson_r,
    rank_scores,
    spearman_rho,
    weighted_average,
)

MEASURES = ("weighted_average", "geometric_mean")


@dataclass(frozen=True)
class TableCell:
    """One accuracy of the table: percent, scored images if known, per-image correctness if known."""

    accuracy: float
    n: int | None = None
    correct: np.ndarray | None = None


@dataclass(frozen=True)
class ResultTable:
    """Accuracies of methods on datasets, with the reference dataset and the aggregate's datasets."""

    cells: Mapping[tuple[str, str], TableCell]
    methods: tuple[str, ...]
    datasets: tuple[str, ...]
    reference: str
    aggregate_datasets: tuple[str, ...]
    weights: Mapping[str, float] | None = None
    reported: Mapping[str, float] = field(default_factory=dict)
    weighting: str = "images"
    controls: frozenset[str] = frozenset()
    planned: tuple[str, ...] = ()

    @property
    def contenders(self) -> tuple[str, ...]:
        """The methods compared for winners, the lottery and correlations: all but the controls."""
        return tuple(m for m in self.methods if m not in self.controls)

    def missing(self) -> list[str]:
        """Planned datasets that some contender has no result on: what a partial run (``-k``, ``--lf``) lacks.

        Only suite runs plan their datasets; a published table with gaps is not a partial run (its gaps are
        warned about when it is read).
        """
        known = set(self.cells)
        return [d for d in self.planned if any((m, d) not in known for m in self.contenders) or not self.contenders]

    def accuracy(self, method: str, dataset: str) -> float | None:
        """Accuracy in percent, or None when the cell is absent."""
        cell = self.cells.get((method, dataset))
        return None if cell is None else cell.accuracy

    def column(self, dataset: str, contenders_only: bool = False) -> dict[str, float]:
        """Method -> accuracy on ``dataset`` (methods without it omitted; controls too with ``contenders_only``)."""
        return {
            m: c.accuracy
            for (m, d), c in self.cells.items()
            if d == dataset and not (contenders_only and m in self.controls)
        }


@dataclass(frozen=True)
class LotteryPair:
    """Two methods whose order on the reference flips on an aggregate."""

    better_on_reference: str
    worse_on_reference: str
    reference_difference: float
    aggregate_difference: float
    measure: str
    tie_on_reference: bool | None = None
    pvalue: float | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything the report shows, computed from a ResultTable."""

    table: ResultTable
    ranks: dict[str, dict[str, float]]
    rank_change: dict[str, dict[str, float]]
    aggregates: dict[str, dict[str, float]]
    aggregate_ranks: dict[str, dict[str, float]]
    correlations: dict[str, dict[str, Correlation]]
    lottery: list[LotteryPair]
    winners: dict[str, list[str]]
    flip_rates: dict[str, FlipRate]
    effective_robustness: dict[str, dict[str, float]]
    robustness_fits: dict[str, LogitFit]
    cell_intervals: dict[tuple[str, str], tuple[float, float]]
    rank_intervals: dict[str, dict[str, RankInterval]]
    aggregate_intervals: dict[str, dict[str, tuple[float, float]]]
    aggregate_rank_intervals: dict[str, dict[str, RankInterval]]
    close_within: float = 1.0
    stored_fits: tuple[str, ...] = ()
    fit_against: Mapping[str, str] = field(default_factory=dict)
    fit_warnings: tuple[str, ...] = ()
    floor: float | None = None

    @property
    def winners_disagree(self) -> bool:
        """Whether the reference, the weighted average and the geometric mean pick different winners."""
        picks = {tuple(v) for v in self.winners.values() if v}
        return len(picks) > 1


def aggregate_weights(table: ResultTable, method: str) -> list[float] | None:
    """A method's weights over the aggregate datasets (the table's, else image counts); None if a cell is absent."""
    weights: list[float] = []
    for dataset in table.aggregate_datasets:
        cell = table.cells.get((method, dataset))
        if cell is None:
            return None
        if table.weights is not None:
            weights.append(float(table.weights[dataset]))
        else:
            weights.append(float(cell.n) if cell.n else 1.0)
    return weights


def _aggregates(table: ResultTable, floor: float | None = None) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    for method in table.methods:
        weights = aggregate_weights(table, method)
        if weights is None or not table.aggregate_datasets:
            continue
        acc = np.array([table.cells[(method, d)].accuracy / 100.0 for d in table.aggregate_datasets])
        # rounded far below any meaningful difference, so mathematically equal scores compare equal
        result[method] = {
            "weighted_average": round(100.0 * weighted_average(acc, np.array(weights)), 9),
            "geometric_mean": round(100.0 * geometric_mean(acc, floor / 100.0 if floor else None), 9),
        }
    return result


def _winners(scores: Mapping[str, float]) -> list[str]:
    if not scores:
        return []
    best = max(scores.values())
    return sorted(m for m, v in scores.items() if v == best)


def _tie(table: ResultTable, a: str, b: str, alpha: float) -> tuple[bool | None, float | None]:
    first, second = table.cells.get((a, table.reference)), table.cells.get((b, table.reference))
    if first is None or second is None or first.correct is None or second.correct is None:
        return None, None
    if first.correct.shape != second.correct.shape:
        return None, None
    result = mcnemar_exact(first.correct, second.correct)
    return result.pvalue > alpha, result.pvalue


def _lottery(table: ResultTable, aggregates: Mapping[str, Mapping[str, float]], alpha: float) -> list[LotteryPair]:
    reference = table.column(table.reference, contenders_only=True)
    pairs: list[LotteryPair] = []
    methods = sorted(m for m in aggregates if m in reference)
    for measure in MEASURES:
        for a, b in combinations(methods, 2):
            ref_diff = reference[a] - reference[b]
            agg_diff = aggregates[a][measure] - aggregates[b][measure]
            if ref_diff == 0 or agg_diff == 0 or (ref_diff > 0) == (agg_diff > 0):
                continue
            better, worse = (a, b) if ref_diff > 0 else (b, a)
            tie, pvalue = _tie(table, better, worse, alpha)
            pairs.append(LotteryPair(better, worse, abs(ref_diff), -abs(agg_diff), measure, tie, pvalue))
    return sorted(
        pairs,
        key=lambda p: (p.measure, -p.reference_difference + 0.0, p.better_on_reference, p.worse_on_reference),
    )


def _correlations(table: ResultTable) -> dict[str, dict[str, Correlation]]:
    reference = table.column(table.reference, contenders_only=True)
    result: dict[str, dict[str, Correlation]] = {}
    for dataset in table.datasets:
        if dataset == table.reference:
            continue
        other = table.column(dataset, contenders_only=True)
        common = sorted(set(reference) & set(other))
        if len(common) < 2:
            continue
        x = [reference[m] for m in common]
        y = [other[m] for m in common]
        result[dataset] = {
            "pearson": pearson_r(x, y),
            "kendall": kendall_tau(x, y),
            "spearman": spearman_rho(x, y),
        }
    return result


@dataclass(frozen=True)
class FitOptions:
    """How effective robustness is fitted: the x-axis per dataset and which methods the fit uses.

    ``against`` maps a dataset to the column its fit uses as x (default: the reference), e.g. ImageNet-R
    against val accuracy restricted to R's 200 classes, as the robustness testbed does. ``x_range``
    restricts the fit population to methods whose x accuracy (percent) lies in it: near-chance models
    distort a logit fit (Taori et al. fit on models above a minimum accuracy). Every method still gets an
    effective robustness relative to that fit.
    """

    against: Mapping[str, str] = field(default_factory=dict)
    x_range: tuple[float, float] = (0.0, 100.0)
    min_r_squared: float = 0.7


def _robustness(
    table: ResultTable, fits: Mapping[str, LogitFit] | None, options: FitOptions
) -> tuple[dict[str, dict[str, float]], dict[str, LogitFit], list[str]]:
    values: dict[str, dict[str, float]] = {}
    used: dict[str, LogitFit] = {}
    warnings: list[str] = []
    low, high = options.x_range
    for dataset in table.datasets:
        x_column = options.against.get(dataset, table.reference)
        if dataset in (table.reference, x_column):
            continue
        x, other = table.column(x_column), table.column(dataset)
        common = sorted(set(x) & set(other))
        fit = (fits or {}).get(dataset) if x_column == table.reference else None
        if fit is None:
            population = [m for m in common if low <= x[m] <= high]
            if len(population) < 3 or len({x[m] for m in population}) < 2:
                continue
            fit = fit_logit_linear([x[m] / 100 for m in population], [other[m] / 100 for m in population])
            if fit.r_squared < options.min_r_squared:
                warnings.append(
                    f"effective robustness on {dataset}: the logit fit against {x_column} explains little "
                    f"(r² = {fit.r_squared:.2f} over {fit.n} methods); restrict the fit population "
                    "(--fit-range) or read the values with care"
                )
        used[dataset] = fit
        values[dataset] = {m: 100.0 * effective_robustness(x[m] / 100, other[m] / 100, fit) for m in common}
    return values, used, warnings


def _per_image(table: ResultTable) -> dict[str, dict[str, np.ndarray]]:
    correct: dict[str, dict[str, np.ndarray]] = {}
    for (method, dataset), cell in table.cells.items():
        if cell.correct is not None and cell.correct.size:
            correct.setdefault(method, {})[dataset] = cell.correct
    return correct


def _intervals(
    table: ResultTable, resamples: int, seed: int
) -> tuple[
    dict[str, dict[str, RankInterval]],
    dict[str, dict[str, tuple[float, float]]],
    dict[str, dict[str, RankInterval]],
]:
    correct = _per_image(table)
    if resamples < 2 or not correct:
        return {}, {}, {}
    ranks = bootstrap_rank_intervals(correct, resamples, seed)
    aggregate_intervals: dict[str, dict[str, tuple[float, float]]] = {}
    complete = {
        m: {d: v[d] for d in table.aggregate_datasets}
        for m, v in correct.items()
        if all(d in v for d in table.aggregate_datasets)
    }
    weights = None if table.weights is None else {d: float(table.weights[d]) for d in table.aggregate_datasets}
    for method, vectors in complete.items():
        boot = bootstrap_aggregates(
            vectors,
            weights if weights is not None else {d: float(v.size) for d, v in vectors.items()},
            resamples,
            seed,
        )
        aggregate_intervals[method] = {
            "weighted_average": (100 * boot.weighted_average.low, 100 * boot.weighted_average.high),
            "geometric_mean": (100 * boot.geometric_mean.low, 100 * boot.geometric_mean.high),
        }
    aggregate_ranks: dict[str, dict[str, RankInterval]] = {}
    if len(complete) >= 2 and table.aggregate_datasets:
        for method, intervals in bootstrap_aggregate_rank_intervals(complete, weights, resamples, seed).items():
            aggregate_ranks[method] = {
                "weighted_average": intervals.weighted_average,
                "geometric_mean": intervals.geometric_mean,
            }
    return ranks, aggregate_intervals, aggregate_ranks


def analyse(
    table: ResultTable,
    *,
    alpha: float = 0.05,
    close_within: float = 1.0,
    resamples: int = 0,
    seed: int = 0,
    robustness_fits: Mapping[str, LogitFit] | None = None,
    fit_options: FitOptions | None = None,
    floor: float | None = None,
) -> Analysis:
    """Run the whole rank-comparison analysis.

    Args:
        table: The results.
        alpha: Level for marking reference differences as ties (McNemar, needs per-image data).
        close_within: Pairs within this many accuracy points on the reference count as close.
        resamples: Bootstrap resamples for rank and aggregate intervals (0 = none).
        seed: Bootstrap seed.
        robustness_fits: Stored logit-space fits per dataset for effective robustness; fitted on the
            table's methods when absent.
        fit_options: The x-axis and the population of the fits made here.
        floor: Accuracy (percent) below which a dataset counts as ``floor`` in the geometric mean, so that one
            exact zero does not zero the mean (None: a zero gives a zero mean).
    """
    ranks = {d: rank_scores(table.column(d)) for d in table.datasets if table.column(d)}
    reference_ranks = ranks.get(table.reference, {})
    rank_change = {
        d: {m: reference_ranks[m] - r for m, r in per.items() if m in reference_ranks} for d, per in ranks.items()
    }
    aggregates = _aggregates(table, floor)
    aggregate_ranks = {
        measure: rank_scores({m: v[measure] for m, v in aggregates.items()}) for measure in MEASURES if aggregates
    }
    winners = {"reference": _winners(table.column(table.reference, contenders_only=True))}
    for measure in MEASURES:
        winners[measure] = _winners({m: v[measure] for m, v in aggregates.items() if m not in table.controls})
    reference = table.column(table.reference, contenders_only=True)
    flip_rates = {}
    for dataset in table.datasets:
        other = table.column(dataset, contenders_only=True)
        common = sorted(set(reference) & set(other))
        if dataset != table.reference and len(common) >= 2:
            flip_rates[dataset] = flip_rate_of_close_pairs(
                {m: reference[m] for m in common}, {m: other[m] for m in common}, close_within
            )
    fit_options = fit_options or FitOptions()
    robustness, fits, fit_warnings = _robustness(table, robustness_fits, fit_options)
    cell_intervals = {}
    for key, cell in table.cells.items():
        if cell.n:
            k = round(cell.accuracy / 100.0 * cell.n)
            low, high = clopper_pearson(min(max(k, 0), cell.n), cell.n)
            cell_intervals[key] = (100 * low, 100 * high)
    rank_intervals, aggregate_intervals, aggregate_rank_intervals = _intervals(table, resamples, seed)
    return Analysis(
        table=table,
        ranks=ranks,
        rank_change=rank_change,
        aggregates=aggregates,
        aggregate_ranks=aggregate_ranks,
        correlations=_correlations(table),
        lottery=_lottery(table, aggregates, alpha),
        winners=winners,
        flip_rates=flip_rates,
        effective_robustness=robustness,
        robustness_fits=fits,
        cell_intervals=cell_intervals,
        rank_intervals=rank_intervals,
        aggregate_intervals=aggregate_intervals,
        aggregate_rank_intervals=aggregate_rank_intervals,
        close_within=close_within,
        stored_fits=tuple(d for d in fits if robustness_fits and d in robustness_fits),
        fit_against={d: x for d, x in fit_options.against.items() if d in fits},
        fit_warnings=tuple(fit_warnings),
        floor=floor,
    )
