"""What each check of the gate can see: the smallest drop it catches with 80 % power, and its power at a drop.

The gate's own sampling model (``stats.power``), with the gate's settings: the absolute gate's tolerance, or
the significant gate's margin, level and Holm family. Reports show these beside every gated value.
"""

from __future__ import annotations

from ..stats import (
    DEFAULT_POWER,
    detectable_drop_absolute,
    detectable_drop_score,
    detectable_drop_significant,
    power_absolute,
    power_significant,
)
from ..suite.spec import GateSpec
from .tolerance import cell_tolerance


def cell_detectable_drop(
    accuracy: float, n: int, gate: GateSpec, family: int, discordance: float | None = None
) -> float:
    """Points: the drop of a cell at ``accuracy`` (percent) on ``n`` images the gate fails 80 % of the time.

    ``discordance``: share of images already discordant between baseline and run, for the significant gate's
    paired (McNemar) model; None for the unpaired model.
    """
    p = min(max(accuracy / 100.0, 0.0), 1.0)
    if gate.mode == "significant":
        return detectable_drop_significant(p, n, gate.margin, gate.alpha, family, discordance, DEFAULT_POWER)
    return detectable_drop_absolute(p, n, cell_tolerance(accuracy, n, gate).value, DEFAULT_POWER)


def cell_power(drop: float, accuracy: float, n: int, gate: GateSpec, family: int) -> float:
    """The probability that the gate fails a cell at ``accuracy`` (percent) whose true accuracy fell by ``drop``."""
    p = min(max(accuracy / 100.0, 0.0), 1.0)
    if gate.mode == "significant":
        return power_significant(drop, p, n, gate.margin, gate.alpha, family)
    return power_absolute(drop, p, n, cell_tolerance(accuracy, n, gate).value)


def score_detectable_drop(standard_error: float, gate: GateSpec) -> float:
    """Points: the drop of a unified score (delta-method standard error in points) its gate fails 80 % of the time."""
    return detectable_drop_score(standard_error, gate.margin, gate.sampling_factor, gate.mode, gate.alpha)
