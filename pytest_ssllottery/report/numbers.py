"""How numbers, changes and labels read, the same in every renderer."""

from __future__ import annotations

import math

from ..analysis.compare import Analysis
from ..gate.verdicts import Status

STATUS_STYLE = {
    Status.FAIL: "bold red",
    Status.MISSING: "yellow",
    Status.THRESHOLD: "bold red",
    Status.STALE: "green",
    Status.PASS: "",
    Status.UPDATE: "cyan",
}
_MEASURE_LABEL = {"weighted_average": "weighted avg", "geometric_mean": "geometric mean"}


def measure_label(analysis: Analysis, measure: str) -> str:
    """Column label of a unified score; an average without image counts is called what it is."""
    if measure == "weighted_average" and analysis.table.weighting.startswith("equal"):
        return "equal-weight mean"
    return _MEASURE_LABEL.get(measure, analysis.table.reference)


def fmt(value: float | None, digits: int = 2) -> str:
    """A number to ``digits`` decimals; a dash when missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def signed(delta: float) -> str:
    """A signed difference in points; unchanged (below rounding) shows as ``=``, as ranks do, never -0.00."""
    return "=" if abs(delta) < 0.005 else f"{delta:+.2f}"


def rank_text(value: float) -> str:
    """A rank, average ranks and interval ends to one decimal at most."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def arrow(change: float) -> str:
    """A rank change: up, down, or ``=``."""
    if change > 0:
        return f"↑{change:g}"
    if change < 0:
        return f"↓{-change:g}"
    return "="
