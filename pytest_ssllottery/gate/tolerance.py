"""A cell's tolerance: how far below its baseline it may fall before the absolute gate fails it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..stats import binomial_standard_error
from ..suite.spec import GateSpec


@dataclass(frozen=True)
class Tolerance:
    """How far below its baseline a value may fall, in accuracy points, and why."""

    margin: float
    sampling: float
    factor: float
    n: int

    @property
    def value(self) -> float:
        """The tolerance: the larger of the margin and the scaled sampling error."""
        return max(self.margin, self.sampling)

    def explain(self) -> str:
        """Human-readable derivation."""
        return (
            f"{self.value:.2f} points = max(margin {self.margin:.2f}, {self.factor:g} x standard error "
            f"{self.sampling / self.factor if self.factor else 0.0:.2f} at n={self.n})"
        )


def cell_tolerance(baseline_percent: float, n: int, gate: GateSpec) -> Tolerance:
    """Tolerance of a cell: the baseline's binomial sampling error at this n, scaled, or the margin."""
    p = min(max(baseline_percent / 100.0, 0.0), 1.0)
    se = 100.0 * binomial_standard_error(p, n) if n > 0 else math.inf
    return Tolerance(gate.margin, gate.sampling_factor * se, gate.sampling_factor, n)
