"""Position embeddings trained for another image size, resampled to the model's patch grid at load time.

DINOv2 releases its ViTs with a 37 x 37 grid (518 px, patch 14) and evaluates them at 224 px (16 x 16): its
``interpolate_pos_encoding`` resizes the patch part of ``pos_embed`` at every forward with bicubic
interpolation, a scale factor of ``(new + 0.1) / old`` (the "+0.1" kludge of DINO issue #8) and no
antialiasing, and keeps the class-token position as it is. The loader does the same once, so a timm ViT built
for 224 px (``timm:vit_small_patch14_dinov2(img_size=224)``) computes what the official model computes at 224.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

# DINO / DINOv2 ``interpolate_offset``.
OFFSET = 0.1
MAX_PREFIX_TOKENS = 8


def _square(n: int) -> int | None:
    side = math.isqrt(n)
    return side if side > 0 and side * side == n else None


def prefix_tokens(found: int, wanted: int) -> int | None:
    """How many leading tokens (class, registers) precede two square patch grids of ``found`` / ``wanted`` tokens.

    >>> prefix_tokens(1 + 37 * 37, 1 + 16 * 16)
    1
    """
    for prefix in range(min(MAX_PREFIX_TOKENS, found, wanted) + 1):
        if _square(found - prefix) and _square(wanted - prefix):
            return prefix
    return None


def resample_grid(pos_embed: torch.Tensor, tokens: int) -> torch.Tensor:
    """``pos_embed`` of shape (1, P + G*G, D) resized to (1, ``tokens``, D) the way DINO and DINOv2 do it.

    Raises:
        ValueError: the two token counts are not a common prefix plus two square grids.
    """
    prefix = prefix_tokens(pos_embed.shape[1], tokens)
    if pos_embed.ndim != 3 or pos_embed.shape[0] != 1 or prefix is None:
        raise ValueError(f"cannot resample a position embedding of shape {tuple(pos_embed.shape)} to {tokens} tokens")
    old, new = math.isqrt(pos_embed.shape[1] - prefix), math.isqrt(tokens - prefix)  # squares: prefix_tokens checked
    dim = pos_embed.shape[2]
    grid = pos_embed[:, prefix:].float().reshape(1, old, old, dim).permute(0, 3, 1, 2)
    scale = (new + OFFSET) / old
    resized = F.interpolate(grid, scale_factor=(scale, scale), mode="bicubic", antialias=False, align_corners=False)
    if tuple(resized.shape[-2:]) != (new, new):  # pragma: no cover - the offset keeps floor(old * scale) == new
        raise ValueError(f"resampling {old}x{old} to {new}x{new} gave {tuple(resized.shape[-2:])}")
    patches = resized.permute(0, 2, 3, 1).reshape(1, new * new, dim)
    return torch.cat([pos_embed[:, :prefix].float(), patches], dim=1).to(pos_embed.dtype)


def resample_pos_embeds(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Size]
) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """``state`` with every ``pos_embed`` whose grid differs from the model's resampled; and the keys resampled.

    Only tensors named ``pos_embed`` (or ``*.pos_embed``) with the model's embedding width are touched; any other
    shape mismatch is left for the caller to report.
    """
    out = dict(state)
    resampled: list[str] = []
    for key, shape in expected.items():
        if not (key == "pos_embed" or key.endswith(".pos_embed")) or key not in state:
            continue
        found = state[key]
        if tuple(found.shape) == tuple(shape) or found.ndim != 3 or len(shape) != 3 or found.shape[2] != shape[2]:
            continue
        if prefix_tokens(found.shape[1], shape[1]) is None:
            continue
        out[key] = resample_grid(found, shape[1])
        resampled.append(key)
    return out, tuple(resampled)
