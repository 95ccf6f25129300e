"""Checkpoint objects in the layouts of the official SSL releases (``shared/notes/checkpoints.md`` §1).

Each function takes trained modules and returns what the official code would have saved, so that the
shipped zoo exercises the same loader paths as real checkpoints. Optimizer state is omitted.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

# Layout name -> one line on what it is; recorded in the manifest and documented in docs/zoo.md.
LAYOUTS: dict[str, str] = {
    "torchvision": "flat torchvision state dict with fc (torchvision's own weights)",
    "torchvision_no_fc": "flat torchvision state dict without fc (Barlow Twins / VICReg resnet50.pth)",
    "moco_v2": "{epoch, arch, state_dict}: module.encoder_q.* (MLP fc.0/fc.2), module.encoder_k.*, module.queue, "
    "module.queue_ptr",
    "simsiam": "{epoch, arch, state_dict}: module.encoder.* (3-layer projector as fc.*), module.predictor.*",
    "byol_convert": "chigur/byol-convert output: flat torchvision keys with fc (online classifier), "
    "no num_batches_tracked",
    "simclr_v2_separius": "Separius/SimCLRv2-Pytorch: {resnet: net.* keys with fc, head: layers.*}",
    "swav": "flat: module.* backbone, module.projection_head.*, module.prototypes.weight",
    "dino_full": "{student, teacher, epoch, args (Namespace), dino_loss: {center}}; module.backbone.*, module.head.*",
}

_WEIGHT_NORM = {"parametrizations.weight.original0": "weight_g", "parametrizations.weight.original1": "weight_v"}


def tensors(state: Mapping[str, torch.Tensor], *, num_batches_tracked: bool = True) -> dict[str, torch.Tensor]:
    """Detached, contiguous copies of a state dict's tensors."""
    return {
        key: value.detach().clone().contiguous()
        for key, value in state.items()
        if num_batches_tracked or not key.endswith("num_batches_tracked")
    }


def prefixed(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with every key prefixed."""
    return {prefix + key: value for key, value in state.items()}


def backbone_state(backbone: nn.Module, *, with_fc: bool) -> dict[str, torch.Tensor]:
    """The backbone's own tensors in torchvision names, with or without ``fc``."""
    state = tensors(backbone.state_dict())
    return state if with_fc else {k: v for k, v in state.items() if not k.startswith("fc.")}


def legacy_weight_norm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename ``parametrizations.weight.original{0,1}`` to the ``weight_g``/``weight_v`` that DINO ships."""
    renamed = {}
    for key, value in state.items():
        for new, old in _WEIGHT_NORM.items():
            if key.endswith(new):
                key = key[: -len(new)] + old
        renamed[key] = value
    return renamed


def torchvision(backbone: nn.Module, *, with_fc: bool = True) -> dict[str, torch.Tensor]:
    """Flat torchvision state dict (supervised, random, filter; Barlow Twins and VICReg without ``fc``)."""
    return backbone_state(backbone, with_fc=with_fc)


def moco_v2(
    encoder_q: nn.Module, encoder_k: nn.Module, queue: torch.Tensor, queue_ptr: torch.Tensor, epoch: int, arch: str
) -> dict[str, Any]:
    """MoCo v2's ``checkpoint_{epoch:04d}.pth.tar`` without the optimizer."""
    state = prefixed("module.encoder_q.", tensors(encoder_q.state_dict()))
    state |= prefixed("module.encoder_k.", tensors(encoder_k.state_dict()))
    state["module.queue"] = queue.detach().clone()
    state["module.queue_ptr"] = queue_ptr.detach().clone()
    return {"epoch": epoch, "arch": arch, "state_dict": state}


def simsiam(encoder: nn.Module, predictor: nn.Module, epoch: int, arch: str) -> dict[str, Any]:
    """SimSiam's ``checkpoint_{epoch:04d}.pth.tar`` without the optimizer."""
    state = prefixed("module.encoder.", tensors(encoder.state_dict()))
    state |= prefixed("module.predictor.", tensors(predictor.state_dict()))
    return {"epoch": epoch, "arch": arch, "state_dict": state}


def byol_convert(backbone: nn.Module, classifier: nn.Module) -> dict[str, torch.Tensor]:
    """What chigur/byol-convert writes: online backbone plus the online classifier as ``fc``."""
    state = tensors(backbone.state_dict(), num_batches_tracked=False)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    return state | prefixed("fc.", tensors(classifier.state_dict()))


def to_separius(key: str) -> str:
    """Torchvision key -> Separius/SimCLRv2-Pytorch key (BasicBlock variant); inverse of the loader's rename."""
    parts = {"conv1": "net.0", "bn1": "net.1.0", "conv2": "net.2", "bn2": "net.3.0", "conv3": "net.4", "bn3": "net.5.0"}
    if key.startswith("conv1."):
        return "net.0.0." + key.removeprefix("conv1.")
    if key.startswith("bn1."):
        return "net.0.1.0." + key.removeprefix("bn1.")
    if not key.startswith("layer"):
        return key
    layer, block, module, rest = key.split(".", 3)
    head = f"net.{layer.removeprefix('layer')}.blocks.{block}."
    if module == "downsample":
        index, rest = rest.split(".", 1)
        return head + ("projection.shortcut." if index == "0" else "projection.bn.0.") + rest
    return head + parts[module] + "." + rest


def simclr_v2_separius(backbone: nn.Module, classifier: nn.Module, head: nn.Module) -> dict[str, Any]:
    """Separius's converted SimCLR v2 file: ``resnet`` (with the supervised ``fc``) and contrastive ``head``."""
    state = backbone_state(backbone, with_fc=False) | prefixed("fc.", tensors(classifier.state_dict()))
    return {"resnet": {to_separius(k): v for k, v in state.items()}, "head": tensors(head.state_dict())}


def swav(backbone: nn.Module, projection_head: nn.Module, prototypes: nn.Module) -> dict[str, torch.Tensor]:
    """SwAV's released ``swav_*_pretrain.pth.tar``: a flat DDP state dict."""
    state = backbone_state(backbone, with_fc=False)
    state |= prefixed("projection_head.", tensors(projection_head.state_dict()))
    state |= prefixed("prototypes.", tensors(prototypes.state_dict()))
    return prefixed("module.", state)


def dino_full(
    student: nn.Module, teacher: nn.Module, center: torch.Tensor, epoch: int, args: dict[str, Any]
) -> dict[str, Any]:
    """DINO's ``checkpoint.pth`` without the optimizer: DDP-wrapped student and teacher, args, loss center."""

    def wrapped(net: nn.Module) -> dict[str, torch.Tensor]:
        return prefixed("module.", legacy_weight_norm(tensors(net.state_dict())))

    return {
        "student": wrapped(student),
        "teacher": wrapped(teacher),
        "epoch": epoch,
        "args": argparse.Namespace(**args),
        "dino_loss": {"center": center.detach().clone()},
    }
