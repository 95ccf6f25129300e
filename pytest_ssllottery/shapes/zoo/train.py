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
from .recipe import Recipe

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
    loss_curve: tuple[float, ...]


@contextmanager
def deterministic(threads: int, warn_only: bool = False) -> Iterator[None]:
    """Fixed intra-op thread count and deterministic algorithms, restored on exit.

    ``warn_only`` (used on CUDA) warns instead of failing where an op has no deterministic kernel.
    """
    previous_threads = torch.get_num_threads()
    previous_mode = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_mode, warn_only=previous_warn)


def _load_average() -> float:
    """The 1-minute load average (other processes share the cores), or NaN where unavailable."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


LOSS_WINDOWS = 20  # the loss curve in the manifest: mean loss over this many equal spans of training


def _update(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    batch: tuple[torch.Tensor, ...],
    step: Step,
    gen: torch.Generator,
) -> float:
    set_lr(optimizer, cosine_lr(recipe.optim, step.index, step.total), recipe.optim.lr)
    images, labels = batch
    loss = objective.loss(to_float(images), labels, gen, step)
    value = loss.item()
    if not math.isfinite(value):
        raise ZooTrainingError(f"{recipe.name}: loss became {value} at step {step.index}; training diverged")
    if objective.pretext_loss is not None:
        value = objective.pretext_loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    objective.before_update(step)
    optimizer.step()
    objective.after_update(step)
    return value


def train_member(
    recipe: Recipe, images: torch.Tensor, labels: torch.Tensor, seed: int, log: Log, device: str = "cpu"
) -> TrainedMember:
    """Train ``recipe`` on uint8 ``(N, 32, 32, 3)`` images; deterministic given the seed and thread count.

    Updates walk through the images in a fresh seeded permutation per epoch (a trailing partial batch
    is dropped). The global RNG is seeded before the objective is built, so every member with the same
    seed starts from the same backbone initialisation (the ``random`` member is that initialisation).
    Random draws (permutations, augmentations) come from a CPU generator on every device.

    Raises:
        ZooTrainingError: fewer images than one batch, or a non-finite loss.
    """
    member_seed = seed + recipe.seed_offset
    torch.manual_seed(member_seed)
    objective = recipe.objective.build().to(device).to(memory_format=torch.channels_last).train()
    optimizer = build_optimizer(recipe.optim, objective.parameter_groups(recipe.optim))
    gen = torch.Generator().manual_seed(member_seed)
    steps_per_epoch = len(images) // recipe.batch_size
    if recipe.steps and not steps_per_epoch:
        raise ZooTrainingError(f"{recipe.name}: {len(images)} images are fewer than one batch of {recipe.batch_size}")
    images, labels = images.to(device), labels.to(device)
    window = max(1, math.ceil(recipe.steps / LOSS_WINDOWS))
    start, cpu_start, load_start = time.perf_counter(), time.process_time(), _load_average()
    losses: list[float] = []
    running = 0.0
    order = torch.empty(0, dtype=torch.long)
    for index in range(recipe.steps):
        offset = index % steps_per_epoch
        if offset == 0:
            order = torch.randperm(len(images), generator=gen)
        batch = order[offset * recipe.batch_size : (offset + 1) * recipe.batch_size].to(device)
        step = Step(index, recipe.steps, steps_per_epoch)
        running += _update(objective, optimizer, recipe, (images[batch], labels[batch]), step, gen)
        if (index + 1) % window == 0 or index + 1 == recipe.steps:
            losses.append(running / ((index % window) + 1))
            running = 0.0
            elapsed = time.perf_counter() - start
            log(f"{recipe.name}: step {index + 1}/{recipe.steps} loss {losses[-1]:.4f} ({elapsed:.0f} s)")
    objective.eval().to("cpu").to(memory_format=torch.contiguous_format)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    load = (load_start, _load_average())
    return TrainedMember(recipe, objective, member_seed, recipe.steps, seconds, cpu_seconds, load, tuple(losses))
