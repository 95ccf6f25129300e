"""Fitting the official SSL checkpoint layouts to a backbone.

Steps (see ../shared/notes/checkpoints.md): unwrap the container (``teacher``, ``state_dict``, ``model``,
``network``, ``resnet``, VISSL's nested trunk, ...), apply a structural rename where the layout is not
torchvision's (OBoW native, SimCLR-v2 PyTorch ports), then choose the key prefix whose stripped keys cover
every backbone tensor by name and shape (a ViT position embedding trained for another grid is resampled, see
``pos_embed``). The online/query/teacher encoder wins over momentum copies; heads, projectors, prototypes and
queues are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import CheckpointError
from .pos_embed import resample_pos_embeds

# Containers tried in order; the first whose value is a mapping of tensors (after recursion) wins.
CONTAINER_KEYS = ("teacher", "state_dict", "model", "network", "resnet", "online_backbone", "backbone")
VISSL_TRUNK = ("classy_state_dict", "base_model", "model", "trunk")

# Prefixes in order of preference when several cover the backbone equally well.
PREFERRED_PREFIXES = (
    "module.encoder_q.",
    "module.base_encoder.",
    "module.encoder.",
    "module.backbone.",
    "backbone.",
    "_feature_blocks.",
    "module.",
    "encoder.",
    "model.",
    "",
)
MOMENTUM_MARKERS = ("encoder_k", "momentum", "target", "key_encoder", "ema", "student")


@dataclass(frozen=True)
class FitReport:
    """What the loader did: container, rename, chosen prefix, and what it dropped."""

    container: str
    rename: str | None
    prefix: str
    loaded: int
    dropped: tuple[str, ...] = field(default_factory=tuple)
    resampled: tuple[str, ...] = field(default_factory=tuple)  # position embeddings fitted to the model's grid

    def describe(self) -> str:
        """One line for logs and reports."""
        where = self.container or "<top level>"
        rename = f", renamed from {self.rename} layout" if self.rename else ""
        resampled = f", {', '.join(self.resampled)} resampled to the model's patch grid" if self.resampled else ""
        return (
            f"container {where}{rename}, prefix {self.prefix or '<none>'!r}: "
            f"{self.loaded} backbone tensors loaded, {len(self.dropped)} keys dropped{resampled}"
        )


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and any(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap(obj: Any) -> tuple[dict[str, torch.Tensor], str]:
    """The tensor mapping inside a checkpoint object, and the container path that held it."""
    node, path = obj, []
    if isinstance(node, Mapping) and "classy_state_dict" in node:
        for key in VISSL_TRUNK:
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
            path.append(key)
    # Descend into a container even when the level above holds a few tensors too: MoCo v3 / SimSiam lincls
    # files keep `best_acc1` (a tensor) next to `state_dict`. A real state dict never maps these keys to a table.
    while isinstance(node, Mapping):
        inner = next((k for k in CONTAINER_KEYS if isinstance(node.get(k), Mapping) and node[k]), None)
        if inner is None:
            break
        node = node[inner]
        path.append(inner)
    if not _is_state_dict(node):
        found = sorted(obj)[:12] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            f"no state dict of tensors found; top-level keys are {found}. Expected a flat state dict or one "
            f"under one of {list(CONTAINER_KEYS)}"
        )
    tensors = {str(k): v for k, v in node.items() if isinstance(v, torch.Tensor)}
    return tensors, ".".join(path)


_OBOW_NATIVE = re.compile(r"^(?P<pre>.*?)_feature_blocks\.(?P<idx>\d)\.(?P<rest>.*)$")
_SEPARIUS_BLOCK = re.compile(r"^net\.(?P<layer>[1-4])\.blocks\.(?P<block>\d+)\.(?P<rest>.*)$")
_SEPARIUS_PARTS = {
    "net.0": "conv1",
    "net.1.0": "bn1",
    "net.2": "conv2",
    "net.3.0": "bn2",
    "net.4": "conv3",
    "net.5.0": "bn3",
}


def _rename_obow(key: str) -> str:
    match = _OBOW_NATIVE.match(key)
    if not match:
        return key
    pre, idx, rest = match["pre"], int(match["idx"]), match["rest"]
    if idx == 0:
        rest = rest.replace("Conv.", "conv1.", 1).replace("bn.", "bn1.", 1)
        return pre + rest
    return f"{pre}layer{idx}.{rest}"


def _rename_separius(key: str) -> str:
    if key.startswith("net.0.0."):
        return "conv1." + key.removeprefix("net.0.0.")
    if key.startswith("net.0.1.0."):
        return "bn1." + key.removeprefix("net.0.1.0.")
    match = _SEPARIUS_BLOCK.match(key)
    if not match:
        return key
    rest = match["rest"]
    head = f"layer{match['layer']}.{match['block']}."
    if rest.startswith("projection.shortcut."):
        return head + "downsample.0." + rest.removeprefix("projection.shortcut.")
    if rest.startswith("projection.bn.0."):
        return head + "downsample.1." + rest.removeprefix("projection.bn.0.")
    for old, new in _SEPARIUS_PARTS.items():
        if rest.startswith(old + "."):
            return head + new + "." + rest.removeprefix(old + ".")
    return key


def structural_rename(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str | None]:
    """Rename non-torchvision layouts (OBoW native, SimCLR-v2 Separius port) to torchvision names."""
    if any("_feature_blocks.0.Conv." in key for key in state):
        return {_rename_obow(k): v for k, v in state.items()}, "OBoW native"
    if any(key.startswith("net.0.0.") for key in state) and any(".blocks." in key for key in state):
        return {_rename_separius(k): v for k, v in state.items()}, "SimCLR-v2 Separius"
    return state, None


def _prefix_rank(prefix: str) -> tuple[int, int, int]:
    momentum = any(marker in prefix for marker in MOMENTUM_MARKERS)
    preferred = PREFERRED_PREFIXES.index(prefix) if prefix in PREFERRED_PREFIXES else len(PREFERRED_PREFIXES)
    return (int(momentum), preferred, len(prefix))


def choose_prefix(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Size]) -> tuple[str, int]:
    """The prefix whose stripped keys match the most backbone tensors by name and shape.

    Ties go to the online/query encoder over momentum copies, then to the order of
    ``PREFERRED_PREFIXES``, then to the shortest prefix.
    """
    coverage: dict[str, int] = {}
    for key, tensor in state.items():
        for name, shape in expected.items():
            if not key.endswith(name) or tuple(tensor.shape) != tuple(shape):
                continue
            if len(key) == len(name) or key[-len(name) - 1] == ".":
                prefix = key[: len(key) - len(name)]
                coverage[prefix] = coverage.get(prefix, 0) + 1
    if not coverage:
        return "", 0
    best = max(coverage.values())
    prefix = min((p for p, c in coverage.items() if c == best), key=_prefix_rank)
    return prefix, best


def fit_state_dict(
    obj: Any, target: Mapping[str, torch.Tensor], head_prefixes: tuple[str, ...], *, keep_head: bool = False
) -> tuple[dict[str, torch.Tensor], FitReport]:
    """Extract from a checkpoint object the tensors of ``target``'s backbone (and optionally its head).

    Args:
        obj: What ``torch.load`` returned.
        target: The model's own ``state_dict()``.
        head_prefixes: Key prefixes of the model's classifier, never required.
        keep_head: Also take classifier tensors when the checkpoint has them with matching shapes.

    Raises:
        CheckpointError: some backbone tensor has no counterpart; the message lists them by name.
    """
    state, container = unwrap(obj)
    state, rename = structural_rename(state)
    expected = {
        k: v.shape
        for k, v in target.items()
        if not k.startswith(head_prefixes) and not k.endswith("num_batches_tracked")
    }
    prefix, count = choose_prefix(state, expected)
    stripped = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    stripped, resampled = resample_pos_embeds(stripped, expected)
    missing = [k for k in expected if k not in stripped or tuple(stripped[k].shape) != tuple(expected[k])]
    if missing:
        raise CheckpointError(_misfit_message(container, prefix, count, len(expected), missing, stripped, expected))
    wanted = set(expected)
    if keep_head:
        wanted |= {
            k for k in target if k.startswith(head_prefixes) and k in stripped and stripped[k].shape == target[k].shape
        }
    fitted = {k: stripped[k] for k in wanted}
    for key in target:
        if key.endswith("num_batches_tracked") and key in stripped:
            fitted[key] = stripped[key]
    dropped = tuple(sorted(k for k in state if not (k.startswith(prefix) and k[len(prefix) :] in fitted)))
    return fitted, FitReport(container, rename, prefix, len(fitted), dropped, resampled)


def _misfit_message(
    container: str,
    prefix: str,
    count: int,
    total: int,
    missing: list[str],
    stripped: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Size],
) -> str:
    shown = []
    for key in missing[:8]:
        if key in stripped:
            shown.append(f"{key} (shape {tuple(stripped[key].shape)}, expected {tuple(expected[key])})")
        else:
            shown.append(f"{key} (absent)")
    unexpected = [k for k in stripped if k not in expected][:8]
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    return (
        f"checkpoint does not fit the architecture: best prefix {prefix or '<none>'!r} under container "
        f"{container or '<top level>'} matches {count} of {total} backbone tensors. Missing or mis-shaped: "
        f"{', '.join(shown)}{more}. Unexpected keys under that prefix include: {unexpected}. "
        "Check the suite's `arch` for this method, or convert the checkpoint to torchvision key names."
    )
