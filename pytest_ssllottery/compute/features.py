"""Frozen-feature extraction: a backbone over an image source, batched, on CPU or CUDA."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.sources import ArraySource, FileSource, ImageSource
from ..errors import ImageDecodeError
from ..suite.spec import Preprocessing
from .preprocessing import arrays_to_tensor, pil_transform
from .progress import Advance

EXTRACTOR_VERSION = 1


@dataclass(frozen=True)
class ExtractionSettings:
    """Where and how features are computed."""

    device: str = "cpu"
    batch_size: int = 256
    num_workers: int = 0
    skip_corrupt: bool = False

    @property
    def cuda(self) -> bool:
        """Whether extraction runs on a CUDA device (bf16 autocast and channels_last are used there)."""
        return self.device.startswith("cuda")

    @property
    def dtype(self) -> str:
        """The compute dtype, part of the feature cache key."""
        return "bfloat16-autocast" if self.cuda else "float32"


@dataclass(frozen=True)
class FeatureSet:
    """Pooled features per image (float32) and which images could be read."""

    features: np.ndarray
    valid: np.ndarray

    @property
    def skipped(self) -> int:
        """Number of unreadable images skipped."""
        return int((~self.valid).sum())


class _DecodedFiles(Dataset[tuple[torch.Tensor, bool]]):
    def __init__(self, source: FileSource, pre: Preprocessing, skip_corrupt: bool) -> None:
        self.source = source
        self.transform = pil_transform(pre)
        self.skip_corrupt = skip_corrupt
        self.crop = pre.crop
        self.shape: tuple[int, ...] | None = (3, pre.crop, pre.crop) if pre.crop else None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool]:
        try:
            image = self.transform(self.source.open(index))
        except ImageDecodeError:
            if not self.skip_corrupt:
                raise
            return torch.zeros(self._placeholder_shape(index)), False
        self.shape = self.shape or tuple(image.shape)
        return image, True

    def _placeholder_shape(self, index: int) -> tuple[int, ...]:
        """Shape of a skipped image: the crop, else the first readable image's (batches need equal shapes)."""
        if self.shape is None:
            for other in range(len(self.source)):
                if other == index:
                    continue
                try:
                    self.shape = tuple(self.transform(self.source.open(other)).shape)
                    break
                except ImageDecodeError:
                    continue
            else:
                raise ImageDecodeError(f"no image of {self.source.root} can be decoded; nothing to score")
        return self.shape


def _batches(source: ImageSource, pre: Preprocessing, settings: ExtractionSettings):  # type: ignore[no-untyped-def]
    if isinstance(source, ArraySource):
        for start in range(0, len(source), settings.batch_size):
            chunk = source.images[start : start + settings.batch_size]
            yield arrays_to_tensor(chunk, pre), torch.ones(len(chunk), dtype=torch.bool)
        return
    loader = DataLoader(
        _DecodedFiles(source, pre, settings.skip_corrupt),
        batch_size=settings.batch_size,
        shuffle=False,
        num_workers=settings.num_workers,
        pin_memory=settings.cuda,
    )
    yield from loader


def prepare_model(model: nn.Module, settings: ExtractionSettings) -> nn.Module:
    """The frozen model in eval mode on the extraction device (channels_last on CUDA)."""
    model = model.eval().to(torch.device(settings.device))
    return model.to(memory_format=torch.channels_last) if settings.cuda else model


def forward_batch(model: nn.Module, images: torch.Tensor, settings: ExtractionSettings) -> torch.Tensor:
    """One batch through the frozen backbone exactly as extraction runs it (bf16 autocast + channels_last on CUDA).

    ``images`` is a normalised float batch; it is moved to the device here (a no-op when it is there).
    """
    batch = images.to(torch.device(settings.device), non_blocking=True)
    if settings.cuda:
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            result: torch.Tensor = model(batch)
        return result
    result = model(batch)
    return result


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    source: ImageSource,
    pre: Preprocessing,
    settings: ExtractionSettings,
    advance: Advance | None = None,
) -> FeatureSet:
    """Run the frozen backbone over every image, in source order.

    Args:
        model: Backbone whose forward returns pooled features (classifier removed).
        source: The images.
        pre: Resize, crop and normalisation of this method.
        settings: Device, batch size, loader workers, and whether unreadable images are skipped.
        advance: Called with the number of images done after each batch.
    """
    model = prepare_model(model, settings)
    outputs: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    for images, ok in _batches(source, pre, settings):
        outputs.append(forward_batch(model, images, settings).float().cpu().numpy())
        valid.append(ok.numpy().astype(bool))
        if advance is not None:
            advance(len(images))
    if not outputs:
        return FeatureSet(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=bool))
    features = np.concatenate(outputs).astype(np.float32, copy=False)
    mask = np.concatenate(valid)
    features[~mask] = 0.0
    return FeatureSet(features, mask)
