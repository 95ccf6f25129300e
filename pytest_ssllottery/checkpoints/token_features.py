"""A frozen timm ViT whose forward returns the token features a method's linear evaluation reads.

The definition is data (a method's ``features`` table, see ``suite.feature_table``): the CLS tokens of the
last ``cls_blocks`` blocks, then optionally the mean of the last block's patch tokens, each block's tokens
through the final LayerNorm (``norm = "final"``) or raw (``"none"``), concatenated or, for DINO ViT-B,
interleaved per channel. Examples from the official evaluation code:

- DINO / iBOT ViT-S: ``cls_blocks = 4`` (4 x 384 = 1536-d).
- DINO ViT-B: ``cls_blocks = 1, patch_mean = true, order = "interleave"`` (1536-d; ``eval_linear.py`` stacks
  CLS and the patch mean on a last axis and flattens, so its released head expects ``[c0, m0, c1, m1, ...]``).
- iBOT ViT-B (``avgpool_patchtokens = 2``), DINOv2 1-layer head: ``cls_blocks = 1, patch_mean = true``.
- MoCo v3, MAE (``--cls_token``): ``cls_blocks = 1``, the same as timm's pooled feature.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from ..errors import SpecError
from .archs import get_architecture


class FeatureDefinition(Protocol):
    """What the wrapper needs of a method's ``features`` (``suite.spec.FeatureSpec``)."""

    @property
    def cls_blocks(self) -> int:
        """CLS tokens of the last N blocks."""

    @property
    def patch_mean(self) -> bool:
        """Append the mean of the last block's patch tokens."""

    @property
    def norm(self) -> str:
        """``final`` (the model's final LayerNorm on every block's output) or ``none``."""

    @property
    def order(self) -> str:
        """``concat`` or ``interleave``."""

    def dim(self, width: int) -> int:
        """Feature size for a ViT of embedding ``width``."""


def feature_dim(arch: str, features: FeatureDefinition | None) -> int:
    """Size of the feature vector of ``arch`` under ``features`` (None: the architecture's pooled feature)."""
    width = get_architecture(arch).feature_dim
    if features is None:
        return width
    return features.dim(width)


class TokenFeatures(nn.Module):
    """Wraps a timm VisionTransformer; ``forward(images)`` returns the defined (batch, feature_dim) features."""

    def __init__(self, vit: nn.Module, definition: FeatureDefinition, arch: str = "the model") -> None:
        super().__init__()
        _check(vit, definition, arch)
        self.vit = vit
        self.cls_blocks = definition.cls_blocks
        self.patch_mean = definition.patch_mean
        self.final_norm = definition.norm == "final"
        self.interleave = definition.order == "interleave"
        width = int(getattr(vit, "embed_dim"))  # noqa: B009
        self.feature_dim = definition.dim(width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The feature vectors of a batch of images."""
        blocks = max(self.cls_blocks, 1)
        outputs = self.vit.forward_intermediates(  # type: ignore[operator]
            images,
            indices=blocks,
            norm=self.final_norm,
            output_fmt="NLC",
            intermediates_only=True,
            return_prefix_tokens=True,
        )
        # (patch tokens, prefix tokens) per block; timm gives the patch tokens alone when there are no prefix tokens
        parts = [prefix[:, 0] for _, prefix in outputs[blocks - self.cls_blocks :]]
        if self.patch_mean:
            last = outputs[-1]
            parts.append((last[0] if isinstance(last, tuple) else last).mean(dim=1))
        if self.interleave:
            return torch.stack(parts, dim=-1).flatten(1)
        return torch.cat(parts, dim=-1)


def _check(vit: nn.Module, definition: FeatureDefinition, arch: str) -> None:
    """The model must be a timm ViT with a CLS token (when one is read) and enough blocks."""
    blocks = getattr(vit, "blocks", None)
    if not callable(getattr(vit, "forward_intermediates", None)) or not isinstance(
        blocks, nn.Sequential | nn.ModuleList
    ):
        raise SpecError(
            f"arch {arch!r}: token `features` need a timm VisionTransformer (with blocks and forward_intermediates), "
            f"found {type(vit).__name__}; remove `features` to use the pooled feature"
        )
    if definition.cls_blocks > len(blocks):
        raise SpecError(
            f"arch {arch!r}: `features.cls_blocks = {definition.cls_blocks}` but the model has {len(blocks)} blocks; "
            f"expected 0..{len(blocks)}"
        )
    if definition.cls_blocks and not getattr(vit, "has_class_token", getattr(vit, "cls_token", None) is not None):
        raise SpecError(
            f"arch {arch!r}: `features.cls_blocks = {definition.cls_blocks}` reads CLS tokens, and this model has "
            "no class token; use `cls_blocks = 0, patch_mean = true`"
        )
