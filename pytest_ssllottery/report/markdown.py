"""The report as GitHub-flavoured Markdown (files, and the CI job summary): every section of the terminal's."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Cell, ReportData, Section, plain

_VERDICT_MARK = {"bold red": " ❌", "green": " ⬆", "yellow": " 🆕"}


def _cell(cell: Cell) -> str:
    """Plain text; a coloured delta keeps its meaning as a marker (regressed, stale, new)."""
    text = plain(cell).replace("|", "\\|")
    if isinstance(cell, tuple):
        marks = [_VERDICT_MARK[span.style] for span in cell if span.style in _VERDICT_MARK]
        text += marks[0] if marks else ""
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _line(cell: Cell) -> str:
    """A line of text; its bold spans stay bold."""
    if isinstance(cell, str):
        return cell
    return "".join(f"**{span.text}**" if "bold" in span.style and span.text.strip() else span.text for span in cell)


def _section(section: Section) -> list[str]:
    lines: list[str] = []
    if section.is_table:
        lines += [f"### {section.title}", ""]
        lines += _table([c.header for c in section.columns], [[_cell(c) for c in row] for row in section.rows])
        lines.append("")
    if section.id == "failures":
        lines += [f"### {section.title}", ""]
        for message in section.lines:
            lines += ["```", _line(message), "```", ""]
        return lines
    if section.id == "headline":
        lines += [f"> {_line(line)}  " for line in section.lines] + [""]
        return lines
    if section.lines:
        lines += [f"{_line(line)}  " for line in section.lines] + [""]
    return lines


def render_markdown(report: ReportData) -> str:
    """The report as Markdown, section by section."""
    lines = [f"## {report.title}", ""]
    for line in report.preface:
        lines += [line, ""]
    for section in report.sections:
        lines += _section(section)
    return "\n".join(lines) + "\n"
