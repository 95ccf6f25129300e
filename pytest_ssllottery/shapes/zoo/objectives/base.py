"""What every training objective provides to the training loop and to the checkpoint writer."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from ....checkpoints.archs import SHAPES_WIDTHS, ShapesResNet
from ...constants import ARCH, NUM_CLASSES
from ..optim import OptimConfig

# Width of the pooled feature of ``shapes_resnet``.
FEATURE_DIM = SHAPES_WIDTHS[-1]


@dataclass(frozen=True)
class Step:
    """Position in training: update ``index`` of ``total``; an epoch is one pass over the training images."""

    index: int
    total: int
    steps_per_epoch: int

    @property
    def progress(self) -> float:
        """Fraction of training done, in ``[0, 1)``."""
        return self.index / max(1, self.total)

    @property
    def epoch(self) -> int:
        """Passes over the training images completed before this update."""
        return self.index // max(1, self.steps_per_epoch)


@dataclass(frozen=True)
class SaveInfo:
    """What the official layouts record besides weights."""

    epoch: int
    arch: str = ARCH
    args: dict[str, Any] | None = None


def new_backbone(head: nn.Module | None = None) -> ShapesResNet:
    """A freshly initialised ``shapes_resnet``; ``head`` replaces ``fc`` (``nn.Identity`` for pooled features)."""
    backbone = ShapesResNet(num_classes=NUM_CLASSES)
    if head is not None:
        backbone.fc = head
    return backbone


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def frozen_copy(module: ModuleT) -> ModuleT:
    """A copy for a momentum (target/key/teacher) encoder: same weights, no gradients."""
    twin = copy.deepcopy(module)
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    return twin


def pooled_features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Eval-mode pooled features of a torchvision-keyed backbone, whatever its ``fc`` holds."""
    twin = copy.deepcopy(model).eval()
    twin.fc = nn.Identity()
    with torch.no_grad():
        out: torch.Tensor = twin(images)
    return out


class Objective(nn.Module, ABC):
    """A training objective around one ``shapes_resnet`` backbone, with its heads and momentum copies."""

    layout: str = ""
    # The pretext (SSL) part of the last loss, when the loss also trains an online classifier on detached
    # features (SimCLR v2, BYOL); the manifest's loss curve and the collapse check use it.
    pretext_loss: float | None = None

    @abstractmethod
    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """The loss of one batch of float images ``(B, 3, H, W)`` in ``[0, 1]``; augments them itself."""

    @abstractmethod
    def feature_model(self) -> nn.Module:
        """The backbone whose pooled features a loaded checkpoint must reproduce."""

    @abstractmethod
    def checkpoint(self, info: SaveInfo) -> Any:
        """The object to ``torch.save``, in the layout of the method's official release."""

    def collapse_loss(self, batch_size: int) -> float | None:
        """The loss of the collapsed solution (every image mapped to one point), where it is well defined.

        A final loss at this value means the member learned nothing. For BYOL and SimSiam the collapsed
        solution is the loss minimum, so the value only says that a loss near it needs the feature
        diagnostics (``health.py``) to be read; None where no single value exists.
        """
        return None

    def parameter_groups(self, optim: OptimConfig) -> list[dict[str, Any]]:
        """Optimizer parameter groups; by default every trainable parameter in one group."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def before_update(self, step: Step) -> None:
        """Adjust gradients after ``backward`` (freezing, clipping)."""

    def after_update(self, step: Step) -> None:
        """Update momentum encoders after the optimizer step."""
