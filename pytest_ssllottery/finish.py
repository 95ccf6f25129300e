"""End of a run in the reporting process: update baselines on request, write the report files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from .cache import atomic_write_bytes
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


def finish_run(lottery: LotterySession, options: FinishOptions) -> str:
    """Write baselines (only with ``update``) and reports; return the terminal text ("" if nothing ran)."""
    if not lottery.cells:
        return ""
    notes: list[str] = []
    if options.update:
        methods = {r.method for r in lottery.own_cells.values()} | set(lottery.aggregates)
        devices = {r.method: r.device for r in lottery.own_cells.values()}
        provenance = {m: lottery.engine.provenance(m, devices.get(m)) for m in sorted(methods)}
        if methods:
            lottery.update_baselines(provenance)
            target = _shown(lottery.config.baselines_path)
            notes.append(f"Baselines written to {target} ({len(lottery.changes)} values).")
        else:
            notes.append("No item computed a result; the baseline file was not touched.")
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
    return render_terminal(data, width=options.width, color=options.color, verbosity=options.verbosity)
