"""The gate replayed on runs that never went through pytest: planted drops and re-probed runs, for the power study.

Judges a whole run (every cell of every method, and each method's unified scores) against a baseline run
with the plugin's own rules: ``judge_cell`` with Holm over all of the run's cells, and ``judge_aggregate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..compute.records import AggregateRecord, CellRecord
from ..stats import pack_bits
from ..suite.spec import GateSpec
from .baselines import aggregate_entry, cell_entry
from .entries import MEASURES, CellBaseline
from .judge import CellContext, drop_pvalue, judge_cell
from .judge_aggregate import AggregateCase, judge_aggregate, paired_upper_bounds, standard_errors
from .verdicts import Status


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
    return CellBaseline(cell_entry(record, {}))


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


def failing_cells(records: Sequence[CellRecord], baselines: Mapping[str, CellBaseline], gate: GateSpec) -> list[str]:
    """Keys of the cells the gate fails; Holm's family is every cell in ``records`` (as the suite's cells)."""
    pvalues: dict[str, float] = {}

    def family() -> Mapping[str, float]:
        if not pvalues:
            pvalues.update({r.key: drop_pvalue(r, baselines[r.key])[0] for r in records})
        return pvalues

    failed = []
    for record in records:
        context = CellContext(baselines[record.key], gate, "", "", len(records), family)
        if judge_cell(record, context).status is Status.FAIL:
            failed.append(record.key)
    return failed


def failing_scores(
    cells: Sequence[CellRecord],
    weights: Sequence[float],
    baseline: Mapping[str, Any],
    baselines: Mapping[str, CellBaseline],
    gate: GateSpec,
    resamples: int,
) -> list[str]:
    """Keys (``method::aggregate:measure``) of the method's unified scores the gate fails against ``baseline``."""
    record = AggregateRecord.of_cells(cells, weights)
    errors = standard_errors(record, cells)
    paired: dict[str, float] = {}
    if gate.mode == "significant":
        paired = paired_upper_bounds(record, cells, {c.key: baselines[c.key] for c in cells}, gate.alpha, resamples)
    failed = []
    for measure in MEASURES:
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
        stored = aggregate_entry(AggregateRecord.of_cells(scored(reference[method]), weights[method]), {})
        scores += failing_scores(scored(cells), weights[method], stored, baselines, gate, resamples)
    return RunVerdicts(tuple(failing_cells(records, baselines, gate)), tuple(scores))
