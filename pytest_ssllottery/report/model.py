"""The report model: what a report shows (:class:`ReportInput`) and how it is laid out (:class:`ReportData`).

``sections.build_report`` turns the input into sections once; the terminal, Markdown and JSON renderers
each render the same sections, so no renderer can show something the others lack (a test compares their
section lists). The report never decides pass/fail: verdicts come from the gate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..analysis.compare import Analysis
from ..analysis.protocols import ProtocolComparison
from ..compute.throughput import ThroughputRecord
from ..gate.baselines import Change
from ..gate.verdicts import Verdict
from ..suite.spec import GateSpec


@dataclass(frozen=True)
class ReportInput:
    """Everything a report shows."""

    title: str
    analysis: Analysis
    baselines: Mapping[str, float] = field(default_factory=dict)
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    changes: Sequence[Change] = ()
    notes: Sequence[str] = ()
    gate: GateSpec = field(default_factory=GateSpec)
    family_size: int = 0  # cells in the significant gate's Holm family (0: every cell of the table)
    power_drop: float = 0.5  # the drop (points) whose detection probability the sensitivity section states
    max_rows: int | None = None
    max_pairs: int = 30
    skipped: Mapping[str, int] = field(default_factory=dict)
    unused: Sequence[str] = ()
    suite: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    throughput: Mapping[str, ThroughputRecord] = field(default_factory=dict)  # per method, when timed
    protocols: Sequence[ProtocolComparison] = ()  # the suite's protocol against each extra one

    @property
    def alpha(self) -> float:
        """The gate's level (also the lottery list's)."""
        return self.gate.alpha

    def node_id(self, key: str) -> str:
        """The pytest node id behind a cell or verdict key (``dino::val`` -> ``shapes::dino::val``).

        Aggregate and ranking verdicts add their measure in brackets: ``shapes::dino::aggregate[geometric_mean]``,
        ``shapes::ranking[kendall_tau:sketch]``. Without a suite (``ssllottery analyze``) the key is kept.
        """
        if self.suite is None:
            return key
        if key.startswith("ranking:"):
            return f"{self.suite}::ranking[{key.removeprefix('ranking:')}]"
        item, separator, measure = key.partition("::aggregate:")
        if separator:
            return f"{self.suite}::{item}::aggregate[{measure}]"
        return f"{self.suite}::{key}"

    @property
    def result(self) -> str:
        """The run's outcome: ``failed``, ``updated``, ``passed``, or ``not gated`` (no verdicts)."""
        statuses = {v.status for v in self.verdicts.values()}
        if any(v.failed for v in self.verdicts.values()):
            return "failed"
        if "update" in statuses:
            return "updated"
        return "passed" if statuses else "not gated"

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods shown in the tables: contenders best first on the reference, then the controls.

        Only the first ``max_rows`` when set. Without a reference result (a partial run), the suite's order.
        """
        table = self.analysis.table
        reference = table.column(table.reference)

        def key(method: str) -> tuple[bool, float]:
            return method in table.controls, -reference.get(method, float("-inf"))

        ordered = tuple(sorted(table.methods, key=key)) if reference else table.methods
        return ordered if self.max_rows is None else ordered[: self.max_rows]


@dataclass(frozen=True)
class Span:
    """A run of text with a style (rich style names; renderers without colour drop it)."""

    text: str
    style: str = ""


# A table cell: plain text, or styled spans.
Cell = str | tuple[Span, ...]


def plain(cell: Cell) -> str:
    """The text of a cell without its styles."""
    return cell if isinstance(cell, str) else "".join(span.text for span in cell)


@dataclass(frozen=True)
class Column:
    """A table column: its header, alignment, style, and the width it may never be squeezed below."""

    header: str
    justify: Literal["left", "right"] = "left"
    style: str = ""
    min_width: int | None = None


@dataclass(frozen=True)
class Section:
    """One part of the report: a table (columns and rows) or lines of text.

    ``id`` names the part across renderers (``accuracy``, ``ranks``, ``unified``, ``agreement``,
    ``robustness``, ``skipped``, ``correlation-notes``, ``winners``, ``lottery``, ``gate``, ``notes``,
    ``changes``).
    """

    id: str
    title: str = ""
    columns: tuple[Column, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    lines: tuple[Cell, ...] = ()
    terminal: bool = True  # False: only in the files (failure texts, which pytest already printed above)
    wrap: bool = True  # False: lines holding paths and commands stay whole for copying; the terminal folds them

    @property
    def is_table(self) -> bool:
        """Whether the section is a table."""
        return bool(self.columns)


@dataclass(frozen=True)
class ReportData:
    """A report laid out: title, a preface line or two, and sections in reading order."""

    title: str
    preface: tuple[str, ...]
    sections: tuple[Section, ...]
    source: ReportInput

    def section(self, section_id: str) -> Section | None:
        """The section with that id, if the report has it."""
        return next((s for s in self.sections if s.id == section_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of the sections, in order."""
        return tuple(s.id for s in self.sections)
