"""Collapse diagnostics of a trained member, recorded in the manifest beside its loss curve.

A collapsed representation maps every image to (nearly) the same point. Two numbers tell it apart from a
healthy one, whatever the objective: the per-dimension standard deviation of the L2-normalised pooled
features times ``sqrt(d)`` (about 1 for spread-out features, 0 under complete collapse; SimSiam's
collapse test), and the effective rank of the features (``exp`` of the entropy of the normalised
singular values; 1 when everything lies on one line).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .augment import normalize, to_float
from .objectives.base import pooled_features

_CHUNK = 1000


@dataclass(frozen=True)
class Health:
    """Collapse diagnostics of pooled features."""

    normalized_std: float
    effective_rank: float
    dimensions: int


def feature_health(model: nn.Module, images: torch.Tensor) -> Health:
    """Diagnostics of ``model``'s eval-mode pooled features on uint8 ``(N, 32, 32, 3)`` images."""
    chunks = [
        pooled_features(model, normalize(to_float(images[i : i + _CHUNK]))) for i in range(0, len(images), _CHUNK)
    ]
    features = torch.cat(chunks).double()
    unit = F.normalize(features, dim=1)
    dims = features.shape[1]
    spread = float(unit.std(dim=0).mean() * dims**0.5)
    singular = torch.linalg.svdvals(features - features.mean(dim=0))
    weights = singular / singular.sum().clamp_min(1e-12)
    entropy = -(weights * torch.log(weights.clamp_min(1e-12))).sum()
    return Health(round(spread, 4), round(float(torch.exp(entropy)), 2), dims)
