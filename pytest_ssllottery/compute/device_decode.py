"""Decoding on the extraction device (``--ssl-decode=gpu``): loader workers read bytes, the device decodes.

Loader workers only read each file's bytes. The main process decodes a whole batch with
``torchvision.io.decode_jpeg`` on the extraction device (nvjpeg on CUDA, libjpeg-turbo on the CPU), then
resizes (shorter side, antialiased) and centre-crops each image there with ``torchvision.transforms.v2``,
so the batch never exists as decoded pixels on the host. Files that are not baseline JPEGs (PNG, CMYK
JPEGs, which ImageNet's train split has a few of) are decoded by ``torchvision.io.decode_image`` on the CPU
and moved over. The pixels differ slightly from the PIL path (different resampling code; nvjpeg's IDCT), so
the feature cache keys record the decoder and PIL stays the default (docs/benchmarks.md has the difference).
torchvision 0.29 deprecates its image decoders in favour of TorchCodec; they still work, and their warning is
silenced here until TorchCodec's image decoding can replace them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch
from torch.utils.data import Dataset

from ..datasets.sources import FileSource
from ..errors import ImageDecodeError
from ..suite.spec import Preprocessing

_JPEG_MAGIC = b"\xff\xd8"


class EncodedFiles(Dataset[tuple[torch.Tensor, int]]):
    """Each image file's bytes as a uint8 tensor, with its index (for error messages)."""

    def __init__(self, source: FileSource) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        try:
            data = self.source.path(index).read_bytes()
        except OSError:
            return torch.empty(0, dtype=torch.uint8), index  # reported by decode_batch, with the file's name
        return torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.empty(
            0, dtype=torch.uint8
        ), index


def collate_encoded(items: list[tuple[torch.Tensor, int]]) -> tuple[list[torch.Tensor], list[int]]:
    """Batches keep their variable-length byte tensors as a list."""
    return [data for data, _ in items], [index for _, index in items]


@contextlib.contextmanager
def _torchvision_io() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision")
        yield


def _geometry(image: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as tvf

    if pre.resize is not None:
        mode = getattr(InterpolationMode, pre.interpolation.upper())
        image = tvf.resize(image, [pre.resize], interpolation=mode, antialias=True)
    if pre.crop is not None:
        image = tvf.center_crop(image, [pre.crop, pre.crop])
    return image


def _decode_one_on_cpu(data: torch.Tensor, device: torch.device) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image

    with _torchvision_io():
        image: torch.Tensor = decode_image(data, mode=ImageReadMode.RGB)
    return image.to(device)


def decode_batch(
    encoded: list[torch.Tensor],
    indices: list[int],
    source: FileSource,
    pre: Preprocessing,
    device: torch.device,
    skip_corrupt: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, H, W) on ``device`` after resize and crop, and a bool mask of the images that decoded.

    Raises:
        ImageDecodeError: a file cannot be decoded and ``skip_corrupt`` is off; names the file.
    """
    from torchvision.io import ImageReadMode, decode_jpeg

    jpegs = [i for i, data in enumerate(encoded) if bytes(data[:2].tolist()) == _JPEG_MAGIC]
    images: list[torch.Tensor | None] = [None] * len(encoded)
    if jpegs:
        try:
            with _torchvision_io():
                decoded = decode_jpeg([encoded[i] for i in jpegs], mode=ImageReadMode.RGB, device=device)
            for i, image in zip(jpegs, decoded, strict=True):
                images[i] = image
        except RuntimeError:
            pass  # one bad or unsupported JPEG fails the whole batch call: decode image by image below
    for i, data in enumerate(encoded):
        if images[i] is not None:
            continue
        try:
            images[i] = _decode_one_on_cpu(data, device)
        except RuntimeError as exc:
            if not skip_corrupt:
                raise ImageDecodeError(
                    f"{source.path(indices[i])}: cannot be decoded ({exc}); pass --ssl-skip-corrupt to skip and "
                    "count unreadable images, or --ssl-decode=pil"
                ) from None
    shaped = [_geometry(image, pre) if image is not None else None for image in images]
    shape = next((tuple(image.shape) for image in shaped if image is not None), None)
    if shape is None:
        raise ImageDecodeError(f"no image of a batch of {source.root} can be decoded")
    ok = torch.tensor([image is not None for image in shaped])
    batch = torch.stack(
        [image if image is not None else torch.zeros(shape, dtype=torch.uint8, device=device) for image in shaped]
    )
    return batch, ok
