"""The report as a JSON document (schema version 2): result, suite, context, analysis, verdicts, baselines, changes.

Cells and verdicts are keyed by their pytest node id, the name the terminal report, JUnit XML and the accept
command use (``shapes::dino::sketch``; aggregate scores ``shapes::dino::aggregate[geometric_mean]``).

Every section of the terminal report has its data here; :data:`SECTION_KEYS` says where (a test checks it).
"""

from __future__ import annotations

import math
from typing import Any

from ..analysis.compare import MEASURES, Analysis
from ..stats import Correlation
from .headline import headline
from .model import ReportData, plain
from .sensitivity import detectable_drops, power_line

REPORT_SCHEMA_VERSION = 2
# Section id -> the JSON path (keys from the top) that holds its data.
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "headline": ("headline",),
    "legend": ("legend",),
    "names": ("analysis", "methods"),
    "failures": ("verdicts",),
    "accuracy": ("analysis", "accuracy"),
    "ranks": ("analysis", "ranks"),
    "unified": ("analysis", "aggregates"),
    "agreement": ("analysis", "correlations"),
    "robustness": ("analysis", "effective_robustness"),
    "sensitivity": ("detectable_drop",),
    "skipped": ("skipped",),
    "correlation-notes": ("analysis", "correlations"),
    "winners": ("analysis", "winners"),
    "lottery": ("analysis", "lottery"),
    "gate": ("verdicts",),
    "notes": ("notes",),
    "changes": ("baseline_changes",),
}


def _number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 6)


def analysis_to_dict(analysis: Analysis, max_pairs: int | None = 1000) -> dict[str, Any]:
    """JSON-safe form of the analysis (used by the JSON report).

    Args:
        analysis: The analysis.
        max_pairs: Keep only this many lottery pairs, those with the largest reference gap (None = all);
            ``lottery_counts`` always has the totals.
    """
    table = analysis.table
    pairs = sorted(analysis.lottery, key=lambda p: (-p.reference_difference, p.measure, p.better_on_reference))
    pairs = pairs if max_pairs is None else pairs[:max_pairs]

    def corr(c: Correlation) -> dict[str, Any]:
        return {
            "estimate": _number(c.estimate),
            "low": _number(c.low),
            "high": _number(c.high),
            "pvalue": _number(c.pvalue),
            "n": c.n,
            "reason": c.reason,
        }

    return {
        "reference": table.reference,
        "methods": list(table.methods),
        "datasets": list(table.datasets),
        "aggregate_datasets": list(table.aggregate_datasets),
        "accuracy": {
            m: {d: _number(c.accuracy) for (mm, d), c in table.cells.items() if mm == m} for m in table.methods
        },
        "n": {m: {d: c.n for (mm, d), c in table.cells.items() if mm == m} for m in table.methods},
        "ranks": analysis.ranks,
        "rank_change": analysis.rank_change,
        "aggregates": {m: {k: _number(v) for k, v in a.items()} for m, a in analysis.aggregates.items()},
        "aggregate_ranks": analysis.aggregate_ranks,
        "correlations": {d: {k: corr(c) for k, c in v.items()} for d, v in analysis.correlations.items()},
        "lottery": [
            {
                "better_on_reference": p.better_on_reference,
                "worse_on_reference": p.worse_on_reference,
                "reference_difference": _number(p.reference_difference),
                "aggregate_difference": _number(p.aggregate_difference),
                "measure": p.measure,
                "tie_on_reference": p.tie_on_reference,
                "pvalue": _number(p.pvalue) if p.pvalue is not None else None,
            }
            for p in pairs
        ],
        "lottery_counts": {m: sum(p.measure == m for p in analysis.lottery) for m in MEASURES},
        "winners": analysis.winners,
        "winners_disagree": analysis.winners_disagree,
        "flip_rates": {
            d: {"flips": f.flips, "pairs": f.pairs, "rate": _number(f.rate), "within": f.within}
            for d, f in analysis.flip_rates.items()
        },
        "effective_robustness": {
            d: {m: _number(v) for m, v in per.items()} for d, per in analysis.effective_robustness.items()
        },
        "robustness_fits_stored": list(analysis.stored_fits),
        "robustness_fit_against": {d: analysis.fit_against.get(d, table.reference) for d in analysis.robustness_fits},
        "aggregate_weighting": table.weighting,
        "geometric_mean_floor": analysis.floor,
        "robustness_fits": {
            d: {
                "slope": _number(f.slope),
                "intercept": _number(f.intercept),
                "r_squared": _number(f.r_squared),
                "n": f.n,
            }
            for d, f in analysis.robustness_fits.items()
        },
        "cell_intervals": {
            f"{m}::{d}": [_number(lo), _number(hi)] for (m, d), (lo, hi) in analysis.cell_intervals.items()
        },
        "rank_intervals": {
            m: {d: [r.rank, r.low, r.high] for d, r in per.items()} for m, per in analysis.rank_intervals.items()
        },
        "aggregate_intervals": {
            m: {k: [_number(lo), _number(hi)] for k, (lo, hi) in per.items()}
            for m, per in analysis.aggregate_intervals.items()
        },
        "aggregate_rank_intervals": {
            m: {k: [r.rank, r.low, r.high] for k, r in per.items()}
            for m, per in analysis.aggregate_rank_intervals.items()
        },
        "reported": dict(table.reported),
    }


LEGEND = (
    "accuracy and scores in percent; deltas against the baselines in points; verdicts: pass, fail, stale "
    "(improved beyond the tolerance), missing (no baseline), threshold (below a suite floor), update"
)


def render_json(report: ReportData) -> dict[str, Any]:
    """The report as a JSON-safe document (schema version 2)."""
    data = report.source
    verdicts = {}
    for key, verdict in sorted(data.verdicts.items()):
        entry = verdict.to_dict()
        entry["item"] = data.node_id(key).partition("[")[0]
        verdicts[data.node_id(key)] = entry
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": data.title,
        "result": data.result,
        "headline": [plain(line) for line in headline(data)],
        "legend": LEGEND,
        "unused_baselines": [data.node_id(key) for key in data.unused],
        "suite": data.suite,
        "context": dict(data.context),
        "analysis": analysis_to_dict(data.analysis),
        "baselines": {data.node_id(k): v for k, v in sorted(data.baselines.items())},
        "verdicts": verdicts,
        "gate": {
            "mode": data.gate.mode,
            "alpha": data.gate.alpha,
            "margin": data.gate.margin,
            "sampling_factor": data.gate.sampling_factor,
            "family_size": data.family_size,
        },
        "detectable_drop": {data.node_id(k): v for k, v in sorted(detectable_drops(data).items())},
        "power_at_drop": {"drop": data.power_drop, "line": power_line(data)},
        "baseline_changes": [
            {
                "key": data.node_id(c.key if c.measure == "accuracy" else f"{c.key}:{c.measure}"),
                "measure": c.measure,
                "old": c.old,
                "new": c.new,
            }
            for c in data.changes
        ],
        "notes": list(data.notes),
        "skipped": {data.node_id(k): v for k, v in sorted(data.skipped.items())},
        "throughput": {data.node_id(r.key): r.to_dict() for _, r in sorted(data.throughput.items())},
        "protocols": [
            {
                "protocol": c.protocol,
                "primary": c.primary,
                "kendall_tau": {
                    column: {"estimate": _number(t.estimate), "low": _number(t.low), "high": _number(t.high)}
                    for column, t in c.agreement.items()
                },
                "winners": {column: {c.primary: a, c.protocol: b} for column, (a, b) in c.winners.items()},
                "analysis": analysis_to_dict(c.analysis),
            }
            for c in data.protocols
        ],
    }
