"""Linear probes on cached frozen features: fit once per method, then score any dataset.

Two optimisers: full-batch L-BFGS on multinomial logistic regression with an L2 penalty (deterministic
and fast for small feature sets; the CLIP-style protocol), and mini-batch SGD with momentum, weight decay
and a cosine or step schedule (the official SSL linear-eval protocols, minus augmentation).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import SpecError
from ..suite.spec import ProbeSpec
from .progress import Advance

PROBE_VERSION = 1
_EPS = 1e-6


@dataclass(frozen=True)
class LinearProbe:
    """A linear classifier over normalised features: logits = normalise(x) @ W.T + b."""

    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    scale: np.ndarray
    normalize: str

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Apply the feature normalisation fitted on the train split."""
        x: np.ndarray = np.asarray(features, dtype=np.float64)
        if self.normalize == "l2":
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)
        elif self.normalize == "standardize":
            x = (x - self.shift) * self.scale
        return x

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Class scores for each row of ``features``."""
        return np.asarray(self.transform(features) @ self.weight.T.astype(np.float64) + self.bias, dtype=np.float64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for the cache."""
        return {
            "weight": self.weight,
            "bias": self.bias,
            "shift": self.shift,
            "scale": self.scale,
            "normalize": np.array(self.normalize),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LinearProbe:
        """Rebuild from :meth:`to_arrays` output."""
        return cls(arrays["weight"], arrays["bias"], arrays["shift"], arrays["scale"], str(arrays["normalize"]))


def _normaliser(features: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    dim = features.shape[1]
    if mode == "standardize":
        mean = features.mean(axis=0, dtype=np.float64)
        std = features.std(axis=0, dtype=np.float64)
        return mean, 1.0 / np.maximum(std, _EPS)
    return np.zeros(dim), np.ones(dim)


def _lr_at(spec: ProbeSpec, epoch: int) -> float:
    if spec.schedule == "cosine":
        return spec.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / spec.epochs))
    if spec.schedule == "step":
        return spec.lr * (0.1 ** sum(epoch >= m for m in spec.milestones))
    return spec.lr


def _fit_lbfgs(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, spec: ProbeSpec, advance: Advance | None
) -> tuple[torch.Tensor, torch.Tensor]:
    weight = torch.zeros(num_classes, x.shape[1], dtype=x.dtype, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=spec.epochs,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight.T + bias, y) + 0.5 * spec.weight_decay * weight.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    if advance is not None:
        advance(spec.epochs)
    return weight.detach(), bias.detach()


LARS_TRUST = 0.001


@torch.no_grad()
def _lars_scale(layer: torch.nn.Module, weight_decay: float) -> None:
    """LARS as SimSiam's linear eval uses it (apex LARC, trust 0.001, no clipping).

    Each parameter's gradient, with weight decay folded in, is scaled by
    ``trust * ||p|| / (||g|| + wd * ||p||)`` when both norms are non-zero; SGD with momentum then steps.
    """
    for parameter in layer.parameters():
        if parameter.grad is None:
            continue
        weight_norm = parameter.norm()
        grad_norm = parameter.grad.norm()
        if weight_norm > 0 and grad_norm > 0:
            ratio = LARS_TRUST * weight_norm / (grad_norm + weight_decay * weight_norm + 1e-8)
            parameter.grad.add_(parameter, alpha=weight_decay).mul_(ratio)


def readonly_tensor(array: np.ndarray) -> torch.Tensor:
    """A torch view of ``array`` without a copy, also of the read-only memory maps the cache hands out.

    torch warns that writing to such a view is undefined; the callers only ever read it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(array))


class ResidentFeatures:
    """Train features kept where the probe trains, in their stored dtype; batches are normalised in float32.

    On a GPU the raw features (float16 when the cache stores float16: 5.2 GB for ImageNet train at 2048-d)
    live in device memory and each batch is gathered and normalised there, with no per-epoch host copy. When
    they do not fit (:func:`keeps_on_device`), they stay in pinned host memory and each batch is gathered on
    the host and sent over. Normalising per batch gives exactly the numbers of normalising the whole matrix:
    the operations are per element (standardise) or per row (l2).
    """

    def __init__(self, features: np.ndarray, template: LinearProbe, device: str) -> None:
        self.device = torch.device(device)
        raw = readonly_tensor(features)
        if raw.dtype not in (torch.float16, torch.bfloat16, torch.float32):
            raw = raw.to(torch.float32)
        self.on_device = keeps_on_device(raw, self.device)
        if self.on_device:
            self.raw = raw.to(self.device)
        else:
            self.raw = raw.pin_memory() if torch.cuda.is_available() else raw
        self.normalize = template.normalize
        self.shift = torch.from_numpy(template.shift.astype(np.float32)).to(self.device)
        self.scale = torch.from_numpy(template.scale.astype(np.float32)).to(self.device)

    @property
    def count(self) -> int:
        """Number of rows."""
        return int(self.raw.shape[0])

    @property
    def dim(self) -> int:
        """Feature width."""
        return int(self.raw.shape[1])

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` (a tensor on the probe's device), normalised, float32, on the probe's device."""
        if self.on_device:
            x = self.raw[index].to(torch.float32)
        else:
            x = self.raw[index.cpu()].to(self.device, non_blocking=True).to(torch.float32)
        if self.normalize == "l2":
            x = x / x.norm(dim=1, keepdim=True).clamp_min(_EPS)
        elif self.normalize == "standardize":
            x = (x - self.shift).mul_(self.scale)
        return x


DEVICE_HEADROOM = 0.8  # share of the free device memory the resident features may take


def keeps_on_device(features: torch.Tensor, device: torch.device) -> bool:
    """Whether ``features`` stay on ``device``: always on the CPU; on CUDA when they fit its free memory.

    ``DEVICE_HEADROOM`` leaves room for the probe's batches and gradients.
    """
    if device.type == "cpu":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return features.numel() * features.element_size() < DEVICE_HEADROOM * free


def _fit_sgd(
    x: ResidentFeatures, y: torch.Tensor, num_classes: int, spec: ProbeSpec, advance: Advance | None
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(spec.seed)
    layer = torch.nn.Linear(x.dim, num_classes, dtype=torch.float32, device=x.device)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator, dtype=torch.float32).mul_(0.01))
        layer.bias.zero_()
    # Epoch orders are drawn on the probe's device: no per-epoch host copy (on the CPU, the same generator as above)
    if x.device.type != "cpu":
        generator = torch.Generator(device=x.device).manual_seed(spec.seed)
    optimizer = torch.optim.SGD(
        layer.parameters(),
        lr=spec.lr,
        momentum=spec.momentum,
        nesterov=spec.nesterov and spec.momentum > 0,
        weight_decay=0.0 if spec.optimizer == "lars" else spec.weight_decay,  # LARS folds it in itself
    )
    count = x.count
    for epoch in range(spec.epochs):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(spec, epoch)
        order = torch.randperm(count, generator=generator, device=x.device)
        for start in range(0, count, spec.batch_size):
            index = order[start : start + spec.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(layer(x.batch(index)), y[index]).backward()  # type: ignore[no-untyped-call]
            if spec.optimizer == "lars":
                _lars_scale(layer, spec.weight_decay)
            optimizer.step()
        if advance is not None:
            advance(1)
    return layer.weight.detach(), layer.bias.detach()


def fit_probe(
    features: np.ndarray,
    targets: np.ndarray,
    num_classes: int,
    spec: ProbeSpec,
    device: str = "cpu",
    advance: Advance | None = None,
) -> LinearProbe:
    """Fit a linear probe on train features (deterministic for a given spec and device).

    Args:
        features: (N, D) frozen features of the train split.
        targets: (N,) class ids in [0, num_classes).
        num_classes: Width of the classifier.
        spec: The protocol: optimiser, epochs (L-BFGS iterations for ``lbfgs``), lr, weight decay, ...
        device: Where SGD runs (L-BFGS always runs on CPU in float64).
        advance: Progress callback, called with the number of epochs done.
    """
    if features.shape[0] == 0 or features.shape[0] != targets.shape[0]:
        raise SpecError(f"probe: {features.shape[0]} train features for {targets.shape[0]} labels")
    if targets.min() < 0 or targets.max() >= num_classes:
        raise SpecError(f"probe: train labels must lie in [0, {num_classes}), found {targets.min()}..{targets.max()}")
    shift, scale = _normaliser(features, spec.normalize)
    template = LinearProbe(np.zeros((0,)), np.zeros(0), shift, scale, spec.normalize)
    if spec.optimizer == "lbfgs":
        x = torch.from_numpy(template.transform(features))
        y = torch.from_numpy(targets.astype(np.int64))
        weight, bias = _fit_lbfgs(x, y, num_classes, spec, advance)
    else:
        resident = ResidentFeatures(features, template, device)
        y = torch.from_numpy(targets.astype(np.int64)).to(device)
        weight, bias = _fit_sgd(resident, y, num_classes, spec, advance)
    return LinearProbe(
        weight.cpu().numpy().astype(np.float64),
        bias.cpu().numpy().astype(np.float64),
        shift,
        scale,
        spec.normalize,
    )
