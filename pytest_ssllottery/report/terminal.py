"""The report on the terminal: rich tables and plain lines, coloured only when asked."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import Cell, ReportData, Section


def _cell(cell: Cell) -> Text | str:
    if isinstance(cell, str):
        return cell
    text = Text(cell[0].text, style=cell[0].style)
    for span in cell[1:]:
        text.append(span.text, style=span.style)
    return text


def _table(section: Section) -> Table:
    table = Table(title=section.title, title_justify="left")
    for column in section.columns:
        if column.min_width is not None:
            table.add_column(column.header, no_wrap=True, min_width=column.min_width)
        elif column.style:
            table.add_column(column.header, justify=column.justify, style=column.style)
        else:
            table.add_column(column.header, justify=column.justify)
    for row in section.rows:
        table.add_row(*(_cell(cell) for cell in row))
    return table


def render_terminal(report: ReportData, *, width: int, color: bool) -> str:
    """The report as text for the terminal (ANSI colours only when ``color``)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, 60),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )
    console.print(f"[bold]{report.title}[/bold]" if color else report.title)
    for line in report.preface:
        console.print(line, markup=False)
    for section in report.sections:
        if section.is_table:
            console.print(_table(section))
        for line in section.lines:
            console.print(line, markup=False, soft_wrap=True)
    return buffer.getvalue()
