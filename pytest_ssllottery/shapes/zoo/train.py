"""Training one zoo member: the deterministic CPU loop around an objective."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ...errors import SslLotteryError
from .augment import to_float
from .objectives import Objective, Step
from .optim import build_optimizer, cosine_lr, set_lr
from .recipes import Recipe

Log = Callable[[str], None]


class ZooTrainingError(SslLotteryError):
    """A zoo member's training diverged or cannot run on the given data."""


@dataclass(frozen=True)
class TrainedMember:
    """A trained objective and how its training went."""

    recipe: Recipe
    objective: Objective
    seed: int
    steps: int
    seconds: float
    cpu_seconds: float
    load_average: tuple[float, float]
    epoch_losses: tuple[float, ...]


@contextmanager
def deterministic(threads: int) -> Iterator[None]:
    """Fixed intra-op thread count and deterministic algorithms, restored on exit."""
    previous_threads = torch.get_num_threads()
    previous_mode = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_mode)


def _load_average() -> float:
    """The 1-minute load average (other processes share the cores), or NaN where unavailable."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


def _epoch(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    data: tuple[torch.Tensor, torch.Tensor],
    gen: torch.Generator,
    first: Step,
) -> float:
    images, labels = data
    order = torch.randperm(len(images), generator=gen)
    total = 0.0
    for offset in range(first.steps_per_epoch):
        step = Step(first.index + offset, first.total, first.epoch, first.epochs, first.steps_per_epoch)
        set_lr(optimizer, cosine_lr(recipe.optim, step.index, step.total, step.steps_per_epoch), recipe.optim.lr)
        batch = order[offset * recipe.batch_size : (offset + 1) * recipe.batch_size]
        loss = objective.loss(to_float(images[batch]), labels[batch], gen, step)
        if not math.isfinite(loss.item()):
            raise ZooTrainingError(f"{recipe.name}: loss became {loss.item()} at step {step.index}; training diverged")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        objective.before_update(step)
        optimizer.step()
        objective.after_update(step)
        total += loss.item()
    return total / first.steps_per_epoch


def train_member(recipe: Recipe, images: torch.Tensor, labels: torch.Tensor, seed: int, log: Log) -> TrainedMember:
    """Train ``recipe`` on uint8 ``(N, 32, 32, 3)`` images; deterministic given the seed and thread count.

    The global RNG is seeded before the objective is built, so every member with the same seed starts
    from the same backbone initialisation (the ``random`` member is that initialisation).

    Raises:
        ZooTrainingError: fewer images than one batch, or a non-finite loss.
    """
    member_seed = seed + recipe.seed_offset
    torch.manual_seed(member_seed)
    objective = recipe.objective.build().to(memory_format=torch.channels_last).train()
    optimizer = build_optimizer(recipe.optim, objective.parameter_groups(recipe.optim))
    gen = torch.Generator().manual_seed(member_seed)
    steps_per_epoch = len(images) // recipe.batch_size
    if recipe.epochs and not steps_per_epoch:
        raise ZooTrainingError(f"{recipe.name}: {len(images)} images are fewer than one batch of {recipe.batch_size}")
    total = recipe.epochs * steps_per_epoch
    start, cpu_start, load_start = time.perf_counter(), time.process_time(), _load_average()
    losses: list[float] = []
    for epoch in range(recipe.epochs):
        first = Step(epoch * steps_per_epoch, total, epoch, recipe.epochs, steps_per_epoch)
        losses.append(_epoch(objective, optimizer, recipe, (images, labels), gen, first))
        elapsed = time.perf_counter() - start
        log(f"{recipe.name}: epoch {epoch + 1}/{recipe.epochs} loss {losses[-1]:.4f} ({elapsed:.0f} s)")
    objective.eval().to(memory_format=torch.contiguous_format)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    load = (load_start, _load_average())
    return TrainedMember(recipe, objective, member_seed, total, seconds, cpu_seconds, load, tuple(losses))
