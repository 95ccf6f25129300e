"""Speed of a frozen backbone: its forward pass on a fixed, seeded batch, as extraction runs it.

The measured call is :func:`~pytest_ssllottery.compute.features.forward_batch` on a batch that already sits
on the device, followed by a CUDA synchronisation, so a timer around it sees the whole forward pass and
nothing of decoding, the cache or the host transfer. Timing itself is left to the caller (the pytest
plugin uses pytest-benchmark); this module only builds the call and reads the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..datasets.sources import ArraySource
from ..suite.spec import MethodSpec, Preprocessing
from .features import ExtractionSettings, forward_batch, prepare_model
from .preprocessing import arrays_to_tensor, pil_transform

if TYPE_CHECKING:
    from .engine import Engine

BATCH_SEED = 0


@dataclass(frozen=True)
class ThroughputRecord:
    """One method's measured forward speed (median over timed rounds)."""

    suite: str
    method: str
    images_per_s: float
    median_s: float
    rounds: int
    batch_size: int
    input_shape: tuple[int, int, int]
    device: str
    dtype: str
    memory_format: str

    kind = "throughput"

    @property
    def key(self) -> str:
        """``method::throughput``, the item of this measurement."""
        return f"{self.method}::throughput"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return {"kind": self.kind, **asdict(self), "input_shape": list(self.input_shape)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThroughputRecord:
        """Inverse of :meth:`to_dict`."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        fields["input_shape"] = tuple(int(v) for v in fields["input_shape"])
        return cls(**fields)


@dataclass(frozen=True)
class ThroughputTarget:
    """A ready-to-time forward pass: ``run()`` does one batch and returns when the device is done."""

    run: Callable[[], None]
    batch_size: int
    input_shape: tuple[int, int, int]
    device: str
    dtype: str
    memory_format: str

    def record(self, suite: str, method: str, median_s: float, rounds: int) -> ThroughputRecord:
        """The record of a measurement whose median round took ``median_s`` seconds."""
        return ThroughputRecord(
            suite=suite,
            method=method,
            images_per_s=self.batch_size / median_s if median_s > 0 else float("inf"),
            median_s=median_s,
            rounds=rounds,
            batch_size=self.batch_size,
            input_shape=self.input_shape,
            device=self.device,
            dtype=self.dtype,
            memory_format=self.memory_format,
        )


def seeded_batch(input_shape: tuple[int, int, int], batch_size: int, pre: Preprocessing) -> torch.Tensor:
    """``batch_size`` seeded uint8 images of ``input_shape`` (C, H, W), normalised as ``pre`` normalises them."""
    channels, height, width = input_shape
    rng = np.random.default_rng(BATCH_SEED)
    images = rng.integers(0, 256, size=(batch_size, height, width, channels), dtype=np.uint8)
    normalise_only = Preprocessing(resize=None, crop=None, mean=pre.mean, std=pre.std)
    return arrays_to_tensor(images, normalise_only)


def throughput_target(
    model: nn.Module, input_shape: tuple[int, int, int], pre: Preprocessing, settings: ExtractionSettings
) -> ThroughputTarget:
    """The timed call for ``model``: the suite's input size and normalisation, the run's device, batch and dtype."""
    model = prepare_model(model, settings)
    batch = seeded_batch(input_shape, settings.batch_size, pre).to(torch.device(settings.device))
    if settings.cuda:
        batch = batch.contiguous(memory_format=torch.channels_last)

    def run() -> None:
        with torch.inference_mode():
            forward_batch(model, batch, settings)
        if settings.cuda:
            torch.cuda.synchronize(torch.device(settings.device))

    return ThroughputTarget(
        run=run,
        batch_size=settings.batch_size,
        input_shape=input_shape,
        device=settings.device,
        dtype=settings.dtype,
        memory_format="channels_last" if settings.cuda else "contiguous",
    )


def input_shape(engine: Engine, method: MethodSpec) -> tuple[int, int, int]:
    """(C, H, W) of what extraction feeds ``method``: its crop, else one reference image after preprocessing."""
    pre = method.preprocessing
    if pre.crop:
        return (3, pre.crop, pre.crop)
    source = engine.dataset(engine.suite.reference).images
    if isinstance(source, ArraySource):
        sample = arrays_to_tensor(source.images[:1], pre)[0]
    else:
        sample = pil_transform(pre)(source.open(0))
    channels, height, width = sample.shape
    return (int(channels), int(height), int(width))


def method_throughput_target(engine: Engine, method_name: str) -> ThroughputTarget:
    """A suite method's forward pass on a seeded batch, ready to time (checks the checkpoint pin first)."""
    method = engine.suite.method(method_name)
    engine.checkpoint_digest(method)
    model = engine.backbone(method).model
    return throughput_target(model, input_shape(engine, method), method.preprocessing, engine.extraction_settings())
