"""Pure statistics of the plugin (numpy and scipy only, no torch, no pytest).

Accuracies are fractions in [0, 1] unless a function says otherwise. See ``docs/statistics.md``.
"""

from __future__ import annotations

from pytest_ssllottery.stats.aggregates import (
    AggregateBootstrap,
    BootstrapInterval,
    bootstrap_aggregate_difference,
    bootstrap_aggregates,
    geometric_mean,
    geometric_mean_standard_error,
    unified_scores,
    weighted_average,
    weighted_average_standard_error,
)
from pytest_ssllottery.stats.bits import pack_bits, unpack_bits
from pytest_ssllottery.stats.correlation import Correlation, kendall_tau, pearson_r, spearman_rho
from pytest_ssllottery.stats.intervals import binomial_standard_error, clopper_pearson, sampling_tolerance, wilson
from pytest_ssllottery.stats.lottery import Flip, FlipRate, flip_pairs, flip_rate_of_close_pairs, significant_difference
from pytest_ssllottery.stats.multiple import HolmDecision, HolmResult, holm, holm_decision_bounds
from pytest_ssllottery.stats.paired import (
    Alternative,
    McNemarResult,
    binomial_drop_test,
    mcnemar_exact,
    mcnemar_exact_from_counts,
)
from pytest_ssllottery.stats.power import (
    DEFAULT_POWER,
    detectable_drop_absolute,
    detectable_drop_score,
    detectable_drop_significant,
    power_absolute,
    power_significant,
)
from pytest_ssllottery.stats.ranks import (
    AggregateRankIntervals,
    RankInterval,
    bootstrap_aggregate_rank_intervals,
    bootstrap_rank_intervals,
    rank_scores,
)
from pytest_ssllottery.stats.robustness import (
    LOGIT_EPSILON,
    LogitFit,
    effective_robustness,
    fit_logit_linear,
    logit,
    sigmoid,
)

__all__ = [
    "DEFAULT_POWER",
    "LOGIT_EPSILON",
    "AggregateBootstrap",
    "AggregateRankIntervals",
    "Alternative",
    "BootstrapInterval",
    "Correlation",
    "Flip",
    "FlipRate",
    "HolmDecision",
    "HolmResult",
    "LogitFit",
    "McNemarResult",
    "RankInterval",
    "binomial_drop_test",
    "binomial_standard_error",
    "bootstrap_aggregate_difference",
    "bootstrap_aggregate_rank_intervals",
    "bootstrap_aggregates",
    "bootstrap_rank_intervals",
    "clopper_pearson",
    "detectable_drop_absolute",
    "detectable_drop_score",
    "detectable_drop_significant",
    "effective_robustness",
    "fit_logit_linear",
    "flip_pairs",
    "flip_rate_of_close_pairs",
    "geometric_mean",
    "geometric_mean_standard_error",
    "holm",
    "holm_decision_bounds",
    "kendall_tau",
    "logit",
    "mcnemar_exact",
    "mcnemar_exact_from_counts",
    "pack_bits",
    "pearson_r",
    "power_absolute",
    "power_significant",
    "rank_scores",
    "sampling_tolerance",
    "sigmoid",
    "significant_difference",
    "spearman_rho",
    "unified_scores",
    "unpack_bits",
    "weighted_average",
    "weighted_average_standard_error",
    "wilson",
]
