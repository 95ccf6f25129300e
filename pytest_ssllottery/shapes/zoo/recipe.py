"""What a zoo recipe is: the objective, the optimizer, the budget in updates, the batch, the preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..constants import MEAN, STD
from .objectives import ObjectiveConfig
from .optim import OptimConfig


@dataclass(frozen=True)
class Preprocessing:
    """Evaluation preprocessing a member needs: ``(pixel / 255 - mean) / std`` at 32 px."""

    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD


@dataclass(frozen=True)
class Recipe:
    """How one checkpoint is trained: ``steps`` updates at ``batch_size`` images each."""

    name: str
    objective_name: str
    objective: ObjectiveConfig
    optim: OptimConfig
    steps: int
    batch_size: int = 128
    seed_offset: int = 0
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
