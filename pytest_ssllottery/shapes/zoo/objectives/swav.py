"""SwAV: swapped prediction of Sinkhorn-Knopp cluster assignments over normalised prototypes.

Multi-crop (2 global + small local crops), prototypes re-normalised before every step and frozen for
the first updates, and SwAV's optional feature queue for small batches. Schedules that ``main_swav.py``
counts in epochs or iterations are fractions of all updates here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layouts
from ..augment import LOCAL_SCALE, ViewSpec
from ..heads import projection_mlp
from ..optim import OptimConfig
from .base import FEATURE_DIM, Objective, SaveInfo, Step, new_backbone
from .multicrop import forward_by_resolution, multicrop_views

# SwAV's multi-crop: SimCLR-strength colour distortion; 16 px local crops stand for 96 px at 224.
SWAV_GLOBAL = ViewSpec(jitter=(0.8, 0.8, 0.8, 0.2), jitter_p=0.8, grayscale=0.2, blur=0.5)
SWAV_LOCAL = dataclasses.replace(SWAV_GLOBAL, size=16, scale=LOCAL_SCALE)


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, epsilon: float, iterations: int) -> torch.Tensor:
    """SwAV's ``distributed_sinkhorn`` on one device: soft assignments ``(B, K)`` whose rows sum to 1.

    Alternately rescales the ``K x B`` matrix ``exp(scores / epsilon).T`` so that prototypes get equal
    mass ``1/K`` and samples mass ``1/B``.
    """
    q = torch.exp(scores / epsilon).t()
    num_prototypes, batch = q.shape
    q = q / q.sum()
    for _ in range(iterations):
        q = q / q.sum(dim=1, keepdim=True) / num_prototypes
        q = q / q.sum(dim=0, keepdim=True) / batch
    return (q * batch).t()


def swapped_prediction(
    output: torch.Tensor, assignments: list[torch.Tensor], crops_for_assign: tuple[int, ...], temperature: float
) -> torch.Tensor:
    """Cross-entropy of every other crop's prototype scores against each assigned crop's codes."""
    batch = assignments[0].shape[0]
    num_crops = output.shape[0] // batch
    loss = output.new_zeros(())
    for q, crop_id in zip(assignments, crops_for_assign, strict=True):
        subloss = output.new_zeros(())
        for view in range(num_crops):
            if view == crop_id:
                continue
            logits = output[batch * view : batch * (view + 1)] / temperature
            subloss = subloss - torch.mean(torch.sum(q * F.log_softmax(logits, dim=1), dim=1))
        loss = loss + subloss / (num_crops - 1)
    return loss / len(crops_for_assign)


@dataclass(frozen=True)
class SwAVConfig:
    """SwAV hyperparameters (``main_swav.py`` names), scaled: 3000 prototypes -> ``num_prototypes``."""

    hidden_mlp: int = 128
    feat_dim: int = 32
    num_prototypes: int = 100
    temperature: float = 0.1
    epsilon: float = 0.05
    sinkhorn_iterations: int = 3
    num_local: int = 6
    freeze_prototypes: float = 0.01
    queue_length: int = 1024
    queue_start: float = 0.1
    # The prototypes' learning rate relative to the rest: LARS (SwAV's optimizer) moves them by about 0.1 % per
    # step; with AdamW on small batches they must move slowly too, or every score flattens (uniform collapse).
    prototypes_lr_scale: float = 1.0
    global_view: ViewSpec = field(default_factory=lambda: SWAV_GLOBAL)
    local_view: ViewSpec = field(default_factory=lambda: SWAV_LOCAL)

    def build(self) -> SwAV:
        """The objective with a fresh backbone."""
        return SwAV(self)


class SwAV(Objective):
    """Backbone, projection head, prototypes and the optional embedding queue."""

    layout = "swav"
    queue: torch.Tensor

    def __init__(self, config: SwAVConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = new_backbone(nn.Identity())
        self.projection_head = projection_mlp((FEATURE_DIM, config.hidden_mlp, config.feat_dim))
        self.prototypes = nn.Linear(config.feat_dim, config.num_prototypes, bias=False)
        self.register_buffer("queue", torch.zeros(2, config.queue_length, config.feat_dim), persistent=False)
        self.use_the_queue = False

    def _assign(self, output: torch.Tensor, embedding: torch.Tensor, batch: int, step: Step) -> list[torch.Tensor]:
        codes = []
        queue_on = self.config.queue_length > 0 and step.progress >= self.config.queue_start
        for index, crop_id in enumerate((0, 1)):
            with torch.no_grad():
                out = output[batch * crop_id : batch * (crop_id + 1)].detach()
                if queue_on:
                    if self.use_the_queue or not torch.all(self.queue[index, -1, :] == 0):
                        self.use_the_queue = True
                        out = torch.cat([self.queue[index] @ self.prototypes.weight.t(), out])
                    self.queue[index, batch:] = self.queue[index, :-batch].clone()
                    self.queue[index, :batch] = embedding[crop_id * batch : (crop_id + 1) * batch]
                codes.append(sinkhorn(out, self.config.epsilon, self.config.sinkhorn_iterations)[-batch:])
        return codes

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """Swapped prediction between the codes of the two global crops and all other crops."""
        with torch.no_grad():
            self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1, p=2))
        specs = (self.config.global_view,) * 2 + (self.config.local_view,) * self.config.num_local
        crops = multicrop_views(images, specs, gen)
        embedding = F.normalize(self.projection_head(forward_by_resolution(self.backbone, crops)), dim=1, p=2)
        output = self.prototypes(embedding)
        codes = self._assign(output, embedding.detach(), images.shape[0], step)
        return swapped_prediction(output, codes, (0, 1), self.config.temperature)

    def collapse_loss(self, batch_size: int) -> float | None:
        """Uniform predictions over the prototypes: ``ln K``."""
        return math.log(self.config.num_prototypes)

    def parameter_groups(self, optim: OptimConfig) -> list[dict[str, Any]]:
        """Backbone and head at the scheduled rate; the prototypes at ``prototypes_lr_scale`` of it."""
        others = [p for name, p in self.named_parameters() if p.requires_grad and not name.startswith("prototypes")]
        return [
            {"params": others},
            {"params": list(self.prototypes.parameters()), "lr_scale": self.config.prototypes_lr_scale},
        ]

    def before_update(self, step: Step) -> None:
        """Cancel the prototypes' gradient during the first ``freeze_prototypes`` of training."""
        if step.progress < self.config.freeze_prototypes:
            self.prototypes.weight.grad = None

    def feature_model(self) -> nn.Module:
        """The backbone."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """The released flat layout: ``module.*``, ``module.projection_head.*``, ``module.prototypes.weight``."""
        return layouts.swav(self.backbone, self.projection_head, self.prototypes)
