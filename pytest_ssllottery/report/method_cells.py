"""The method column every table of the report starts with."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Cell, Column, ReportInput, Span
from .numbers import short_names

CONTROL_STYLE = "dim"


def method_column(methods: Sequence[str]) -> Column:
    """The method column: never wrapped or cut (long names are shortened to unique forms, with a legend)."""
    return Column("method", min_width=max((len(n) for n in short_names(list(methods)).values()), default=6))


def method_name(data: ReportInput, method: str) -> Cell:
    """A method's name as the tables show it: shortened, and dimmed for a control."""
    name = short_names(data.methods).get(method, method)
    return (Span(name, CONTROL_STYLE),) if method in data.analysis.table.controls else name
