"""The run's state: computes and judges items (in any process), gathers records (in the controller).

Workers and serial runs use :meth:`LotterySession.run_cell` and friends; the process that reports
(the xdist controller, or the only process) receives every record through :meth:`receive` and at the
end writes baselines (on request) and builds the report. Nothing here imports pytest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import Analysis, ResultTable, TableCell, analyse
from .baselines import BaselineFile, Change, update_file
from .gate import CellContext, drop_pvalue, judge_aggregate, judge_cell
from .pipeline import Engine
from .progress import Progress
from .report import ReportInput
from .results import AggregateRecord, CellRecord, Record, Verdict, record_from_dict
from .runconfig import RunSettings
from .spec import Suite
from .stats import (
    LogitFit,
    bootstrap_aggregate_difference,
    geometric_mean_standard_error,
    unpack_bits,
    weighted_average_standard_error,
)

RECORD_PROPERTY = "ssl_lottery_record"
CONTEXT_PROPERTY = "ssl_lottery_context"


@dataclass(frozen=True)
class SessionConfig:
    """What a LotterySession needs from the command line."""

    suite: Suite
    run: RunSettings
    baselines_path: Path
    baselines_fallback: Path | None = None
    update: bool = False
    accept_command: str = "pytest --ssl-suite=<suite> --ssl-update-baselines"


@dataclass
class Outcome:
    """What one item produced: its own records, the records it used, and its verdicts."""

    records: list[Record] = field(default_factory=list)
    context: list[CellRecord] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        """The verdicts that fail the item."""
        return [v for v in self.verdicts if v.failed]

    def properties(self) -> list[tuple[str, Any]]:
        """``user_properties`` entries carrying everything to the reporting process."""
        own = [(RECORD_PROPERTY, r.to_dict()) for r in [*self.records, *self.verdicts]]
        return own + [(CONTEXT_PROPERTY, r.to_dict()) for r in self.context]


class LotterySession:
    """Computes, judges and gathers the results of one suite run."""

    def __init__(self, config: SessionConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.suite = config.suite
        self.progress = progress
        self._engine: Engine | None = None
        source = config.baselines_path
        if not source.exists() and config.baselines_fallback is not None:
            source = config.baselines_fallback
        self.baseline_source = source
        self.baselines = BaselineFile.load(source, self.suite.name)
        self.cells: dict[str, CellRecord] = {}
        self.own_cells: dict[str, CellRecord] = {}
        self.aggregates: dict[str, AggregateRecord] = {}
        self.verdicts: dict[str, Verdict] = {}
        self.changes: list[Change] = []

    @property
    def engine(self) -> Engine:
        """The compute engine, created on first use (the controller of an xdist run never needs one)."""
        if self._engine is None:
            self._engine = Engine(self.suite, self.config.run, self.progress)
        return self._engine

    def _source_label(self) -> str:
        try:
            return os.path.relpath(self.baseline_source)
        except ValueError:  # pragma: no cover - other drive on Windows
            return str(self.baseline_source)

    def header_lines(self) -> list[str]:
        """What the run will do, for pytest's header."""
        suite, run = self.suite, self.config.run
        lines = [
            f"ssl-lottery: suite {suite.name} ({suite.path}): {len(suite.methods)} methods x "
            f"{len(suite.eval_datasets)} datasets, reference {suite.reference}, gate {suite.gate.mode}, "
            f"device {run.device}",
            f"ssl-lottery: baselines {self._source_label()}"
            + (
                " (bundled copy; updates go to " + str(self.config.baselines_path) + ")"
                if self.baseline_source != self.config.baselines_path
                else ""
            )
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

    def accept_hint(self, *keywords: str) -> str:
        """The command that accepts new values for the items named by ``keywords``."""
        return f"{self.config.accept_command} -k '{' and '.join(keywords)}'"

    @property
    def family_size(self) -> int:
        """Number of cells in the suite (the Holm family of the significant gate)."""
        return len(self.suite.methods) * len(self.suite.eval_datasets)

    def family_pvalues(self) -> dict[str, float]:
        """One-sided drop p-values of every cell that has a baseline (computes every cell)."""
        values: dict[str, float] = {}
        for method in self.suite.methods:
            for dataset in self.suite.eval_datasets:
                record = self.engine.cell(method.name, dataset.name)
                baseline = self.baselines.cell(record.key)
                values[record.key] = drop_pvalue(record, baseline)[0] if baseline else 1.0
        return values

    # -- items ---------------------------------------------------------------------------------------
    def run_cell(self, method: str, dataset: str) -> Outcome:
        """Compute and judge ``method`` on ``dataset``."""
        record = self.engine.cell(method, dataset)
        context = CellContext(
            baseline=self.baselines.cell(record.key),
            gate=self.suite.gate,
            accept=self.accept_hint(method, dataset),
            source=self._source_label(),
            family_size=self.family_size,
            family_pvalues=self.family_pvalues,
        )
        verdict = judge_cell(record, context, update=self.config.update)
        return Outcome(records=[record], verdicts=[verdict])

    def run_aggregate(self, method: str) -> Outcome:
        """Compute and judge the method's weighted average and geometric mean."""
        record = self.engine.aggregate(method)
        cells = [self.engine.cell(method, d) for d in record.datasets]
        accuracies = np.array([c.accuracy / 100.0 for c in cells])
        counts = np.array([c.n for c in cells])
        errors = {
            "weighted_average": 100.0 * weighted_average_standard_error(accuracies, counts, np.array(record.weights)),
            "geometric_mean": 100.0 * geometric_mean_standard_error(accuracies, counts, floor=1e-4),
        }
        floors = {
            "weighted_average": self.suite.gate.aggregate.weighted_average_min,
            "geometric_mean": self.suite.gate.aggregate.geometric_mean_min,
        }
        paired = self._paired_aggregate_bounds(cells, record) if self.suite.gate.mode == "significant" else {}
        verdicts: list[Verdict] = []
        for measure in ("weighted_average", "geometric_mean"):
            verdicts += judge_aggregate(
                f"{method}::aggregate",
                measure,
                getattr(record, measure),
                errors[measure],
                self.baselines.aggregate(method),
                floors[measure],
                self.suite.gate,
                self.accept_hint(method, "aggregate"),
                update=self.config.update,
                paired_upper=paired.get(measure),
            )
        return Outcome(records=[record], context=cells, verdicts=verdicts)

    def _paired_aggregate_bounds(self, cells: list[CellRecord], record: AggregateRecord) -> dict[str, float]:
        """Upper ends (points) of one-sided paired bootstrap intervals of current - baseline aggregates.

        Empty unless every dataset's baseline stored per-image correctness for the same images.
        """
        baseline: dict[str, np.ndarray] = {}
        for cell in cells:
            entry = self.baselines.cell(cell.key) or {}
            bits = (entry.get("per_sample") or {}).get("bits")
            if not bits or entry.get("dataset_fingerprint") != cell.fingerprint or entry.get("n") != cell.n:
                return {}
            baseline[cell.dataset] = unpack_bits(str(bits), cell.n)
        current = {c.dataset: c.correctness() for c in cells}
        weights = dict(zip(record.datasets, record.weights, strict=True))
        alpha = self.suite.gate.alpha
        difference = bootstrap_aggregate_difference(
            current,
            baseline,
            weights,
            max(self.suite.bootstrap_resamples, 200),
            seed=0,
            confidence=1.0 - 2.0 * alpha,
            floor=1e-4,
        )
        return {
            "weighted_average": 100.0 * difference.weighted_average.high,
            "geometric_mean": 100.0 * difference.geometric_mean.high,
        }

    def run_ranking(self) -> tuple[Analysis, Outcome]:
        """Compute every cell, analyse the ranking, and check the suite's rank thresholds."""
        cells = [self.engine.cell(m.name, d.name) for m in self.suite.methods for d in self.suite.eval_datasets]
        analysis = self.analysis(cells)
        gate = self.suite.gate.ranking
        verdicts: list[Verdict] = []
        if gate.min_kendall_tau is not None:
            for dataset, values in analysis.correlations.items():
                tau = values["kendall"].estimate
                status = "threshold" if not tau >= gate.min_kendall_tau else "pass"
                verdicts.append(
                    Verdict(
                        f"ranking:kendall_tau:{dataset}",
                        status,
                        tau,
                        gate.min_kendall_tau,
                        None,
                        f"Kendall tau of {dataset} against {self.suite.reference} is {tau:.3f}, below the suite's "
                        f"gate.ranking.min_kendall_tau = {gate.min_kendall_tau:g}"
                        if status != "pass"
                        else "",
                    )
                )
        if gate.max_lottery_pairs is not None:
            count = len(analysis.lottery)
            status = "threshold" if count > gate.max_lottery_pairs else "pass"
            verdicts.append(
                Verdict(
                    "ranking:lottery_pairs",
                    status,
                    float(count),
                    float(gate.max_lottery_pairs),
                    None,
                    f"{count} method pairs flip their {self.suite.reference} order on an aggregate, more than "
                    f"gate.ranking.max_lottery_pairs = {gate.max_lottery_pairs}"
                    if status != "pass"
                    else "",
                )
            )
        return analysis, Outcome(context=cells, verdicts=verdicts)

    # -- reporting process ---------------------------------------------------------------------------
    def receive(self, name: str, data: Mapping[str, Any]) -> None:
        """Take one record from a test report's user properties."""
        record = record_from_dict(dict(data))
        if isinstance(record, CellRecord):
            self.cells[record.key] = record
            if name == RECORD_PROPERTY:
                self.own_cells[record.key] = record
        elif isinstance(record, AggregateRecord):
            if name == RECORD_PROPERTY:
                self.aggregates[record.method] = record
        else:
            self.verdicts[record.key] = record

    def table(self, cells: Iterable[CellRecord] | None = None) -> ResultTable:
        """The results table of the cells seen (or given), in suite order."""
        chosen = {c.key: c for c in (cells if cells is not None else self.cells.values())}
        methods = tuple(m.name for m in self.suite.methods if any(c.method == m.name for c in chosen.values()))
        datasets = tuple(d.name for d in self.suite.eval_datasets if any(c.dataset == d.name for c in chosen.values()))
        return ResultTable(
            cells={(c.method, c.dataset): TableCell(c.accuracy, c.n, c.correctness()) for c in chosen.values()},
            methods=methods,
            datasets=datasets,
            reference=self.suite.reference,
            aggregate_datasets=self.suite.aggregate_datasets,
            weights=self._table_weights(chosen.values()),
            reported={m.name: m.reported_top1 for m in self.suite.methods if m.reported_top1 is not None},
        )

    def stored_fits(self) -> dict[str, LogitFit]:
        """The reference logit-linear fits stored with the baselines (effective robustness is measured against them)."""
        return {
            dataset: LogitFit(
                float(f["slope"]), float(f["intercept"]), float(f.get("r_squared", "nan")), int(f.get("n", 0))
            )
            for dataset, f in self.baselines.robustness_fits.items()
        }

    def _table_weights(self, cells: Iterable[CellRecord]) -> dict[str, float] | None:
        """Aggregate weights for the analysis; None means scored images, which the table already holds."""
        suite = self.suite
        if suite.aggregate_weights == "images" and all(
            suite.dataset(d).weight is None for d in suite.aggregate_datasets
        ):
            return None
        scored = {c.dataset: c.n for c in cells}
        return {d: suite.aggregate_weight(d, scored.get(d)) for d in suite.aggregate_datasets}

    def analysis(self, cells: Iterable[CellRecord] | None = None, refit: bool = False) -> Analysis:
        """The rank-comparison analysis of the cells seen (or given); ``refit`` ignores the stored fits."""
        return analyse(
            self.table(cells),
            alpha=self.suite.gate.alpha,
            resamples=self.suite.bootstrap_resamples,
            robustness_fits=None if refit else self.stored_fits(),
        )

    def fresh_fits(self) -> dict[str, dict[str, Any]]:
        """Fits over this run's cells, for every dataset where every method of the suite was evaluated."""
        every = {m.name for m in self.suite.methods}
        analysis = self.analysis(refit=True)
        fits: dict[str, dict[str, Any]] = {}
        for dataset, fit in analysis.robustness_fits.items():
            methods = {m for (m, d) in analysis.table.cells if d == dataset}
            if methods >= every and {m for (m, d) in analysis.table.cells if d == self.suite.reference} >= every:
                fits[dataset] = {"slope": fit.slope, "intercept": fit.intercept, "r_squared": fit.r_squared, "n": fit.n}
        return fits

    def update_baselines(self, provenance: Mapping[str, Mapping[str, Any]]) -> list[Change]:
        """Merge the records of the items that ran into the baseline file, under its lock; others are kept."""
        updated, changes = update_file(
            self.config.baselines_path,
            self.baselines,
            self.own_cells.values(),
            self.aggregates.values(),
            provenance,
            self.fresh_fits(),
        )
        self.baselines = updated
        self.changes = changes
        return changes

    def report_input(self, notes: Iterable[str] = ()) -> ReportInput:
        """Everything the report shows."""
        baselines: dict[str, float] = {}
        source = self.baselines
        for key in self.cells:
            entry = source.cell(key)
            if entry is not None:
                baselines[key] = float(entry["accuracy"])
        for method in self.aggregates:
            entry = source.aggregate(method)
            for measure in ("weighted_average", "geometric_mean"):
                if entry and measure in entry:
                    baselines[f"{method}::aggregate:{measure}"] = float(entry[measure])
        title = f"SSL lottery report: suite {self.suite.name}, reference {self.suite.reference}"
        return ReportInput(
            title=title,
            analysis=self.analysis(),
            baselines=baselines if not self.changes else {},
            verdicts=dict(self.verdicts),
            changes=self.changes,
            notes=list(notes),
            gate_mode=self.suite.gate.mode,
            alpha=self.suite.gate.alpha,
            family_size=self.family_size,
            skipped={key: record.skipped for key, record in self.cells.items() if record.skipped},
        )
