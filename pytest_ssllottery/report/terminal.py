"""The report on the terminal: a coloured headline, rich tables and lines that wrap at words."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import Cell, ReportData, Section

MIN_WIDTH = 60
HEADER_WORD = 12  # header words up to this long are never broken


def _cell(cell: Cell) -> Text | str:
    if isinstance(cell, str):
        return cell
    text = Text(cell[0].text, style=cell[0].style)
    for span in cell[1:]:
        text.append(span.text, style=span.style)
    return text


def _table(section: Section) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in section.columns:
        if column.min_width is not None:  # the method column: never wrapped, never cut
            table.add_column(column.header, no_wrap=True, min_width=column.min_width)
        else:  # headers keep their words whole; a value that does not fit folds onto a second line, never "…"
            word = min(max((len(w) for w in column.header.split()), default=1), HEADER_WORD)
            table.add_column(
                column.header, justify=column.justify, style=column.style or None, overflow="fold", min_width=word
            )
    for row in section.rows:
        table.add_row(*(_cell(cell) for cell in row))
    return table


def render_terminal(report: ReportData, *, width: int, color: bool) -> str:
    """The report as text for the terminal (ANSI colours only when ``color``)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, MIN_WIDTH),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )
    if report.title:
        console.print(Text(report.title, style="bold"))
    for note in report.preface:
        console.print(Text(note))
    for section in report.sections:
        if not section.terminal:
            continue
        if section.is_table:
            if section.title:  # above the table, wrapped at the terminal's width rather than the table's
                console.print(Text(section.title, style="italic"))
            console.print(_table(section))
        for cell in section.lines:
            console.print(Text(cell) if isinstance(cell, str) else _cell(cell), soft_wrap=not section.wrap)
    return buffer.getvalue()
