"""DINO: a student matches a momentum teacher's centred, sharpened distribution over multi-crops.

Student and teacher are a backbone plus a DINOHead (weight-normalised last layer, frozen during the
first ``freeze_last_layer`` fraction of training). The teacher sees the two global crops; its output is
centred with an EMA centre and sharpened with a temperature that warms up from ``warmup_teacher_temp``.
Schedules that ``main_dino.py`` counts in epochs are fractions of all updates here, since the zoo's
budgets are counted in updates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layouts
from ..augment import LOCAL_SCALE, ViewSpec
from ..heads import DINOHead
from ..optim import OptimConfig, decay_groups, ema_update, momentum_to_one
from .base import FEATURE_DIM, Objective, SaveInfo, Step, frozen_copy, new_backbone
from .multicrop import forward_by_resolution, multicrop_views

# DINO's augmentation (BYOL's colour ops; blur 1.0 / 0.1 + solarize on the globals, 0.5 on the locals).
_JITTER = (0.4, 0.4, 0.2, 0.1)
DINO_GLOBAL_1 = ViewSpec(jitter=_JITTER, jitter_p=0.8, grayscale=0.2, blur=1.0)
DINO_GLOBAL_2 = ViewSpec(jitter=_JITTER, jitter_p=0.8, grayscale=0.2, blur=0.1, solarize=0.2)
DINO_LOCAL = ViewSpec(size=16, scale=LOCAL_SCALE, jitter=_JITTER, jitter_p=0.8, grayscale=0.2, blur=0.5)


class MultiCropWrapper(nn.Module):
    """DINO's wrapper: backbone features of all crops (batched by resolution), then the head."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, crops: list[torch.Tensor]) -> torch.Tensor:
        """Head outputs of all crops, concatenated in crop order."""
        out: torch.Tensor = self.head(forward_by_resolution(self.backbone, crops))
        return out


def teacher_temperature(progress: float, warmup: float, final: float, warmup_fraction: float) -> float:
    """DINO's schedule: linear from ``warmup`` to ``final`` over the first ``warmup_fraction`` of training."""
    if progress >= warmup_fraction:
        return final
    return warmup + (final - warmup) * progress / warmup_fraction


def dino_loss(
    student_out: torch.Tensor, teacher_out: torch.Tensor, center: torch.Tensor, student_temp: float, teacher_temp: float
) -> torch.Tensor:
    """Cross-entropy between the teacher's centred, sharpened global crops and every other student crop."""
    num_crops = student_out.shape[0] // (teacher_out.shape[0] // 2)
    student = (student_out / student_temp).chunk(num_crops)
    teacher = F.softmax((teacher_out - center) / teacher_temp, dim=-1).detach().chunk(2)
    total, terms = student_out.new_zeros(()), 0
    for iq, q in enumerate(teacher):
        for v, s in enumerate(student):
            if v == iq:
                continue
            total = total + torch.sum(-q * F.log_softmax(s, dim=-1), dim=-1).mean()
            terms += 1
    return total / terms


@torch.no_grad()
def update_center(center: torch.Tensor, teacher_out: torch.Tensor, momentum: float) -> None:
    """EMA of the teacher's batch mean output, in place."""
    batch_center = teacher_out.sum(dim=0, keepdim=True) / teacher_out.shape[0]
    center.mul_(momentum).add_(batch_center, alpha=1 - momentum)


@torch.no_grad()
def clip_gradients(model: nn.Module, clip: float) -> None:
    """DINO's per-parameter gradient-norm clipping."""
    for param in model.parameters():
        if param.grad is not None:
            coefficient = clip / (param.grad.norm(2) + 1e-6)
            if coefficient < 1:
                param.grad.mul_(coefficient)


@dataclass(frozen=True)
class DINOConfig:
    """DINO hyperparameters (``main_dino.py`` names); the head is scaled down from 65536 outputs."""

    out_dim: int = 256
    hidden_dim: int = 128
    bottleneck_dim: int = 64
    norm_last_layer: bool = True
    use_bn_in_head: bool = False
    num_local: int = 8
    student_temp: float = 0.1
    warmup_teacher_temp: float = 0.04
    teacher_temp: float = 0.07
    warmup_teacher_temp_fraction: float = 0.1
    center_momentum: float = 0.9
    momentum_teacher: float = 0.99
    clip_grad: float = 3.0
    freeze_last_layer: float = 0.01
    global_views: tuple[ViewSpec, ViewSpec] = field(default_factory=lambda: (DINO_GLOBAL_1, DINO_GLOBAL_2))
    local_view: ViewSpec = field(default_factory=lambda: DINO_LOCAL)

    def build(self) -> DINO:
        """The objective with a fresh backbone."""
        return DINO(self)


class DINO(Objective):
    """Student and teacher ``MultiCropWrapper``s and the loss centre."""

    layout = "dino_full"
    center: torch.Tensor

    def __init__(self, config: DINOConfig) -> None:
        super().__init__()
        self.config = config
        head = DINOHead(
            FEATURE_DIM,
            config.out_dim,
            config.hidden_dim,
            config.bottleneck_dim,
            config.norm_last_layer,
            config.use_bn_in_head,
        )
        self.student = MultiCropWrapper(new_backbone(nn.Identity()), head)
        self.teacher = frozen_copy(self.student)
        self.register_buffer("center", torch.zeros(1, config.out_dim))

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """DINO loss of all crops against the teacher's two global crops; then the centre moves."""
        config = self.config
        crops = multicrop_views(images, (*config.global_views, *(config.local_view,) * config.num_local), gen)
        with torch.no_grad():
            teacher_out = self.teacher(crops[:2])
        student_out = self.student(crops)
        temp = teacher_temperature(
            step.progress, config.warmup_teacher_temp, config.teacher_temp, config.warmup_teacher_temp_fraction
        )
        loss = dino_loss(student_out, teacher_out, self.center, config.student_temp, temp)
        update_center(self.center, teacher_out, config.center_momentum)
        return loss

    def collapse_loss(self, batch_size: int) -> float | None:
        """Collapse to the uniform distribution (centring without enough sharpening): ``ln K``."""
        return math.log(self.config.out_dim)

    def parameter_groups(self, optim: OptimConfig) -> list[dict[str, Any]]:
        """The student's weights, and its biases and norms without weight decay."""
        return decay_groups(self.student)

    def before_update(self, step: Step) -> None:
        """Clip gradients; cancel the last layer's gradient during the first ``freeze_last_layer`` of training."""
        clip_gradients(self.student, self.config.clip_grad)
        if step.progress < self.config.freeze_last_layer:
            for name, param in self.student.named_parameters():
                if "last_layer" in name:
                    param.grad = None

    def after_update(self, step: Step) -> None:
        """Teacher EMA with momentum rising from ``momentum_teacher`` to 1."""
        ema_update(self.teacher, self.student, momentum_to_one(self.config.momentum_teacher, step.index, step.total))

    def feature_model(self) -> nn.Module:
        """The teacher's backbone (the loader takes the ``teacher`` container, as DINO's eval does)."""
        return self.teacher.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """DINO's full checkpoint (no optimizer) with ``args`` as an ``argparse.Namespace``."""
        return layouts.dino_full(self.student, self.teacher, self.center, info.epoch, self.args(info))

    def args(self, info: SaveInfo) -> dict[str, Any]:
        """The ``main_dino.py`` arguments this run corresponds to (plain values only)."""
        config = self.config
        return {
            "arch": info.arch,
            "out_dim": config.out_dim,
            "norm_last_layer": config.norm_last_layer,
            "momentum_teacher": config.momentum_teacher,
            "use_bn_in_head": config.use_bn_in_head,
            "warmup_teacher_temp": config.warmup_teacher_temp,
            "teacher_temp": config.teacher_temp,
            "warmup_teacher_temp_fraction": config.warmup_teacher_temp_fraction,
            "clip_grad": config.clip_grad,
            "freeze_last_layer": config.freeze_last_layer,
            "global_crops_scale": config.global_views[0].scale,
            "local_crops_number": config.num_local,
            "local_crops_scale": config.local_view.scale,
            **(info.args or {}),
        }
