"""Frozen-feature extraction: backbones over an image source, batched, on CPU or CUDA.

Image files are decoded once per geometry (resize, crop, interpolation) into uint8 batches; each batch goes
to the device once and feeds every backbone of the group, normalised there per method
(:func:`extract_group`). In-memory arrays need no decoding and go through :func:`extract_features` per method.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.sources import ArraySource, FileSource, ImageSource
from ..errors import ImageDecodeError, SpecError
from ..suite.spec import Preprocessing
from .device_decode import EncodedFiles, collate_encoded, decode_batch
from .preprocessing import arrays_to_tensor, geometry, normalise_uint8, pil_geometry
from .progress import Advance

EXTRACTOR_VERSION = 1


@dataclass(frozen=True)
class ExtractionSettings:
    """Where and how features are computed."""

    device: str = "cpu"
    batch_size: int = 256
    num_workers: int = 0
    skip_corrupt: bool = False
    decode: str = "pil"  # "gpu": torchvision decodes image files on the extraction device (device_decode.py)

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
    """Image files decoded to uint8 (3, H, W) by one geometry; unreadable ones become zero placeholders."""

    def __init__(self, source: FileSource, pre: Preprocessing, skip_corrupt: bool) -> None:
        self.source = source
        self.transform = pil_geometry(pre)
        self.skip_corrupt = skip_corrupt
        self.shape: tuple[int, ...] | None = (3, pre.crop, pre.crop) if pre.crop else None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool]:
        try:
            image = self.transform(self.source.open(index))
        except ImageDecodeError:
            if not self.skip_corrupt:
                raise
            return torch.zeros(self._placeholder_shape(index), dtype=torch.uint8), False
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


def prepare_model(model: nn.Module, settings: ExtractionSettings) -> nn.Module:
    """The frozen model in eval mode on the extraction device (channels_last on CUDA)."""
    model = model.eval().to(torch.device(settings.device))
    return model.to(memory_format=torch.channels_last) if settings.cuda else model


def forward_batch(
    model: nn.Module, images: torch.Tensor, settings: ExtractionSettings, pre: Preprocessing | None = None
) -> torch.Tensor:
    """One batch through the frozen backbone exactly as extraction runs it (bf16 autocast + channels_last on CUDA).

    ``images`` is a normalised float batch, or a uint8 batch that ``pre`` normalises after the transfer; it is
    moved to the device here (a no-op when it is there).
    """
    batch = images.to(torch.device(settings.device), non_blocking=True)
    if batch.dtype == torch.uint8:
        if pre is None:
            raise ValueError("a uint8 batch needs the Preprocessing that normalises it")
        batch = normalise_uint8(batch, pre)
    if settings.cuda:
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            result: torch.Tensor = model(batch)
        return result
    result = model(batch)
    return result


class _Collector:
    """Writes one method's batches into a single array allocated at the first batch, in the storage dtype."""

    def __init__(self, size: int, storage: str, where: str) -> None:
        self.size, self.storage, self.where = size, storage, where
        self.features: np.ndarray | None = None

    def add(self, start: int, batch: np.ndarray) -> None:
        if self.storage == "float16" and batch.size and float(np.abs(batch).max()) > float(np.finfo(np.float16).max):
            raise SpecError(
                f"features of {self.where} exceed float16's range (largest {float(np.abs(batch).max()):.4g}); "
                'set `feature_storage = "float32"` in the suite\'s [suite] table'
            )
        if self.features is None:
            self.features = np.zeros((self.size, batch.shape[1]), dtype=self.storage)
        self.features[start : start + len(batch)] = batch

    def result(self, valid: np.ndarray) -> FeatureSet:
        if self.features is None:
            return FeatureSet(np.zeros((0, 0), dtype=self.storage), np.zeros(0, dtype=bool))
        self.features[~valid] = 0.0
        return FeatureSet(self.features, valid)


Batches = Sequence[tuple[int, int]]


def batch_ranges(count: int, batch_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each extraction batch of a dataset of ``count`` images, in order."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def _file_loader(files: Dataset, settings: ExtractionSettings, batches: Batches, collate: Any = None) -> DataLoader:  # type: ignore[type-arg]
    """Loader workers over ``files`` in extraction batches (pinned memory for tensor batches on CUDA)."""
    return DataLoader(
        files,
        batch_sampler=[list(range(begin, end)) for begin, end in batches],
        num_workers=settings.num_workers,
        pin_memory=settings.cuda and collate is None,
        collate_fn=collate,
    )


def _decoded_batches(
    source: FileSource, pre: Preprocessing, settings: ExtractionSettings, batches: Batches
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """uint8 batches on the extraction device, with their decoded-or-not masks, by the chosen decoder."""
    device = torch.device(settings.device)
    if settings.decode == "gpu":
        for data, indices in _file_loader(EncodedFiles(source), settings, batches, collate_encoded):
            yield decode_batch(data, indices, source, pre, device, settings.skip_corrupt)
        return
    for images, ok in _file_loader(_DecodedFiles(source, pre, settings.skip_corrupt), settings, batches):
        yield images.to(device, non_blocking=True), ok


@torch.inference_mode()
def extract_group(
    models: Sequence[tuple[nn.Module, Preprocessing]],
    source: FileSource,
    settings: ExtractionSettings,
    advance: Advance | None = None,
    storage: str = "float32",
    batches: Batches | None = None,
) -> list[FeatureSet]:
    """One decode of ``source`` feeding every backbone of a group that shares one geometry.

    Each uint8 batch goes to the device once; each model normalises it with its own mean and std there.
    ``batches`` (``[start, stop)`` ranges, a torchrun rank's shard) limits the pass to those images; the
    results then hold their rows only, in that order.

    Raises:
        ValueError: the models' preprocessing differs in geometry (they cannot share a decode).
    """
    if len({geometry(pre) for _, pre in models}) > 1:
        raise ValueError("extract_group: every model of a group must share resize, crop and interpolation")
    prepared = [(prepare_model(model, settings), pre) for model, pre in models]
    batches = batch_ranges(len(source), settings.batch_size) if batches is None else batches
    rows = sum(end - begin for begin, end in batches)
    collectors = [_Collector(rows, storage, str(source.root)) for _ in models]
    valid = np.zeros(rows, dtype=bool)
    done = 0
    for batch, ok in _decoded_batches(source, models[0][1], settings, batches):
        for (model, pre), collector in zip(prepared, collectors, strict=True):
            collector.add(done, forward_batch(model, batch, settings, pre).float().cpu().numpy())
        valid[done : done + len(batch)] = ok.numpy().astype(bool)
        done += len(batch)
        if advance is not None:
            advance(len(batch))
    return [collector.result(valid) for collector in collectors]


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    source: ImageSource,
    pre: Preprocessing,
    settings: ExtractionSettings,
    advance: Advance | None = None,
    storage: str = "float32",
    batches: Batches | None = None,
) -> FeatureSet:
    """Run the frozen backbone over every image, in source order (or over ``batches`` only, a rank's shard).

    Batches are written into one array allocated after the first batch (its width is the model's), in the
    ``storage`` dtype, so extraction never holds a second copy of a dataset's features.

    Args:
        model: Backbone whose forward returns pooled features (classifier removed).
        source: The images.
        pre: Resize, crop and normalisation of this method.
        settings: Device, batch size, loader workers, and whether unreadable images are skipped.
        advance: Called with the number of images done after each batch.
        storage: dtype of the returned features (``float32`` or ``float16``).
        batches: ``[start, stop)`` ranges to extract (a torchrun rank's shard); the result holds their rows.
    """
    if isinstance(source, FileSource):
        return extract_group([(model, pre)], source, settings, advance, storage, batches)[0]
    assert isinstance(source, ArraySource)
    model = prepare_model(model, settings)
    batches = batch_ranges(len(source), settings.batch_size) if batches is None else batches
    rows = sum(end - begin for begin, end in batches)
    collector = _Collector(rows, storage, "the dataset")
    done = 0
    for begin, end in batches:
        chunk = source.images[begin:end]
        collector.add(done, forward_batch(model, arrays_to_tensor(chunk, pre), settings).float().cpu().numpy())
        done += end - begin
        if advance is not None:
            advance(len(chunk))
    return collector.result(np.ones(rows, dtype=bool))
