"""Optimizers and schedules of the zoo recipes: SGD, LARS or AdamW, warmup plus cosine, momentum schedules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer of one member; ``lr`` is the peak rate for the member's batch size.

    LARS follows Barlow Twins' implementation: biases and norm weights (1-D tensors) get neither
    weight decay nor the trust-ratio adaptation. ``warmup`` is the fraction of all updates spent in the
    linear warm-up.
    """

    kind: Literal["sgd", "lars", "adamw"] = "sgd"
    lr: float = 0.05
    final_lr: float = 0.0
    weight_decay: float = 1e-4
    momentum: float = 0.9
    warmup: float = 0.0
    eta: float = 0.001  # LARS trust coefficient
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling around SGD with momentum (Barlow Twins' ``LARS``)."""

    def __init__(
        self, params: Iterable[Any], lr: float, weight_decay: float = 0.0, momentum: float = 0.9, eta: float = 0.001
    ) -> None:
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "eta": eta})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One update; 1-D parameters skip weight decay and adaptation."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                update = param.grad
                if param.ndim > 1:
                    update = update.add(param, alpha=group["weight_decay"])
                    param_norm, update_norm = torch.norm(param), torch.norm(update)
                    one = torch.ones_like(param_norm)
                    ratio = torch.where(
                        param_norm > 0,
                        torch.where(update_norm > 0, group["eta"] * param_norm / update_norm, one),
                        one,
                    )
                    update = update.mul(ratio)
                state = self.state[param]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(param)
                buffer = state["mu"]
                buffer.mul_(group["momentum"]).add_(update)
                param.add_(buffer, alpha=-group["lr"])


def build_optimizer(config: OptimConfig, groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """The optimizer over ``groups``; a group may carry ``fixed_lr``, ``lr_scale`` and ``weight_decay`` overrides."""
    for group in groups:
        group.setdefault("weight_decay", config.weight_decay)
        group.setdefault("fixed_lr", False)
    if config.kind == "lars":
        return LARS(groups, lr=config.lr, weight_decay=config.weight_decay, momentum=config.momentum, eta=config.eta)
    if config.kind == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def decay_groups(module: nn.Module, **extra: Any) -> list[dict[str, Any]]:
    """Trainable parameters split into weights and (decay-free) biases/norms, as DINO and MoCo v3 do."""
    weights = [p for p in module.parameters() if p.requires_grad and p.ndim > 1]
    others = [p for p in module.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": weights, **extra}, {"params": others, "weight_decay": 0.0, **extra}]


def cosine_lr(config: OptimConfig, step: int, total: int) -> float:
    """Linear warmup from 0 over the first ``warmup`` fraction of ``total`` updates, then cosine to ``final_lr``."""
    warmup = round(config.warmup * total)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    span = max(1, total - warmup)
    return config.final_lr + 0.5 * (config.lr - config.final_lr) * (1 + math.cos(math.pi * (step - warmup) / span))


def set_lr(optimizer: torch.optim.Optimizer, lr: float, base_lr: float) -> None:
    """Apply the scheduled rate times a group's ``lr_scale``; ``fixed_lr`` groups keep the base rate (SimSiam)."""
    for group in optimizer.param_groups:
        group["lr"] = (base_lr if group.get("fixed_lr") else lr) * group.get("lr_scale", 1.0)


def momentum_to_one(base: float, step: int, total: int) -> float:
    """BYOL/DINO's target momentum: cosine increase from ``base`` to 1 over training."""
    return 1 - (1 - base) * (math.cos(math.pi * step / max(1, total)) + 1) / 2


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target = momentum * target + (1 - momentum) * online`` over parameters (buffers are the target's own)."""
    for target_param, online_param in zip(target.parameters(), online.parameters(), strict=True):
        target_param.mul_(momentum).add_(online_param.detach(), alpha=1 - momentum)
