"""Multi-crop (SwAV, DINO): two global views and several small local views, batched by resolution."""

from __future__ import annotations

import torch
from torch import nn

from ..augment import ViewSpec, make_view


def multicrop_views(images: torch.Tensor, specs: tuple[ViewSpec, ...], gen: torch.Generator) -> list[torch.Tensor]:
    """One augmented view of the batch per spec, global crops first."""
    return [make_view(images, spec, gen) for spec in specs]


def forward_by_resolution(backbone: nn.Module, crops: list[torch.Tensor]) -> torch.Tensor:
    """Backbone features of all crops, concatenating consecutive crops of one size into one forward.

    This is what SwAV's ``forward`` and DINO's ``MultiCropWrapper`` do, so BatchNorm sees the global
    crops together and the local crops together.
    """
    outputs: list[torch.Tensor] = []
    start = 0
    while start < len(crops):
        end = start
        while end < len(crops) and crops[end].shape[-1] == crops[start].shape[-1]:
            end += 1
        outputs.append(backbone(torch.cat(crops[start:end])))
        start = end
    return torch.cat(outputs)
