"""The linear head an SSL method's authors released, used as the probe (``probe.kind = "official-head"``).

Released ImageNet heads for ResNet-50 (see shared/notes/checkpoints.md §4):

- DINO ``dino_resnet50_linearweights.pth`` and SwAV ``swav_800ep_eval_linear.pth.tar``: ``state_dict`` =
  ``{module.linear.weight, module.linear.bias}``.
- MoCo v3 ``linear-1000ep.pth.tar`` and SimSiam ``linear/model_best.pth.tar``: the whole classifier,
  ``state_dict`` = ``module.`` + torchvision keys, the head being ``module.fc.{weight,bias}``.

Released ImageNet heads for ViTs (docs/imagenet.md, "The ViT suite"):

- DINO ``dino_deitsmall16_linearweights.pth`` / ``dino_vitbase16_linearweights.pth``: ``state_dict`` =
  ``module.linear.*`` of shape 1000 x 1536 (the method's ``features``: four CLS tokens, or CLS and patch mean).
- MoCo v3 ``linear-vit-{s,b}-300ep.pth.tar``: the whole classifier, the head being ``module.head.*``.
- DINOv2 ``dinov2_vits14_linear_head.pth``: a bare ``nn.Linear`` state dict (``weight``, ``bias``), 1000 x 768.

The head is applied to the raw features of the method's feature definition (``normalize = "none"``):
logits = features @ W.T + b, W of shape (classes, feature size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checkpoints.io import read_checkpoint, sha256_of
from ..checkpoints.layouts import unwrap
from ..checkpoints.token_features import feature_dim
from ..errors import CheckpointError
from ..suite.spec import MethodSpec
from .cache import cache_key
from .probe import LinearProbe

HEAD_VERSION = 1
# Key stems of a linear classifier, in order of preference: DINO/SwAV ``linear``, torchvision ``fc``,
# timm ``head``/``classifier`` (and solo-learn's online ``classifier``), a bare nn.Linear state dict.
HEAD_STEMS = ("linear.", "fc.", "head.", "classifier.", "")


def check_head_file(method: MethodSpec, path: Path) -> Path:
    """The method's ``head_checkpoint``, resolved to ``path``, must exist.

    Raises:
        CheckpointError: the method has no ``head_checkpoint`` or the file does not exist.
    """
    if not method.head_checkpoint:
        raise CheckpointError(
            f"method {method.name!r}: probe kind 'official-head' needs `head_checkpoint` (the released linear head)"
        )
    if not path.is_file():
        raise CheckpointError(
            f"method {method.name!r}: official linear head {path} does not exist. Download the head released with "
            "the checkpoint (see the suite's notes and docs/imagenet.md), pass --ssl-checkpoint-dir, or use the "
            'trained probe (probe.kind = "linear")'
        )
    return path


def find_head(state: dict[str, torch.Tensor], shape: tuple[int, int]) -> tuple[str, torch.Tensor, torch.Tensor] | None:
    """The ``<prefix>weight`` / ``<prefix>bias`` pair of a linear classifier in ``state``.

    Candidates are 2-D weights with a 1-D bias whose prefix ends in one of ``HEAD_STEMS`` (in that order of
    preference); the first of ``shape`` wins, else the first found (so that errors can show its shape).
    """
    candidates: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    for stem in HEAD_STEMS:
        for key, weight in state.items():
            start = key.removesuffix("weight")
            if start == key or weight.ndim != 2:
                continue
            if start != stem and not (stem and start.endswith("." + stem)):
                continue
            bias = state.get(start + "bias")
            if bias is not None and bias.ndim == 1:
                candidates.append((start, weight, bias))
    for candidate in candidates:
        if tuple(candidate[1].shape) == shape:
            return candidate
    return candidates[0] if candidates else None


def load_official_head(
    method: MethodSpec, path: Path, num_classes: int, trust: bool = False
) -> tuple[LinearProbe, str]:
    """The method's released linear head as a LinearProbe (normalize "none"), and a content key for it.

    Raises:
        CheckpointError: missing file, hash mismatch, no linear head in it, or a head whose shape is not
            (suite classes x feature dim of the method's arch).
    """
    check_head_file(method, path)
    obj = read_checkpoint(path, sha256=method.head_sha256, trust=trust)
    try:
        state, container = unwrap(obj)
    except CheckpointError as exc:
        raise CheckpointError(f"method {method.name!r}: official head {path}: {exc}") from None
    classes = num_classes
    dim = feature_dim(method.arch, method.features)
    found = find_head(state, (classes, dim))
    if found is None:
        raise CheckpointError(
            f"method {method.name!r}: official head {path} has no linear layer (a 2-D `…weight` with its `…bias`); "
            f"keys under {container or '<top level>'}: {sorted(state)[:8]}. Expected DINO/SwAV `module.linear.*` "
            "or a whole classifier with `module.fc.*` (MoCo v3, SimSiam)"
        )
    prefix, weight, bias = found
    if tuple(weight.shape) != (classes, dim) or tuple(bias.shape) != (classes,):
        raise CheckpointError(
            f"method {method.name!r}: official head {path} has {prefix}weight of shape {tuple(weight.shape)} and "
            f"{prefix}bias of shape {tuple(bias.shape)}; expected ({classes}, {dim}) and ({classes},): the suite's "
            f"{classes} classes x the {dim}-d features of arch {method.arch!r}{_features_note(method)}. Use the head "
            'released for this backbone and dataset, or the trained probe (probe.kind = "linear")'
        )
    probe = LinearProbe(
        weight=weight.detach().double().numpy(),
        bias=bias.detach().double().numpy(),
        shift=np.zeros(dim),
        scale=np.ones(dim),
        normalize="none",
    )
    identity = {"kind": "official-head", "sha256": sha256_of(path), "prefix": prefix, "arch": method.arch}
    key = cache_key(identity | method.features_identity() | {"v": HEAD_VERSION})
    return probe, key


def _features_note(method: MethodSpec) -> str:
    """`` under features {...}`` when the method defines token features (their size sets the head's width)."""
    if method.features is None:
        return ""
    return f" under `features` {method.features.as_dict()}"
