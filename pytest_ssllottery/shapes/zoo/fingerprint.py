"""Feature fingerprints: pooled features of a fixed probe batch, stored beside the checkpoints.

The probe batch comes from a seeded numpy RNG (blocky colour fields plus pixel noise), not from the
shapes generator, so it never changes when the generator does. A loaded checkpoint must reproduce
the features its in-memory model had when it was saved.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from ...atomic_files import atomic_write_bytes
from ..constants import IMAGE_SIZE
from .augment import normalize, to_float
from .objectives.base import pooled_features

PROBE_SEED = 20250101
PROBE_COUNT = 8
_BLOCK = 8

FloatArray = NDArray[np.float32]


def probe_images() -> NDArray[np.uint8]:
    """Eight fixed uint8 ``(8, 32, 32, 3)`` images: 4x4 colour blocks plus Gaussian pixel noise."""
    rng = np.random.default_rng(PROBE_SEED)
    cells = IMAGE_SIZE // _BLOCK
    coarse = rng.uniform(0, 255, size=(PROBE_COUNT, cells, cells, 3))
    blocks = np.repeat(np.repeat(coarse, _BLOCK, axis=1), _BLOCK, axis=2)
    noisy = blocks + rng.normal(0.0, 20.0, size=blocks.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def probe_batch() -> torch.Tensor:
    """The probe images as a normalised float batch ``(8, 3, 32, 32)``."""
    return normalize(to_float(torch.from_numpy(probe_images())))


def features(model: nn.Module) -> FloatArray:
    """Eval-mode pooled features of the probe batch."""
    out: FloatArray = pooled_features(model, probe_batch()).numpy().astype(np.float32)
    return out


def read_fingerprints(path: Path) -> dict[str, FloatArray]:
    """Name -> probe features; empty when the file does not exist."""
    if not path.is_file():
        return {}
    with np.load(path) as data:
        return {name: data[name].astype(np.float32) for name in data.files}


def write_fingerprints(path: Path, fingerprints: dict[str, FloatArray]) -> None:
    """Write all fingerprints atomically (sorted by name)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: fingerprints[name] for name in sorted(fingerprints)})  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())
