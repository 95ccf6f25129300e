"""Writing the report where it was asked for: JSON and Markdown files, PNG figures, the CI job summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic_files import atomic_write_bytes
from ..suite.settings import ReportSettings
from .json_report import render_json
from .markdown import render_markdown
from .model import ReportData


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_outputs(report: ReportData, settings: ReportSettings, job_summary: bool = True) -> list[str]:
    """Write the JSON and Markdown files, the figures, and (``job_summary``) ``$GITHUB_STEP_SUMMARY``.

    Returns notes for the terminal report (what was written where).
    """
    notes: list[str] = []
    if settings.json is not None:
        text = json.dumps(render_json(report), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(settings.json, text.encode())
    markdown = render_markdown(report)
    if settings.markdown is not None:
        atomic_write_bytes(settings.markdown, markdown.encode())
    if settings.plots is not None:
        from .plots import write_plots

        figures = write_plots(report.source.analysis, settings.plots)
        notes.append(f"Wrote {len(figures)} figures to {shown(settings.plots)}.")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if job_summary and summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(markdown)
    return notes
