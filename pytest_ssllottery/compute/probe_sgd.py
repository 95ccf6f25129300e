"""The mini-batch SGD probe (the official SSL linear-eval protocols, minus augmentation), without per-step overhead.

One step is a handful of fused tensor operations with a closed-form gradient, no autograd graph, no optimiser
object and no host synchronisation: logits, softmax, the gradient of mean cross-entropy, weight decay (or
LARS' trust ratio), momentum, the update. It computes what ``torch.optim.SGD`` does after ``backward()`` (a
test compares them). Because the step never waits for the host, on CUDA it is captured once as a CUDA graph
and replayed for every full batch; matrix products there run in TF32 (fp32 storage and accumulation).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..suite.spec import ProbeSpec
from .progress import Advance

LARS_TRUST = 0.001
DEVICE_HEADROOM = 0.8  # share of the free device memory the resident features may take
NORM_EPS = 1e-6  # floor of a row norm (l2) or a feature std (standardize), here and in LinearProbe


def readonly_tensor(array: np.ndarray) -> torch.Tensor:
    """A torch view of ``array`` without a copy, also of the read-only memory maps the cache hands out.

    torch warns that writing to such a view is undefined; the callers only ever read it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(array))


def keeps_on_device(features: torch.Tensor, device: torch.device) -> bool:
    """Whether ``features`` stay on ``device``: always on the CPU; on CUDA when they fit its free memory.

    ``DEVICE_HEADROOM`` leaves room for the probe's batches and gradients.
    """
    if device.type == "cpu":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return features.numel() * features.element_size() < DEVICE_HEADROOM * free


class ResidentFeatures:
    """Train features kept where the probe trains, in their stored dtype; batches are normalised in float32.

    On a GPU the raw features (float16 when the cache stores float16: 5.2 GB for ImageNet train at 2048-d)
    live in device memory and each batch is gathered and normalised there, with no per-epoch host copy. When
    they do not fit (:func:`keeps_on_device`), they stay in pinned host memory and each batch is gathered on
    the host and sent over. Normalising per batch gives exactly the numbers of normalising the whole matrix:
    the operations are per element (standardise) or per row (l2).
    """

    def __init__(self, features: np.ndarray, normalize: str, shift: np.ndarray, scale: np.ndarray, device: str):
        self.device = torch.device(device)
        raw = readonly_tensor(features)
        if raw.dtype not in (torch.float16, torch.bfloat16, torch.float32):
            raw = raw.to(torch.float32)
        self.on_device = keeps_on_device(raw, self.device)
        if self.on_device:
            self.raw = raw.to(self.device)
        else:
            self.raw = raw.pin_memory() if torch.cuda.is_available() else raw
        self.normalize = normalize
        self.shift = torch.from_numpy(shift.astype(np.float32)).to(self.device)
        self.scale = torch.from_numpy(scale.astype(np.float32)).to(self.device)

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
            x = x / x.norm(dim=1, keepdim=True).clamp_min(NORM_EPS)
        elif self.normalize == "standardize":
            x = (x - self.shift).mul_(self.scale)
        return x


def lr_at(spec: ProbeSpec, epoch: int) -> float:
    """The learning rate of ``epoch`` under the spec's schedule (cosine, step or constant)."""
    if spec.schedule == "cosine":
        return spec.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / spec.epochs))
    if spec.schedule == "step":
        return spec.lr * (0.1 ** sum(epoch >= m for m in spec.milestones))
    return spec.lr


@dataclass
class SgdState:
    """The probe's parameters, their momentum buffers and the current learning rate, all on the device.

    Buffers start at zero: ``momentum * 0 + g`` is exactly the ``g`` that ``torch.optim.SGD`` copies on its
    first step, so the numbers agree and the step needs no first-step branch (which a graph could not hold).
    """

    weight: torch.Tensor
    bias: torch.Tensor
    weight_buffer: torch.Tensor
    bias_buffer: torch.Tensor
    lr: torch.Tensor

    @classmethod
    def initial(cls, dim: int, num_classes: int, generator: torch.Generator, device: torch.device) -> SgdState:
        """Weights drawn N(0, 0.01^2) from a CPU generator (the same on every device), bias zero."""
        weight = torch.randn((num_classes, dim), generator=generator, dtype=torch.float32).mul_(0.01).to(device)
        bias = torch.zeros(num_classes, dtype=torch.float32, device=device)
        return cls(
            weight,
            bias,
            torch.zeros_like(weight),
            torch.zeros_like(bias),
            torch.zeros((), dtype=torch.float32, device=device),
        )

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """Everything a step writes."""
        return (self.weight, self.bias, self.weight_buffer, self.bias_buffer)


def _lars(parameter: torch.Tensor, grad: torch.Tensor, weight_decay: float) -> torch.Tensor:
    """SimSiam's LARS (apex LARC, trust 0.001, no clipping): weight decay folded in, then the trust ratio.

    Where either norm is zero the gradient is left as it is, without weight decay, as LARC does.
    """
    weight_norm, grad_norm = parameter.norm(), grad.norm()
    ratio = LARS_TRUST * weight_norm / (grad_norm + weight_decay * weight_norm + 1e-8)
    scaled = (grad + weight_decay * parameter) * ratio
    return torch.where((weight_norm > 0) & (grad_norm > 0), scaled, grad)


def sgd_step(state: SgdState, x: torch.Tensor, y: torch.Tensor, spec: ProbeSpec) -> None:
    """One SGD step on mean cross-entropy of ``x @ W.T + b`` against ``y``, in place, without host syncs."""
    logits = torch.addmm(state.bias, x, state.weight.t())
    delta = torch.softmax(logits, dim=1)
    delta[torch.arange(y.shape[0], device=y.device), y] -= 1.0
    delta.div_(y.shape[0])
    grads = [delta.t() @ x, delta.sum(dim=0)]
    params = [state.weight, state.bias]
    buffers = [state.weight_buffer, state.bias_buffer]
    for parameter, grad, buffer in zip(params, grads, buffers, strict=True):
        if spec.optimizer == "lars":
            grad = _lars(parameter, grad, spec.weight_decay)
        elif spec.weight_decay:
            grad = grad.add(parameter, alpha=spec.weight_decay)
        if spec.momentum:
            buffer.mul_(spec.momentum).add_(grad)
            grad = grad.add(buffer, alpha=spec.momentum) if spec.nesterov else buffer
        parameter.sub_(grad * state.lr)


@contextlib.contextmanager
def tf32_matmuls(device: torch.device) -> Iterator[None]:
    """TF32 matrix products on CUDA while the probe trains (fp32 storage and accumulation); nothing on the CPU."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def captured_step(step: Callable[[], None], state: SgdState) -> Callable[[], None]:
    """``step`` captured as a CUDA graph, replayed by the returned callable.

    Capture needs a few warm-up runs on a side stream; they change the parameters, so the state is saved
    before and restored after, and the first replay is the probe's first step.
    """
    saved = [tensor.clone() for tensor in state.tensors()]
    stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    for tensor, value in zip(state.tensors(), saved, strict=True):
        tensor.copy_(value)
    return graph.replay


def fit_sgd(
    x: ResidentFeatures,
    y: torch.Tensor,
    num_classes: int,
    spec: ProbeSpec,
    advance: Advance | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train the probe; returns its weight and bias (on the probe's device).

    Args:
        x: The train features, resident where the probe trains.
        y: Their class ids, on the same device.
        num_classes: Width of the classifier.
        spec: The protocol: epochs, batch size, lr and schedule, momentum, weight decay, SGD or LARS.
        advance: Progress callback, called once per epoch.

    On CUDA, with the features resident, full batches replay a CUDA graph of the step.
    """
    generator = torch.Generator().manual_seed(spec.seed)
    state = SgdState.initial(x.dim, num_classes, generator, x.device)
    # Epoch orders are drawn on the probe's device: no per-epoch host copy (on the CPU, the same generator)
    if x.device.type != "cpu":
        generator = torch.Generator(device=x.device).manual_seed(spec.seed)
    count, size = x.count, spec.batch_size
    index = torch.zeros(min(size, count), dtype=torch.long, device=x.device)

    def full_batch() -> None:
        sgd_step(state, x.batch(index), y[index], spec)

    use_graph = x.device.type == "cuda" and x.on_device
    with tf32_matmuls(x.device):
        replay = captured_step(full_batch, state) if use_graph and count >= size else full_batch
        for epoch in range(spec.epochs):
            state.lr.fill_(lr_at(spec, epoch))
            order = torch.randperm(count, generator=generator, device=x.device)
            for start in range(0, count, size):
                rows = order[start : start + size]
                if rows.shape[0] == size:
                    index.copy_(rows)
                    replay()
                else:
                    sgd_step(state, x.batch(rows), y[rows], spec)
            if advance is not None:
                advance(1)
    return state.weight, state.bias
