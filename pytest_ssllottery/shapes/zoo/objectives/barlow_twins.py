"""Barlow Twins: push the cross-correlation of two views' batch-normalised embeddings to the identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import projection_mlp
from .base import FEATURE_DIM, Objective, SaveInfo, Step, new_backbone
from .byol import BYOL_VIEWS


def off_diagonal(matrix: torch.Tensor) -> torch.Tensor:
    """The off-diagonal entries of a square matrix, flattened (Barlow Twins' trick)."""
    n, m = matrix.shape
    if n != m:
        raise ValueError(f"off_diagonal needs a square matrix, got {n}x{m}")
    return matrix.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor, bn: nn.Module) -> torch.Tensor:
    """Empirical cross-correlation ``bn(z1).T bn(z2) / B`` of two ``(B, D)`` embeddings."""
    normalized1: torch.Tensor = bn(z1)
    normalized2: torch.Tensor = bn(z2)
    return normalized1.t() @ normalized2 / z1.shape[0]


def barlow_twins_loss(c: torch.Tensor, lambd: float) -> torch.Tensor:
    """Invariance ``sum (1 - C_ii)^2`` plus ``lambd`` times redundancy reduction ``sum_{i!=j} C_ij^2``."""
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    return on_diag + lambd * off_diagonal(c).pow(2).sum()


@dataclass(frozen=True)
class BarlowTwinsConfig:
    """Barlow Twins hyperparameters: projector widths (8192-8192-8192 in the paper) and lambda."""

    proj_dim: int = 256
    lambd: float = 0.0051
    views: tuple[ViewSpec, ViewSpec] = field(default_factory=lambda: BYOL_VIEWS)

    def build(self) -> BarlowTwins:
        """The objective with a fresh backbone."""
        return BarlowTwins(self)


class BarlowTwins(Objective):
    """Backbone, bias-free 3-layer projector, and the non-affine BatchNorm on its output."""

    layout = "torchvision_no_fc"

    def __init__(self, config: BarlowTwinsConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = new_backbone(nn.Identity())
        dims = (FEATURE_DIM, config.proj_dim, config.proj_dim, config.proj_dim)
        self.projector = projection_mlp(dims, bias=False, last_bias=False)
        self.bn = nn.BatchNorm1d(config.proj_dim, affine=False)

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """The Barlow Twins loss of two views."""
        z1 = self.projector(self.backbone(make_view(images, self.config.views[0], gen)))
        z2 = self.projector(self.backbone(make_view(images, self.config.views[1], gen)))
        return barlow_twins_loss(cross_correlation(z1, z2, self.bn), self.config.lambd)

    def collapse_loss(self, batch_size: int) -> float | None:
        """Constant embeddings normalise to 0: the cross-correlation is 0 and each diagonal term costs 1."""
        return float(self.config.proj_dim)

    def feature_model(self) -> nn.Module:
        """The backbone."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """``resnet50.pth``-style: flat torchvision keys without ``fc``."""
        return layouts.torchvision(self.backbone, with_fc=False)
