"""SimSiam: a predictor on one branch, stop-gradient on the other, negative cosine, symmetrised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import projection_mlp
from ..optim import OptimConfig
from .base import FEATURE_DIM, Objective, SaveInfo, Step, new_backbone
from .moco import MOCO_V2_VIEW


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``D(p, z) = -cos(p, stopgrad(z))`` averaged over the batch."""
    return -F.cosine_similarity(p, z.detach(), dim=-1).mean()


@dataclass(frozen=True)
class SimSiamConfig:
    """SimSiam hyperparameters: projector width ``dim``, predictor bottleneck ``pred_dim`` (dim / 4)."""

    dim: int = 128
    pred_dim: int = 32
    fix_pred_lr: bool = True
    view: ViewSpec = field(default_factory=lambda: MOCO_V2_VIEW)

    def build(self) -> SimSiam:
        """The objective with a fresh backbone."""
        return SimSiam(self)


class SimSiam(Objective):
    """``encoder`` (backbone with the 3-layer projector as ``fc``) and ``predictor``."""

    layout = "simsiam"

    def __init__(self, config: SimSiamConfig) -> None:
        super().__init__()
        self.config = config
        projector = projection_mlp(
            (FEATURE_DIM, FEATURE_DIM, FEATURE_DIM, config.dim),
            bias=False,
            last_bn=True,
            last_bn_affine=False,
        )
        for module in projector:  # the output linear's bias is followed by BN: frozen, as in SimSiam's builder
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.requires_grad_(False)
        self.encoder = new_backbone(projector)
        for module in self.encoder.modules():  # zero_init_residual=True
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)
        self.predictor = projection_mlp((config.dim, config.pred_dim, config.dim), bias=False)

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """``D(p1, z2) / 2 + D(p2, z1) / 2``."""
        z1 = self.encoder(make_view(images, self.config.view, gen))
        z2 = self.encoder(make_view(images, self.config.view, gen))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return 0.5 * (negative_cosine(p1, z2) + negative_cosine(p2, z1))

    def collapse_loss(self, batch_size: int) -> float | None:
        """A constant output is perfectly aligned: -1, the minimum (SimSiam's collapse)."""
        return -1.0

    def parameter_groups(self, optim: OptimConfig) -> list[dict[str, Any]]:
        """Encoder on the cosine schedule; the predictor at a fixed rate (``--fix-pred-lr``)."""
        encoder = [p for p in self.encoder.parameters() if p.requires_grad]
        return [
            {"params": encoder},
            {"params": list(self.predictor.parameters()), "fixed_lr": self.config.fix_pred_lr},
        ]

    def feature_model(self) -> nn.Module:
        """The encoder's backbone (its ``fc`` is the projector)."""
        return self.encoder

    def checkpoint(self, info: SaveInfo) -> Any:
        """``{'epoch', 'arch', 'state_dict'}`` with ``module.encoder.*`` and ``module.predictor.*``."""
        return layouts.simsiam(self.encoder, self.predictor, info.epoch, info.arch)
