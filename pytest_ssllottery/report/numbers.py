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


NAME_LIMIT = 28


def short_names(names: list[str] | tuple[str, ...], limit: int = NAME_LIMIT) -> dict[str, str]:
    """Unique short forms (``head…tail``) of the names longer than ``limit``; the others map to themselves.

    >>> short_names(["resnet50", "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"], 20)["resnet50"]
    'resnet50'
    """
    short = {name: name for name in names}
    long = [n for n in names if len(n) > limit]
    head = (limit - 1) // 2
    tail = limit - 1 - head
    while long:
        for name in long:
            short[name] = name[:head] + "…" + name[len(name) - tail :] if head + tail < len(name) else name
        seen: dict[str, list[str]] = {}
        for name in long:
            seen.setdefault(short[name], []).append(name)
        long = [n for group in seen.values() if len(group) > 1 for n in group if short[n] != n]
        tail += 2
    return short
