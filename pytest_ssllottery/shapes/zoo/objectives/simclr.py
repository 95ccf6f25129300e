"""SimCLR (v2): NT-Xent between two views through a 3-layer projection head.

As in the official TF code with ``lineareval_while_pretraining``, a linear classifier is trained on
stop-gradient features alongside; Separius's converted checkpoint ships it as ``resnet.fc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...constants import NUM_CLASSES
from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import ContrastiveHead
from .base import FEATURE_DIM, Objective, SaveInfo, Step, new_backbone

# SimCLR's ImageNet augmentation at colour strength 1.0, at 32 px (blur kernel 3 ~ 10% of the side).
SIMCLR_VIEW = ViewSpec(jitter=(0.8, 0.8, 0.8, 0.2), jitter_p=0.8, grayscale=0.2, blur=0.5)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalised-temperature cross-entropy over the ``2B`` views; each view's positive is its twin.

    Args:
        z1: Projections of the first views, ``(B, D)``.
        z2: Projections of the second views, ``(B, D)``.
        temperature: Softmax temperature.
    """
    batch = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.t() / temperature
    self_mask = torch.eye(2 * batch, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    targets = torch.cat([torch.arange(batch, 2 * batch), torch.arange(0, batch)]).to(z.device)
    return F.cross_entropy(logits, targets)


@dataclass(frozen=True)
class SimCLRConfig:
    """SimCLR v2 hyperparameters (projection width = backbone width, as in v2)."""

    temperature: float = 0.2
    proj_layers: int = 3
    proj_dim: int = 64
    proj_hidden: int = 64
    view: ViewSpec = field(default_factory=lambda: SIMCLR_VIEW)

    def build(self) -> SimCLR:
        """The objective with a fresh backbone."""
        return SimCLR(self)


class SimCLR(Objective):
    """Backbone, contrastive head, and the stop-gradient linear classifier."""

    layout = "simclr_v2_separius"

    def __init__(self, config: SimCLRConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = new_backbone(nn.Identity())
        self.head = ContrastiveHead(FEATURE_DIM, config.proj_dim, config.proj_layers, config.proj_hidden)
        self.classifier = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """NT-Xent plus the classifier's cross-entropy on detached features of both views."""
        views = torch.cat([make_view(images, self.config.view, gen), make_view(images, self.config.view, gen)])
        hidden = self.backbone(views)
        z1, z2 = self.head(hidden).chunk(2)
        supervised = F.cross_entropy(self.classifier(hidden.detach()), labels.repeat(2))
        pretext = nt_xent(z1, z2, self.config.temperature)
        self.pretext_loss = float(pretext.detach())
        return pretext + supervised

    def collapse_loss(self, batch_size: int) -> float | None:
        """Identical projections: every one of the ``2B - 1`` candidates is equally likely."""
        return math.log(2 * batch_size - 1)

    def feature_model(self) -> nn.Module:
        """The backbone."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """``{'resnet': ..., 'head': ...}`` with Separius's key names."""
        return layouts.simclr_v2_separius(self.backbone, self.classifier, self.head)
