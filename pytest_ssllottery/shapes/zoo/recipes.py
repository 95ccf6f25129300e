"""Per-member recipes: objective hyperparameters, optimizer, number of updates and batch size, at two scales.

``full`` is what the shipped zoo was trained with (the SSL members' recipes are in ``ssl_recipes``);
``tiny`` runs three updates on about a hundred images, for tests.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from . import FILTER
from .objectives import MocoConfig, SupervisedConfig, SwAVConfig, UntrainedConfig
from .optim import OptimConfig
from .recipe import Recipe
from .ssl_recipes import ssl_recipes

Scale = Literal["full", "tiny"]
TINY_BATCH = 32
TINY_IMAGES = 96
TINY_STEPS = 3


def _full() -> dict[str, Recipe]:

    # The filter and `supervised` keep the first release's recipes (the filter defines the adversarial
    # split): SGD at batch 128, 20 and 40 epochs of 39 updates, one epoch of warm-up.
    filter_optim = OptimConfig(lr=0.1, weight_decay=5e-4, warmup=0.05)
    supervised_optim = OptimConfig(lr=0.1, weight_decay=5e-4, warmup=0.025)
    recipes = [
        Recipe(FILTER, "supervised", SupervisedConfig(), filter_optim, steps=780, seed_offset=1),
        Recipe("supervised", "supervised", SupervisedConfig(), supervised_optim, steps=1560),
        Recipe("random", "untrained", UntrainedConfig(), OptimConfig(), steps=0),
        *ssl_recipes(),
    ]
    return {recipe.name: recipe for recipe in recipes}


def _tiny(recipe: Recipe) -> Recipe:
    """A few updates at batch 32; MoCo's queue shrunk and SwAV's switched on at a multiple of the batch.

    The shipped SwAV recipe has no queue (its batches of 128 feed Sinkhorn); the tiny run keeps the queue's
    code path exercised.
    """
    objective = recipe.objective
    if isinstance(objective, MocoConfig):
        objective = dataclasses.replace(objective, queue_size=2 * TINY_BATCH)
    elif isinstance(objective, SwAVConfig):
        objective = dataclasses.replace(objective, queue_length=2 * TINY_BATCH, queue_start=0.0, freeze_prototypes=0.3)
    steps = min(recipe.steps, TINY_STEPS)
    return dataclasses.replace(recipe, objective=objective, steps=steps, batch_size=TINY_BATCH)


def relative_cost(recipe: Recipe) -> float:
    """Pixels pushed through the backbone over the whole run, for scheduling the longest members first."""
    objective = recipe.objective
    views = [getattr(objective, "view", None)]
    views += list(getattr(objective, "views", ()) or getattr(objective, "global_views", ()))
    if getattr(objective, "global_view", None) is not None:
        views += [objective.global_view] * 2  # type: ignore[attr-defined]
    pixels = sum(v.size**2 for v in views if v is not None) or 32**2
    local = getattr(objective, "local_view", None)
    if local is not None:
        pixels += getattr(objective, "num_local", 0) * local.size**2
    return float(recipe.steps * recipe.batch_size * pixels)


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
