"""End of a run in the reporting process: update baselines on request, write the report files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from .cache import atomic_write_bytes
from .errors import BaselineError
from .report import render_json, render_markdown, render_terminal
from .session import LotterySession


@dataclass(frozen=True)
class FinishOptions:
    """Where the report goes and how it looks."""

    update: bool = False
    report_json: Path | None = None
    report_md: Path | None = None
    plots: Path | None = None
    width: int = 100
    color: bool = False
    verbosity: int = 0


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Finished:
    """What the end of a run produced: the terminal text, and whether writing baselines failed."""

    text: str
    failed: bool = False


def _update(lottery: LotterySession, interrupted: bool) -> tuple[list[str], bool]:
    """Write baselines; returns notes for the report and whether the write failed."""
    if interrupted:
        return ["The run was interrupted: no baseline was written, the file is as it was. Rerun to update."], False
    methods = {r.method for r in lottery.own_cells.values()} | set(lottery.aggregates)
    if not methods:
        return ["No item computed a result; the baseline file was not touched."], False
    devices = {r.method: r.device for r in lottery.own_cells.values()}
    provenance = {m: lottery.engine.provenance(m, devices.get(m)) for m in sorted(methods)}
    try:
        lottery.update_baselines(provenance)
    except BaselineError as exc:
        return [f"error: {exc}"], True
    target = _shown(lottery.config.baselines_path)
    return [f"Baselines written to {target} ({len(lottery.changes)} values)."], False


def finish_run(lottery: LotterySession, options: FinishOptions, interrupted: bool = False) -> Finished:
    """Write baselines (only with ``update``, never after an interruption) and reports.

    A failed baseline write is reported, and the JSON and Markdown reports are still written.
    """
    if not lottery.cells:
        if options.update and interrupted:
            return Finished("The run was interrupted before any result: no baseline was written.\n")
        return Finished("")
    notes: list[str] = []
    failed = False
    if options.update:
        notes, failed = _update(lottery, interrupted)
    data = lottery.report_input(notes)
    if options.report_json is not None:
        atomic_write_bytes(
            options.report_json, (json.dumps(render_json(data), indent=2, sort_keys=True) + "\n").encode()
        )
    markdown = render_markdown(data)
    if options.report_md is not None:
        atomic_write_bytes(options.report_md, markdown.encode())
    if options.plots is not None:
        from .plots import write_plots

        figures = write_plots(data.analysis, options.plots)
        data = replace(data, notes=[*data.notes, f"Wrote {len(figures)} figures to {_shown(options.plots)}."])
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(markdown)
    text = render_terminal(data, width=options.width, color=options.color, verbosity=options.verbosity)
    return Finished(text, failed)
