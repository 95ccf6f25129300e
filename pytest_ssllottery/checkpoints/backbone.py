"""Frozen backbones from checkpoints: read, fit the layout, load, strip the head."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..errors import CheckpointError
from .archs import classifier_prefixes, get_architecture, strip_classifier
from .io import read_checkpoint
from .layouts import FitReport, fit_state_dict
from .token_features import FeatureDefinition, TokenFeatures, feature_dim


@dataclass(frozen=True)
class LoadedBackbone:
    """A backbone in eval mode whose forward returns pooled features, and how it was loaded."""

    model: nn.Module
    arch: str
    feature_dim: int
    report: FitReport


def load_classifier(
    path: Path | None, arch: str, *, sha256: str | None = None, trust: bool = False, keep_head: bool = False
) -> tuple[nn.Module, FitReport]:
    """Build ``arch`` and load a checkpoint into it; ``path=None`` keeps the random initialisation."""
    model = get_architecture(arch).build()
    if path is None:
        return model.eval(), FitReport("", None, "", 0)
    obj = read_checkpoint(path, sha256=sha256, trust=trust)
    try:
        fitted, report = fit_state_dict(obj, model.state_dict(), classifier_prefixes(model), keep_head=keep_head)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    result = model.load_state_dict(fitted, strict=False)
    unexpected = list(result.unexpected_keys)
    bad_missing = [
        k
        for k in result.missing_keys
        if not k.endswith("num_batches_tracked") and not k.startswith(classifier_prefixes(model))
    ]
    if unexpected or bad_missing:  # pragma: no cover - fit_state_dict guarantees coverage
        raise CheckpointError(f"{path}: unexpected keys {unexpected}, missing keys {bad_missing}")
    return model.eval(), report


def load_backbone(
    path: Path | None,
    arch: str,
    *,
    sha256: str | None = None,
    trust: bool = False,
    features: FeatureDefinition | None = None,
) -> LoadedBackbone:
    """A frozen feature extractor: the checkpoint's backbone with its classifier removed.

    ``features`` (a method's ``features`` table) makes a timm ViT return those token features instead of its
    pooled feature; ``feature_dim`` is then their size.
    """
    model, report = load_classifier(path, arch, sha256=sha256, trust=trust)
    strip_classifier(model)
    if features is not None:
        model = TokenFeatures(model, features, arch)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return LoadedBackbone(model.eval(), arch, feature_dim(arch, features), report)
