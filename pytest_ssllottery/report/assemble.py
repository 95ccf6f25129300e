"""From a run's records to what the report shows: the stored values compared against, the report input.

Pure functions of the suite, the records, the baseline store and the verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..analysis.compare import Analysis
from ..analysis.protocols import ProtocolComparison
from ..compute.records import AggregateRecord, CellRecord
from ..compute.throughput import ThroughputRecord
from ..gate.baselines import BaselineStore, Change
from ..gate.verdicts import Verdict
from ..suite.spec import Suite
from .model import ReportInput


def baseline_values(
    store: BaselineStore, cells: Iterable[CellRecord], aggregates: Iterable[AggregateRecord]
) -> dict[str, float]:
    """The stored values the report compares with: ``method::dataset`` and ``method::aggregate:measure``."""
    values: dict[str, float] = {}
    for record in cells:
        entry = store.cell(record.key)
        if entry is not None:
            values[record.key] = entry.accuracy
    for aggregate in aggregates:
        stored = store.aggregate(aggregate.method)
        for measure in ("weighted_average", "geometric_mean"):
            score = stored.score(measure) if stored is not None else None
            if score is not None:
                values[f"{aggregate.key}:{measure}"] = score
    return values


def report_input(
    suite: Suite,
    analysis: Analysis,
    baselines: Mapping[str, float],
    verdicts: Mapping[str, Verdict],
    changes: Sequence[Change] = (),
    notes: Sequence[str] = (),
    skipped: Mapping[str, int] | None = None,
    context: Mapping[str, Any] | None = None,
    unused: Sequence[str] = (),
    throughput: Mapping[str, ThroughputRecord] | None = None,
    protocols: Sequence[ProtocolComparison] = (),
) -> ReportInput:
    """Everything the report of a suite run shows; ``context`` is where and when it ran (``provenance``)."""
    return ReportInput(
        title=f"SSL lottery report: suite {suite.name}, reference {suite.reference}",
        analysis=analysis,
        baselines=baselines if not changes else {},
        verdicts=dict(verdicts),
        changes=list(changes),
        notes=list(notes),
        gate=suite.gate,
        family_size=len(suite.methods) * len(suite.eval_datasets),
        skipped=dict(skipped or {}),
        suite=suite.name,
        context=dict(context or {}),
        unused=tuple(unused),
        throughput=dict(throughput or {}),
        protocols=tuple(protocols),
    )
