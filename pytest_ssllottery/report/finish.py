"""The end of a run in the reporting process: baselines updated on request, the report written and rendered."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..analysis.protocols import compare_protocols
from ..analysis.suite_table import suite_analysis
from ..gate.baselines import Change
from ..gate.run import LotteryRun
from ..suite.settings import ReportSettings
from .assemble import baseline_values, report_input
from .model import ReportInput
from .outputs import write_outputs
from .sections import build_report
from .terminal import render_terminal


@dataclass(frozen=True)
class View:
    """How the terminal shows the report."""

    width: int = 100
    color: bool = False
    verbosity: int = 0


@dataclass(frozen=True)
class Finished:
    """What the end of a run produced: the terminal text, and whether writing baselines failed."""

    text: str
    failed: bool = False


def finish_run(run: LotteryRun, settings: ReportSettings, view: View, interrupted: bool = False) -> Finished:
    """Update baselines (when the run updates, never after an interruption), write the reports, render.

    A failed baseline write is reported, and the JSON and Markdown reports are still written.
    """
    if not run.has_results:
        if run.updating and interrupted:
            return Finished("The run was interrupted before any result: no baseline was written.\n")
        return Finished("")
    update = run.finish(interrupted)
    data = run_report(run, update.notes, update.changes, with_context=settings.json is not None)
    notes = write_outputs(build_report(data), settings)
    if notes:
        data = replace(data, notes=[*data.notes, *notes])
    text = render_terminal(build_report(data, view.verbosity), width=view.width, color=view.color)
    return Finished(text, update.failed)


def run_report(run: LotteryRun, notes: list[str], changes: list[Change], with_context: bool = True) -> ReportInput:
    """The report of every record the run gathered, compared with its (possibly just updated) baselines.

    ``with_context``: include where and when it ran (only the JSON report shows it; machine info can cost a second).
    """
    records = run.records()
    analysis = suite_analysis(run.suite, records.cells, records.store.fits())
    values = baseline_values(records.store, records.cells, records.aggregates)
    context = run.context() if with_context else {}
    return report_input(
        run.suite,
        analysis,
        values,
        records.verdicts,
        changes,
        notes,
        records.skipped,
        context,
        records.unused,
        records.throughput,
        compare_protocols(run.suite, analysis, records.cells),
    )
