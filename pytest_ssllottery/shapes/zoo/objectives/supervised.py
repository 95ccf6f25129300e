"""Supervised reference (cross-entropy with standard augmentation) and the untrained floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layouts
from ..augment import ViewSpec, make_view
from .base import Objective, SaveInfo, Step, new_backbone

# torchvision's ImageNet training transform (RandomResizedCrop + horizontal flip), crops at GLOBAL_SCALE.
STANDARD_VIEW = ViewSpec(jitter_p=0.0, grayscale=0.0)


@dataclass(frozen=True)
class SupervisedConfig:
    """Cross-entropy on one standard-augmented view; ``label_smoothing`` as in torchvision's recipes."""

    view: ViewSpec = field(default_factory=lambda: STANDARD_VIEW)
    label_smoothing: float = 0.0

    def build(self) -> Supervised:
        """The objective with a fresh backbone."""
        return Supervised(self)


class Supervised(Objective):
    """Torchvision-style supervised training; the checkpoint is the flat classifier state dict."""

    layout = "torchvision"

    def __init__(self, config: SupervisedConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = new_backbone()

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """Cross-entropy of the logits of one augmented view."""
        logits = self.backbone(make_view(images, self.config.view, gen))
        return F.cross_entropy(logits, labels, label_smoothing=self.config.label_smoothing)

    def feature_model(self) -> nn.Module:
        """The classifier itself."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """Flat torchvision state dict with ``fc``."""
        return layouts.torchvision(self.backbone, with_fc=True)


@dataclass(frozen=True)
class UntrainedConfig:
    """No training: the seeded initialisation that every member starts from."""

    def build(self) -> Untrained:
        """The objective with a fresh backbone."""
        return Untrained()


class Untrained(Objective):
    """The random-initialisation floor; trained for zero steps."""

    layout = "torchvision"

    def __init__(self) -> None:
        super().__init__()
        self.backbone = new_backbone()

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """Never called: the recipe trains for zero epochs."""
        raise RuntimeError("the random-init member is not trained")

    def feature_model(self) -> nn.Module:
        """The untouched initialisation."""
        return self.backbone

    def checkpoint(self, info: SaveInfo) -> Any:
        """Flat torchvision state dict with its random ``fc``."""
        return layouts.torchvision(self.backbone, with_fc=True)
