"""ViT SSL checkpoints fabricated in the key layouts of the official releases (random weights).

Each layout copies what the release's own saving code writes (see docs/imagenet.md, "The ViT suite"):
teacher/student or base/momentum containers, DINO/iBOT heads, MoCo v3's MLP head and predictor, MAE's decoder,
DINOv2's mask token and its 518 px position embedding. Copies that must never be loaded (student, momentum
encoder) hold other values (``state`` + 1), so a loader that picks them is caught.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from pytest_ssllottery.checkpoints.archs import get_architecture

# Tiny timm ViTs of the real model families: 32 px, patch 16 -> a 2 x 2 grid; DINOv2 patch 14.
TINY_VIT = "timm:vit_small_patch16_224(img_size=32, depth=3, embed_dim=48, num_heads=3)"
TINY_DINOV2_518 = "timm:vit_small_patch14_dinov2(img_size=70, depth=3, embed_dim=48, num_heads=3)"  # 5 x 5 grid
TINY_DINOV2_224 = "timm:vit_small_patch14_dinov2(img_size=28, depth=3, embed_dim=48, num_heads=3)"  # 2 x 2 grid

# Layout tokens of the bundled imagenet-variants-vit suite, each with a fabricated test.
VIT_LAYOUTS = ("dino-vit", "dino-vit-full", "moco-v3-vit", "mae", "ibot", "ibot-full", "dinov2")


def vit_state(seed: int, arch: str = TINY_VIT) -> dict[str, torch.Tensor]:
    """A random state dict of ``arch`` without its classifier: every tensor differs between seeds."""
    torch.manual_seed(seed)
    model = get_architecture(arch).build()
    return {
        key: torch.randn_like(value) * 0.2
        + (1.0 if key.endswith(("norm1.weight", "norm2.weight", "norm.weight")) else 0)
        for key, value in model.state_dict().items()
        if not key.startswith("head.")
    }


def vit_model(state: Mapping[str, torch.Tensor], arch: str = TINY_VIT) -> nn.Module:
    """``arch`` holding ``state``, in eval mode (the source model a release was saved from)."""
    model = get_architecture(arch).build(0)
    model.load_state_dict(dict(state), strict=True)
    return model.eval()


def _under(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in tensors.items()}


def _shifted(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v + 1.0 for k, v in state.items()}


def _mlp(prefix: str, dims: Sequence[int], bn: bool = False) -> dict[str, torch.Tensor]:
    """Linear(/BN) tensors under ``prefix`` at indices 0, 2/3, ... (shapes only matter)."""
    out: dict[str, torch.Tensor] = {}
    step = 3 if bn else 2
    for index, (fan_in, fan_out) in zip(itertools.count(0, step), itertools.pairwise(dims), strict=False):
        out[f"{prefix}{index}.weight"] = torch.randn(fan_out, fan_in)
        out[f"{prefix}{index}.bias"] = torch.zeros(fan_out)
        if bn:
            out |= {f"{prefix}{index + 1}.{name}": torch.ones(fan_out) for name in ("weight", "running_var")}
            out |= {f"{prefix}{index + 1}.{name}": torch.zeros(fan_out) for name in ("bias", "running_mean")}
    return out


def _dino_head(prefix: str, dim: int) -> dict[str, torch.Tensor]:
    """DINOHead / iBOTHead: an MLP to a bottleneck, then a weight-normalised last layer."""
    head = _mlp(prefix + "mlp.", [dim, 32, 32, 16])
    head |= {f"{prefix}last_layer.weight_g": torch.ones(64, 1), f"{prefix}last_layer.weight_v": torch.randn(64, 16)}
    return head


def official_vit_checkpoint(state: Mapping[str, torch.Tensor], layout: str) -> object:
    """The object an official release holds for ``state`` (timm ViT keys, no classifier) in ``layout``."""
    dim = int(state["cls_token"].shape[-1])
    args = argparse.Namespace(arch="vit_small", patch_size=16)
    if layout in ("dino-vit", "dinov2"):  # flat backbone-only files; DINOv2 also keeps its mask token
        extra = {"mask_token": torch.randn(1, dim)} if layout == "dinov2" else {}
        return dict(state) | extra
    if layout == "dino-vit-full":  # the ViT teacher is not DDP-wrapped (no BN), the student is
        teacher = _under("backbone.", state) | _dino_head("head.", dim)
        student = _under("module.backbone.", _shifted(state)) | _dino_head("module.head.", dim)
        center = {"center": torch.zeros(1, 64)}
        return {
            "student": student,
            "teacher": teacher,
            "optimizer": {},
            "epoch": 100,
            "args": args,
            "dino_loss": center,
        }
    if layout == "moco-v3-vit":
        sd = _under("module.base_encoder.", state) | _mlp("module.base_encoder.head.", [dim, 64, 16], bn=True)
        sd |= _under("module.momentum_encoder.", _shifted(state))
        sd |= _mlp("module.momentum_encoder.head.", [dim, 64, 16], bn=True) | _mlp(
            "module.predictor.", [16, 64, 16], True
        )
        scaler = {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 0}
        return {"epoch": 300, "arch": "vit_small", "state_dict": sd, "optimizer": {}, "scaler": scaler}
    if layout == "mae":  # encoder keys as in timm; the decoder and its mask token are dropped if present
        decoder = {"mask_token": torch.zeros(1, 1, 32), "decoder_pos_embed": torch.zeros(1, 5, 32)}
        decoder |= {"decoder_embed.weight": torch.randn(32, dim), "decoder_embed.bias": torch.zeros(32)}
        decoder |= {"decoder_blocks.0.norm1.weight": torch.ones(32), "decoder_norm.weight": torch.ones(32)}
        decoder |= {"decoder_pred.weight": torch.randn(768, 32), "decoder_pred.bias": torch.zeros(768)}
        return {"model": dict(state) | decoder}
    if layout == "ibot":  # checkpoint_teacher.pth
        return {"state_dict": _under("backbone.", state) | _dino_head("head.", dim)}
    if layout == "ibot-full":  # both networks DDP-wrapped; the student has the masked-image-modeling embedding
        teacher = _under("module.backbone.", state) | _dino_head("module.head.", dim)
        student = _under("module.backbone.", _shifted(state)) | _dino_head("module.head.", dim)
        student["module.backbone.masked_embed"] = torch.zeros(1, dim)
        return {"student": student, "teacher": teacher, "optimizer": {}, "epoch": 800, "args": args, "ibot_loss": {}}
    raise ValueError(f"unknown layout {layout!r}")


def save_vit_checkpoint(path: Path, state: Mapping[str, torch.Tensor], layout: str) -> Path:
    """Write ``state`` in ``layout`` to ``path`` with torch.save."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(official_vit_checkpoint(state, layout), path)
    return path


def official_vit_head(
    path: Path, weight: torch.Tensor, bias: torch.Tensor, layout: str, state: Mapping[str, torch.Tensor] | None = None
) -> Path:
    """A released ViT linear head: ``dino`` (``module.linear.*``), ``moco-v3-vit`` (whole classifier with
    ``module.head.*`` after the ``module.``-prefixed backbone ``state``) or ``dinov2`` (a bare nn.Linear)."""
    obj: dict[str, object]
    if layout == "dino":
        sd = {"module.linear.weight": weight, "module.linear.bias": bias}
        obj = {"epoch": 100, "state_dict": sd, "optimizer": {}, "scheduler": {}, "best_acc": 77.0}
    elif layout == "moco-v3-vit":
        sd = _under("module.", state or {}) | {"module.head.weight": weight, "module.head.bias": bias}
        obj = {"epoch": 90, "arch": "vit_small", "state_dict": sd, "best_acc1": torch.tensor(73.2), "optimizer": {}}
    elif layout == "dinov2":
        obj = {"weight": weight, "bias": bias}
    else:
        raise ValueError(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path
