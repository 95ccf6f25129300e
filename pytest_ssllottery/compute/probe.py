"""Linear probes on cached frozen features: fit once per method, then score any dataset.

Two optimisers: full-batch L-BFGS on multinomial logistic regression with an L2 penalty (deterministic
and fast for small feature sets; the CLIP-style protocol), and mini-batch SGD with momentum, weight decay
and a cosine or step schedule (the official SSL linear-eval protocols, minus augmentation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SpecError
from ..suite.spec import ProbeSpec
from .probe_sgd import NORM_EPS, ResidentFeatures, fit_sgd
from .progress import Advance

PROBE_VERSION = 2  # 2: L-BFGS in float32 with a gradient tolerance; SGD with a closed-form fused step


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
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), NORM_EPS)
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
        return mean, 1.0 / np.maximum(std, NORM_EPS)
    return np.zeros(dim), np.ones(dim)


def _fit_lbfgs(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, spec: ProbeSpec, advance: Advance | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-batch L-BFGS in float32 on mean cross-entropy + (weight_decay / 2) ||W||^2.

    The closure computes the loss and its gradient in closed form (no autograd graph). It stops when no
    gradient entry exceeds ``spec.tolerance`` (scikit-learn's ``tol`` for lbfgs means the same on the same
    objective), when the loss stops changing at float32 precision, or after ``spec.epochs`` iterations.
    """
    count = x.shape[0]
    rows = torch.arange(count)
    weight = torch.zeros(num_classes, x.shape[1], dtype=x.dtype)
    bias = torch.zeros(num_classes, dtype=x.dtype)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=spec.epochs,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=spec.tolerance,
        tolerance_change=1e-9,
    )

    def closure() -> float:
        log_p = torch.log_softmax(torch.addmm(bias, x, weight.t()), dim=1)
        loss = -log_p[rows, y].mean() + 0.5 * spec.weight_decay * weight.pow(2).sum()
        delta = log_p.exp_()
        delta[rows, y] -= 1.0
        delta.div_(count)
        weight.grad = torch.addmm(weight, delta.t(), x, beta=spec.weight_decay)
        bias.grad = delta.sum(dim=0)
        return float(loss)

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    if advance is not None:
        advance(spec.epochs)
    return weight, bias


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
        device: Where SGD runs (L-BFGS always runs on CPU, in float32).
        advance: Progress callback, called with the number of epochs done.
    """
    if features.shape[0] == 0 or features.shape[0] != targets.shape[0]:
        raise SpecError(f"probe: {features.shape[0]} train features for {targets.shape[0]} labels")
    if targets.min() < 0 or targets.max() >= num_classes:
        raise SpecError(f"probe: train labels must lie in [0, {num_classes}), found {targets.min()}..{targets.max()}")
    shift, scale = _normaliser(features, spec.normalize)
    template = LinearProbe(np.zeros((0,)), np.zeros(0), shift, scale, spec.normalize)
    if spec.optimizer == "lbfgs":
        x = torch.from_numpy(template.transform(features).astype(np.float32))
        y = torch.from_numpy(targets.astype(np.int64))
        weight, bias = _fit_lbfgs(x, y, num_classes, spec, advance)
    else:
        resident = ResidentFeatures(features, spec.normalize, shift, scale, device)
        y = torch.from_numpy(targets.astype(np.int64)).to(device)
        weight, bias = fit_sgd(resident, y, num_classes, spec, advance)
    return LinearProbe(
        weight.cpu().numpy().astype(np.float64),
        bias.cpu().numpy().astype(np.float64),
        shift,
        scale,
        spec.normalize,
    )
