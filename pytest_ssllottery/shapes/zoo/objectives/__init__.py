"""The training objectives of the zoo, one module per method, and their configs."""

from __future__ import annotations

from typing import Protocol

from .barlow_twins import BarlowTwinsConfig
from .base import Objective, SaveInfo, Step
from .byol import BYOLConfig
from .dino import DINOConfig
from .moco import MocoConfig
from .simclr import SimCLRConfig
from .simsiam import SimSiamConfig
from .supervised import SupervisedConfig, UntrainedConfig
from .swav import SwAVConfig
from .vicreg import VICRegConfig


class ObjectiveConfig(Protocol):
    """A frozen dataclass of one method's hyperparameters that builds the objective."""

    def build(self) -> Objective:
        """The objective, with a freshly initialised backbone (seed the global RNG first)."""
        ...


__all__ = [
    "BYOLConfig",
    "BarlowTwinsConfig",
    "DINOConfig",
    "MocoConfig",
    "Objective",
    "ObjectiveConfig",
    "SaveInfo",
    "SimCLRConfig",
    "SimSiamConfig",
    "Step",
    "SupervisedConfig",
    "SwAVConfig",
    "UntrainedConfig",
    "VICRegConfig",
]
