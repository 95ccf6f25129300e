"""VICReg: invariance (MSE), variance (hinge on the std) and covariance (off-diagonal) terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import projection_mlp
from .barlow_twins import off_diagonal
from .base import FEATURE_DIM, Objective, SaveInfo, Step, new_backbone
from .byol import BYOL_VIEWS


def variance_term(x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Mean over dimensions of ``relu(1 - sqrt(var + eps))``."""
    std = torch.sqrt(x.var(dim=0) + eps)
    return F.relu(1 - std).mean()


def covariance_term(x: torch.Tensor) -> torch.Tensor:
    """Sum of squared off-diagonal covariances divided by the dimension."""
    x = x - x.mean(dim=0)
    cov = x.t() @ x / (x.shape[0] - 1)
    return off_diagonal(cov).pow(2).sum() / x.shape[1]


def vicreg_loss(x: torch.Tensor, y: torch.Tensor, sim_coeff: float, std_coeff: float, cov_coeff: float) -> torch.Tensor:
    """VICReg's weighted sum, with the variance and covariance terms averaged/summed over both branches."""
    invariance = F.mse_loss(x, y)
    variance = variance_term(x) / 2 + variance_term(y) / 2
    covariance = covariance_term(x) + covariance_term(y)
    return sim_coeff * invariance + std_coeff * variance + cov_coeff * covariance


@dataclass(frozen=True)
class VICRegConfig:
    """VICReg hyperparameters: projector widths (8192-8192-8192 in the paper), coefficients 25/25/1."""

    proj_dim: int = 256
    sim_coeff: float = 25.0
    std_coeff: float = 25.0
    cov_coeff: float = 1.0
    views: tuple[ViewSpec, ViewSpec] = field(default_factory=lambda: BYOL_VIEWS)

    def build(self) -> VICReg:
        """The objective with a fresh backbone."""
        return VICReg(self)


class VICReg(Objective):
    """Backbone and VICReg's projector (biased hidden linears, bias-free output)."""

    layout = "torchvision_no_fc"

    def __init__(self, config: VICRegConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = new_backbone(nn.Identity())
        self.projector = projection_mlp(
            (FEATURE_DIM, config.proj_dim, config.proj_dim, config.proj_dim), last_bias=False
        )

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """VICReg loss of two views."""
        x = self.projector(self.backbone(make_view(images, self.config.views[0], gen)))
        y = self.projector(self.backbone(make_view(images, self.config.views[1], gen)))
        config = self.config
        return vicreg_loss(x, y, config.sim_coeff, config.std_coeff, config.cov_coeff)

    def collapse_loss(self, batch_size: int) -> float | None:
        """Constant embeddings: no invariance or covariance cost, the whole variance hinge."""
        return float(self.config.std_coeff * (1 - 1e-4**0.5))

    def feature_model(self) -> nn.Module:
        """The backbone."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """``resnet50.pth``-style: flat torchvision keys without ``fc``."""
        return layouts.torchvision(self.backbone, with_fc=False)
