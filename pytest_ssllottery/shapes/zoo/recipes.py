"""Per-member recipes: objective hyperparameters, optimizer, epochs and batch size, at two scales.

``full`` is what the shipped zoo was trained with; epochs are chosen so that each SSL member takes about
four to five minutes on 2 CPU cores (about equal wall-clock budget per method, as measured in
``docs/zoo.md``). ``tiny`` runs a few steps on about a hundred images, for tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from ..constants import MEAN, STD
from . import FILTER
from .objectives import (
    BarlowTwinsConfig,
    BYOLConfig,
    DINOConfig,
    MocoConfig,
    ObjectiveConfig,
    SimCLRConfig,
    SimSiamConfig,
    SupervisedConfig,
    SwAVConfig,
    UntrainedConfig,
    VICRegConfig,
)
from .optim import OptimConfig

Scale = Literal["full", "tiny"]
TINY_BATCH = 32
TINY_IMAGES = 96


@dataclass(frozen=True)
class Preprocessing:
    """Evaluation preprocessing a member needs: ``(pixel / 255 - mean) / std`` at 32 px."""

    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD


@dataclass(frozen=True)
class Recipe:
    """How one checkpoint is trained."""

    name: str
    objective_name: str
    objective: ObjectiveConfig
    optim: OptimConfig
    epochs: int
    batch_size: int = 128
    seed_offset: int = 0
    preprocessing: Preprocessing = field(default_factory=Preprocessing)


def _full() -> dict[str, Recipe]:
    # Batch 128 everywhere: on this data progress is bound by the number of updates, not of images.
    # SGD members follow their official optimizer; LARS members use the trust coefficient 0.001 of the
    # originals with a peak rate close to their large-batch rates (a few hundred steps only).
    lars = OptimConfig(kind="lars", lr=1.0, eta=0.001, weight_decay=1e-6, warmup_epochs=1)
    supervised = OptimConfig(lr=0.1, weight_decay=5e-4, warmup_epochs=1)
    recipes = [
        Recipe(FILTER, "supervised", SupervisedConfig(), supervised, epochs=20, seed_offset=1),
        Recipe("supervised", "supervised", SupervisedConfig(), supervised, epochs=40),
        Recipe("random", "untrained", UntrainedConfig(), OptimConfig(), epochs=0),
        Recipe("simclr", "simclr", SimCLRConfig(), dataclasses.replace(lars, lr=0.85), epochs=17),
        Recipe("moco_v2", "moco_v2", MocoConfig(), OptimConfig(lr=0.06, warmup_epochs=1), epochs=26),
        Recipe("byol", "byol", BYOLConfig(), dataclasses.replace(lars, weight_decay=1.5e-6), epochs=13),
        Recipe("simsiam", "simsiam", SimSiamConfig(), OptimConfig(lr=0.05), epochs=19),
        Recipe("barlow_twins", "barlow_twins", BarlowTwinsConfig(), dataclasses.replace(lars, weight_decay=1.5e-6), 18),
        Recipe("vicreg", "vicreg", VICRegConfig(), lars, epochs=16),
        Recipe("swav", "swav", SwAVConfig(), lars, epochs=10),
        Recipe("dino", "dino", DINOConfig(), OptimConfig(lr=0.03, warmup_epochs=1), epochs=7),
    ]
    return {recipe.name: recipe for recipe in recipes}


def _tiny(recipe: Recipe) -> Recipe:
    """One epoch at batch 32; queues shrunk to a multiple of the batch."""
    objective = recipe.objective
    if isinstance(objective, MocoConfig):
        objective = dataclasses.replace(objective, queue_size=2 * TINY_BATCH)
    elif isinstance(objective, SwAVConfig):
        objective = dataclasses.replace(
            objective, queue_length=2 * TINY_BATCH, queue_start_epoch=0, freeze_prototypes_epochs=0.3
        )
    epochs = min(recipe.epochs, 1)
    return dataclasses.replace(recipe, objective=objective, epochs=epochs, batch_size=TINY_BATCH)


def recipe_for(name: str, scale: Scale = "full") -> Recipe:
    """The recipe of a zoo member or of the filter.

    Raises:
        ValueError: unknown name or scale.
    """
    recipes = _full()
    if name not in recipes:
        raise ValueError(f"no zoo recipe named {name!r}; expected one of {', '.join(recipes)}")
    if scale == "full":
        return recipes[name]
    if scale == "tiny":
        return _tiny(recipes[name])
    raise ValueError(f"unknown zoo scale {scale!r}; expected 'full' or 'tiny'")
