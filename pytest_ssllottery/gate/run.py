"""The run: computes and judges items (in any process), gathers records (in the reporting process), updates.

Items call :meth:`LotteryRun.evaluate_cell` and friends: the engine computes records, the gate's pure
rules judge them. The process that reports (the xdist controller, or the only process) receives every
record through :meth:`receive`; at the end :meth:`finish` writes baselines (on request) and returns the
outcome, which the report reads through :meth:`records`. Nothing here imports pytest.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis.compare import Analysis
from ..analysis.suite_table import suite_analysis
from ..compute.engine import Engine
from ..compute.progress import Progress
from ..compute.records import AggregateRecord, CellRecord
from ..compute.throughput import ThroughputRecord
from ..errors import BaselineError
from ..provenance import InfoSource, run_context
from ..suite.settings import BaselineSettings, RunSettings
from ..suite.spec import Suite
from .baselines import BaselineStore, Change, update_file
from .judge import CellContext, drop_pvalue, judge_cell
from .judge_aggregate import AggregateCase, judge_aggregate, judge_ranking, paired_upper_bounds, standard_errors
from .verdicts import CONTEXT_PROPERTY, RECORD_PROPERTY, Record, Verdict, record_from_dict

MEASURES = ("weighted_average", "geometric_mean")


@dataclass(frozen=True)
class RunConfig:
    """What a run needs besides the suite's file: run settings, baselines, and the accept command."""

    suite: Suite
    run: RunSettings
    baselines: BaselineSettings | None = None
    accept_command: str = "pytest --ssl-suite=<suite> --ssl-update-baselines"
    info: InfoSource | None = None  # machine and commit info (pytest-benchmark's hooks under pytest); else local


@dataclass
class Outcome:
    """What one item produced: its own records, the records it used, and its verdicts."""

    records: list[CellRecord | AggregateRecord] = field(default_factory=list)
    context: list[CellRecord] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        """The verdicts that fail the item."""
        return [v for v in self.verdicts if v.failed]

    def properties(self) -> list[tuple[str, Any]]:
        """``user_properties`` entries carrying everything to the reporting process."""
        own: list[Record] = [*self.records, *self.verdicts]
        return [(RECORD_PROPERTY, r.to_dict()) for r in own] + [(CONTEXT_PROPERTY, r.to_dict()) for r in self.context]


@dataclass(frozen=True)
class Update:
    """What an update wrote (or why it wrote nothing)."""

    changes: list[Change]
    notes: list[str]
    failed: bool = False


class LotteryRun:
    """Computes, judges and gathers the results of one suite run."""

    def __init__(self, config: RunConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.suite = config.suite
        self.progress = progress
        self._engine: Engine | None = None
        self.baseline_source = None if config.baselines is None else self._source(config.baselines)
        self.store = BaselineStore.load(self.baseline_source, self.suite.name) if self.baseline_source else None
        self.cells: dict[str, CellRecord] = {}
        self.own_cells: dict[str, CellRecord] = {}
        self.aggregates: dict[str, AggregateRecord] = {}
        self.verdicts: dict[str, Verdict] = {}
        self.throughput: dict[str, ThroughputRecord] = {}
        self._context: dict[str, Any] | None = None
        self._planned: list[str] | None = None

    @staticmethod
    def _source(settings: BaselineSettings) -> Any:
        if not settings.path.exists() and settings.fallback is not None:
            return settings.fallback
        return settings.path

    @property
    def engine(self) -> Engine:
        """The compute engine, created on first use (the controller of an xdist run never needs one)."""
        if self._engine is None:
            self._engine = Engine(self.suite, self.config.run, self.progress)
            self._engine.plan(self._planned)
        return self._engine

    def plan(self, methods: list[str] | None) -> None:
        """The methods this process computes (one decode per dataset feeds those sharing a geometry); None: unknown."""
        self._planned = methods
        if self._engine is not None:
            self._engine.plan(methods)

    def context(self) -> dict[str, Any]:
        """Versions, machine, device, date and commit of this run (``provenance.run_context``), computed once."""
        if self._context is None:
            self._context = run_context(self.config.run.device, self.config.info)
        return self._context

    def source_label(self) -> str:
        """The baseline file, relative to the working directory where possible."""
        try:
            return os.path.relpath(self.baseline_source or "")
        except ValueError:  # pragma: no cover - other drive on Windows
            return str(self.baseline_source)

    def header_lines(self) -> list[str]:
        """What the run will do, for pytest's header."""
        suite, run, target = self.suite, self.config.run, self.config.baselines
        bundled = target is not None and self.baseline_source != target.path
        variants = len(suite.methods) - len(suite.primary_methods)
        also = f" (+{variants} as {', '.join(f'@{p}' for p in suite.extra_protocols)})" if variants else ""
        lines = [
            f"ssl-lottery: suite {suite.name} ({suite.path}): {len(suite.primary_methods)} methods{also} x "
            f"{len(suite.eval_datasets)} datasets, reference {suite.reference}, gate {suite.gate.mode}, "
            f"device {run.device}",
            f"ssl-lottery: baselines {self.source_label()}"
            + (f" (bundled copy; updates go to {target.path})" if bundled and target is not None else "")
            + f", cache {run.cache_dir}",
        ]
        if run.device == "cpu" and "gpu" in suite.markers:
            lines.append(
                f"ssl-lottery: note: suite {suite.name} is meant for a GPU but runs on the CPU here (no CUDA device "
                "or --ssl-device cpu). A ResNet-50 at 224 px extracts about 8 images/s on a laptop CPU, so expect "
                "hours per method; use --ssl-device cuda on a GPU machine, or --ssl-probe train_per_class=N for a "
                "faster tier."
            )
        return lines

    def accept_hint(self, *parts: str) -> str:
        """The command that accepts new values for one item, selected by its node id (``suite::method::dataset``)."""
        return f"{self.config.accept_command} {shlex.quote('::'.join([self.suite.name, *parts]))}"

    @property
    def updating(self) -> bool:
        """Whether this run writes baselines."""
        return self.config.baselines is not None and self.config.baselines.update

    @property
    def family_size(self) -> int:
        """Number of cells in the suite (the Holm family of the significant gate)."""
        return len(self.suite.methods) * len(self.suite.eval_datasets)

    def _store(self) -> BaselineStore:
        if self.store is None:
            raise BaselineError("this run has no baseline store; it computes results without a gate")
        return self.store

    def family_pvalues(self) -> dict[str, float]:
        """One-sided drop p-values of every cell that has a baseline (computes every cell)."""
        values: dict[str, float] = {}
        for method in self.suite.methods:
            for dataset in self.suite.eval_datasets:
                record = self.engine.cell(method.name, dataset.name)
                baseline = self._store().cell(record.key)
                values[record.key] = drop_pvalue(record, baseline)[0] if baseline else 1.0
        return values

    # -- items ---------------------------------------------------------------------------------------
    def evaluate_cell(self, method: str, dataset: str) -> Outcome:
        """Compute and judge ``method`` on ``dataset``."""
        record = self.engine.cell(method, dataset)
        context = CellContext(
            baseline=self._store().cell(record.key),
            gate=self.suite.gate,
            accept=self.accept_hint(method, dataset),
            source=self.source_label(),
            family_size=self.family_size,
            family_pvalues=self.family_pvalues,
        )
        return Outcome(records=[record], verdicts=[judge_cell(record, context, update=self.updating)])

    def evaluate_aggregate(self, method: str) -> Outcome:
        """Compute and judge the method's weighted average and geometric mean."""
        record = self.engine.aggregate(method)
        cells = [self.engine.cell(method, d) for d in record.datasets]
        store, gate = self._store(), self.suite.gate
        errors = standard_errors(record, cells)
        floors = {
            "weighted_average": gate.aggregate.weighted_average_min,
            "geometric_mean": gate.aggregate.geometric_mean_min,
        }
        paired: dict[str, float] = {}
        if gate.mode == "significant":
            baselines = {c.key: store.cell(c.key) for c in cells}
            paired = paired_upper_bounds(record, cells, baselines, gate.alpha, self.suite.bootstrap_resamples)
        verdicts: list[Verdict] = []
        for measure in MEASURES:
            case = AggregateCase(
                key=record.key,
                measure=measure,
                obtained=record.score(measure),
                standard_error=errors[measure],
                baseline=store.aggregate(method),
                floor=floors[measure],
                gate=gate,
                accept=self.accept_hint(method, "aggregate"),
                update=self.updating,
                paired_upper=paired.get(measure),
            )
            verdicts += judge_aggregate(case)
        return Outcome(records=[record], context=cells, verdicts=verdicts)

    def evaluate_ranking(self) -> tuple[Analysis, Outcome]:
        """Compute every cell, analyse the ranking, and check the suite's rank thresholds."""
        cells = [self.engine.cell(m.name, d.name) for m in self.suite.methods for d in self.suite.eval_datasets]
        analysis = suite_analysis(self.suite, cells, self.store.fits() if self.store else None)
        verdicts = judge_ranking(
            analysis.correlations, len(analysis.lottery), self.suite.gate.ranking, self.suite.reference
        )
        return analysis, Outcome(context=cells, verdicts=verdicts)

    def compute_all(self) -> None:
        """Compute every cell and aggregate without judging, and keep them (``ssllottery run``)."""
        self.plan([m.name for m in self.suite.methods])
        for method in self.suite.methods:
            for dataset in self.suite.eval_datasets:
                self.receive(RECORD_PROPERTY, self.engine.cell(method.name, dataset.name).to_dict())
            self.receive(RECORD_PROPERTY, self.engine.aggregate(method.name).to_dict())

    # -- reporting process ---------------------------------------------------------------------------
    def receive(self, name: str, data: Mapping[str, Any]) -> None:
        """Take one record from a test report's user properties (xdist merging happens here)."""
        record = record_from_dict(dict(data))
        if isinstance(record, CellRecord):
            self.cells[record.key] = record
            if name == RECORD_PROPERTY:
                self.own_cells[record.key] = record
        elif isinstance(record, AggregateRecord):
            if name == RECORD_PROPERTY:
                self.aggregates[record.method] = record
        elif isinstance(record, ThroughputRecord):
            self.throughput[record.method] = record
        else:
            self.verdicts[record.key] = record

    def fresh_fits(self) -> dict[str, dict[str, Any]]:
        """Fits over this run's cells, for every dataset where every method of the suite was evaluated."""
        every = {m.name for m in self.suite.primary_methods}
        analysis = suite_analysis(self.suite, self.cells.values())
        fits: dict[str, dict[str, Any]] = {}
        for dataset, fit in analysis.robustness_fits.items():
            methods = {m for (m, d) in analysis.table.cells if d == dataset}
            if methods >= every and {m for (m, d) in analysis.table.cells if d == self.suite.reference} >= every:
                fits[dataset] = {"slope": fit.slope, "intercept": fit.intercept, "r_squared": fit.r_squared, "n": fit.n}
        return fits

    def update_baselines(self, interrupted: bool = False) -> Update:
        """Merge the records of the items that ran into the baseline file, under its lock; others are kept."""
        if interrupted:
            return Update(
                [], ["The run was interrupted: no baseline was written, the file is as it was. Rerun to update."]
            )
        methods = {r.method for r in self.own_cells.values()} | set(self.aggregates)
        if not methods:
            return Update([], ["No item computed a result; the baseline file was not touched."])
        records = {r.method: r for r in self.own_cells.values()}
        where = {key: self.context()[key] for key in ("machine", "commit")}
        provenance = {
            m: {
                **self.engine.provenance(
                    m,
                    records[m].device if m in records else None,
                    records[m].checkpoint_sha256 if m in records else None,
                ),
                **where,
            }
            for m in sorted(methods)
        }
        target = self.config.baselines
        assert target is not None
        try:
            updated, changes = update_file(
                target.path,
                self._store(),
                self.own_cells.values(),
                self.aggregates.values(),
                provenance,
                self.fresh_fits(),
            )
        except BaselineError as exc:
            return Update([], [f"error: {exc}"], failed=True)
        self.store = updated
        return Update(changes, [f"Baselines written to {_shown(target.path)} ({len(changes)} values)."])

    @property
    def has_results(self) -> bool:
        """Whether any item computed a result (received in this process)."""
        return bool(self.cells)

    def finish(self, interrupted: bool = False) -> Update:
        """Update baselines when this run updates (never after an interruption); else nothing to do."""
        return self.update_baselines(interrupted) if self.updating else Update([], [])

    def records(self) -> RunRecords:
        """What the run gathered, for the report (read-only views)."""
        store = self.store or BaselineStore(self.suite.path, self.suite.name)
        return RunRecords(
            cells=tuple(self.cells.values()),
            aggregates=tuple(self.aggregates.values()),
            verdicts=dict(self.verdicts),
            store=store,
            unused=unused_entries(self.suite, store),
            throughput=dict(self.throughput),
        )


@dataclass(frozen=True)
class RunRecords:
    """A run's gathered records: every cell seen, the aggregates computed here, the verdicts, the baselines."""

    cells: tuple[CellRecord, ...]
    aggregates: tuple[AggregateRecord, ...]
    verdicts: Mapping[str, Verdict]
    store: BaselineStore
    unused: tuple[str, ...] = ()
    throughput: Mapping[str, ThroughputRecord] = field(default_factory=dict)

    @property
    def skipped(self) -> dict[str, int]:
        """Unreadable images skipped per cell (only cells that skipped some)."""
        return {record.key: record.skipped for record in self.cells if record.skipped}


def unused_entries(suite: Suite, store: BaselineStore) -> tuple[str, ...]:
    """Baseline keys of methods or datasets the suite does not have (syrupy's "unused snapshots")."""
    methods = {m.name for m in suite.methods}
    cells = {f"{m.name}::{d.name}" for m in suite.methods for d in suite.eval_datasets}
    unused = [key for key in store.cells if key not in cells]
    unused += [f"{method}::aggregate" for method in store.aggregates if method not in methods]
    return tuple(sorted(unused))


def _shown(path: Any) -> str:
    """``path`` relative to the working directory when it lies below it."""
    from pathlib import Path

    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
