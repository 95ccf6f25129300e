"""BYOL: online network with predictor regresses a momentum target's projection, symmetrised.

Also trains BYOL's online linear classifier on stop-gradient backbone features of the first view,
which the released checkpoint (converted by byol-convert) carries as ``fc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...constants import NUM_CLASSES
from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import projection_mlp
from ..optim import ema_update, momentum_to_one
from .base import FEATURE_DIM, Objective, SaveInfo, Step, frozen_copy, new_backbone

# BYOL's asymmetric augmentation pair: blur always on view 1, solarisation only on view 2.
BYOL_VIEWS = (
    ViewSpec(jitter=(0.4, 0.4, 0.2, 0.1), jitter_p=0.8, grayscale=0.2, blur=1.0, solarize=0.0),
    ViewSpec(jitter=(0.4, 0.4, 0.2, 0.1), jitter_p=0.8, grayscale=0.2, blur=0.1, solarize=0.2),
)


def regression_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BYOL's normalised MSE per sample, ``2 - 2 cos(p, z)``, with a stop-gradient on the target."""
    return 2 - 2 * F.cosine_similarity(prediction, target.detach(), dim=-1)


@dataclass(frozen=True)
class BYOLConfig:
    """BYOL hyperparameters (MLP widths scaled from 4096/256; ``base_momentum`` is tau_base)."""

    proj_hidden: int = 256
    proj_dim: int = 64
    pred_hidden: int = 256
    base_momentum: float = 0.99
    views: tuple[ViewSpec, ViewSpec] = field(default_factory=lambda: BYOL_VIEWS)

    def build(self) -> BYOL:
        """The objective with a fresh backbone."""
        return BYOL(self)


class BYOL(Objective):
    """Online backbone, projector, predictor and classifier; target backbone and projector."""

    layout = "byol_convert"

    def __init__(self, config: BYOLConfig) -> None:
        super().__init__()
        self.config = config
        self.online = new_backbone(nn.Identity())
        self.projector = projection_mlp((FEATURE_DIM, config.proj_hidden, config.proj_dim))
        self.predictor = projection_mlp((config.proj_dim, config.pred_hidden, config.proj_dim))
        self.classifier = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.target_backbone = frozen_copy(self.online)
        self.target_projector = frozen_copy(self.projector)

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """Symmetric regression loss plus the online classifier's cross-entropy."""
        views = [make_view(images, spec, gen) for spec in self.config.views]
        hidden = [self.online(view) for view in views]  # one forward per view, as BYOL does
        predictions = [self.predictor(self.projector(h)) for h in hidden]
        with torch.no_grad():
            targets = [self.target_projector(self.target_backbone(view)) for view in views]
        byol = (regression_loss(predictions[0], targets[1]) + regression_loss(predictions[1], targets[0])).mean()
        self.pretext_loss = float(byol.detach())
        return byol + F.cross_entropy(self.classifier(hidden[0].detach()), labels)

    def collapse_loss(self, batch_size: int) -> float | None:
        """A constant target is predicted exactly: the regression loss is 0, its minimum."""
        return 0.0

    def after_update(self, step: Step) -> None:
        """Move the target towards the online network; tau rises from ``base_momentum`` to 1."""
        tau = momentum_to_one(self.config.base_momentum, step.index, step.total)
        ema_update(self.target_backbone, self.online, tau)
        ema_update(self.target_projector, self.projector, tau)

    def feature_model(self) -> nn.Module:
        """The online backbone."""
        return self.online

    def checkpoint(self, info: SaveInfo) -> Any:
        """byol-convert's flat torchvision dict with the classifier as ``fc``."""
        return layouts.byol_convert(self.online, self.classifier)
