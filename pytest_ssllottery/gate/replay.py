"""The gate replayed on runs that never went through pytest: planted drops and re-probed runs, for the power study.

Judges a whole run (every cell of every method, and each method's unified scores) against a baseline run
exactly as the plugin does: the absolute tolerance, or the significant gate's McNemar/binomial p-values with
Holm over all cells and the margin, and ``judge_aggregate`` for the unified scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..compute.records import AggregateRecord, CellRecord
from ..stats import holm, pack_bits, unified_scores
from ..suite.spec import GateSpec
from .entries import ROUNDING, CellBaseline
from .judge import drop_pvalue
from .judge_aggregate import AggregateCase, judge_aggregate, paired_upper_bounds, standard_errors
from .tolerance import cell_tolerance
from .verdicts import Status

BITS_ENCODING = "packbits-little-base64"


@dataclass(frozen=True)
class RunVerdicts:
    """Which gated values of one run failed."""

    cells: tuple[str, ...]
    scores: tuple[str, ...]

    @property
    def failed(self) -> bool:
        """Whether the run fails CI (any cell or unified score)."""
        return bool(self.cells or self.scores)


def baseline_entry(record: CellRecord) -> CellBaseline:
    """The baseline the plugin would store for ``record`` (with its per-image correctness)."""
    return CellBaseline(
        {
            "accuracy": round(record.accuracy, 4),
            "correct": record.correct,
            "n": record.n,
            "dataset_fingerprint": record.fingerprint,
            "per_sample": {"encoding": BITS_ENCODING, "bits": record.bits},
        }
    )


def with_correctness(record: CellRecord, hits: np.ndarray) -> CellRecord:
    """``record`` with another per-image correctness on the same images."""
    return replace(record, correct=int(hits.sum()), bits=pack_bits(hits))


def plant_drop(hits: np.ndarray, points: float, rng: np.random.Generator) -> np.ndarray:
    """Flip ``round(points / 100 * n)`` randomly chosen correct images to wrong (all of them when fewer)."""
    flips = min(round(points / 100.0 * hits.size), int(hits.sum()))
    correct = np.flatnonzero(hits)
    out = hits.copy()
    out[rng.choice(correct, size=flips, replace=False)] = False
    return out


def aggregate_of(cells: Sequence[CellRecord], weights: Sequence[float]) -> AggregateRecord:
    """A method's unified scores over ``cells`` (as the engine computes them)."""
    scores = unified_scores([c.accuracy for c in cells], list(weights))
    first = cells[0]
    return AggregateRecord(
        suite=first.suite,
        method=first.method,
        weighted_average=scores["weighted_average"],
        geometric_mean=scores["geometric_mean"],
        datasets=tuple(c.dataset for c in cells),
        weights=tuple(weights),
        n=tuple(c.n for c in cells),
    )


def failing_cells(records: Sequence[CellRecord], baselines: Mapping[str, CellBaseline], gate: GateSpec) -> list[str]:
    """Keys of the cells the gate fails; Holm's family is every cell in ``records``."""
    drops = {r.key: baselines[r.key].expected - r.accuracy for r in records}
    if gate.mode == "absolute":
        return [
            r.key
            for r in records
            if drops[r.key] > cell_tolerance(baselines[r.key].expected, r.n, gate).value + ROUNDING
        ]
    pvalues = [drop_pvalue(r, baselines[r.key])[0] if drops[r.key] > 0 else 1.0 for r in records]
    rejected = holm(pvalues, gate.alpha).rejected
    beyond_margin = [drops[r.key] > gate.margin + ROUNDING for r in records]
    return [r.key for r, reject, big in zip(records, rejected, beyond_margin, strict=True) if reject and big]


def failing_scores(
    cells: Sequence[CellRecord],
    weights: Sequence[float],
    baseline: Mapping[str, Any],
    baselines: Mapping[str, CellBaseline],
    gate: GateSpec,
    resamples: int,
) -> list[str]:
    """Keys (``method::aggregate:measure``) of the method's unified scores the gate fails against ``baseline``."""
    record = aggregate_of(cells, weights)
    errors = standard_errors(record, cells)
    paired: dict[str, float] = {}
    if gate.mode == "significant":
        paired = paired_upper_bounds(record, cells, {c.key: baselines[c.key] for c in cells}, gate.alpha, resamples)
    failed = []
    for measure in ("weighted_average", "geometric_mean"):
        case = AggregateCase(
            key=record.key,
            measure=measure,
            obtained=record.score(measure),
            standard_error=errors[measure],
            baseline=baseline,
            floor=None,
            gate=gate,
            accept="",
            paired_upper=paired.get(measure),
        )
        failed += [v.key for v in judge_aggregate(case) if v.status is Status.FAIL]
    return failed


def judge_run(
    run: Mapping[str, Sequence[CellRecord]],
    reference: Mapping[str, Sequence[CellRecord]],
    aggregate_datasets: Sequence[str],
    weights: Mapping[str, Sequence[float]],
    gate: GateSpec,
    resamples: int,
) -> RunVerdicts:
    """Gate ``run`` (method -> its evaluation cells) against baselines stored from the ``reference`` run.

    Holm's family is every cell of the run; each method's unified scores are over ``aggregate_datasets``
    with its ``weights`` (in that order).
    """

    def scored(cells: Sequence[CellRecord]) -> list[CellRecord]:
        by_dataset = {c.dataset: c for c in cells}
        return [by_dataset[d] for d in aggregate_datasets]

    baselines = {r.key: baseline_entry(r) for cells in reference.values() for r in cells}
    records = [r for cells in run.values() for r in cells]
    scores: list[str] = []
    for method, cells in run.items():
        before = aggregate_of(scored(reference[method]), weights[method])
        stored = {m: round(before.score(m), 4) for m in ("weighted_average", "geometric_mean")}
        scores += failing_scores(scored(cells), weights[method], stored, baselines, gate, resamples)
    return RunVerdicts(tuple(failing_cells(records, baselines, gate)), tuple(scores))
