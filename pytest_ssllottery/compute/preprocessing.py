"""Turning images into normalised tensors according to a method's Preprocessing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..suite.spec import Preprocessing

_INTERPOLATION = {"nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic"}


def _normalise(batch: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    if pre.mean is None or pre.std is None:
        return batch
    mean = torch.tensor(pre.mean, dtype=batch.dtype).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, dtype=batch.dtype).view(1, 3, 1, 1)
    return (batch - mean) / std


def arrays_to_tensor(images: np.ndarray, pre: Preprocessing) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, h, w): resize the shorter side, center crop, scale to [0, 1], normalise."""
    # A float copy made by numpy: cached splits arrive as read-only memory maps, which torch warns about.
    batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2).div_(255.0)
    if pre.resize is not None:
        height, width = batch.shape[-2:]
        short, long = (height, width) if height <= width else (width, height)
        new_long = int(pre.resize * long / short)  # truncated, as torchvision's Resize(int)
        size = (pre.resize, new_long) if height <= width else (new_long, pre.resize)
        if size != (height, width):
            mode = _INTERPOLATION[pre.interpolation]
            antialias = mode in ("bilinear", "bicubic")
            batch = F.interpolate(
                batch,
                size=size,
                mode=mode,
                antialias=antialias,
                align_corners=None if mode == "nearest" else False,
            )
            batch = batch.clamp_(0.0, 1.0)
    if pre.crop is not None:
        height, width = batch.shape[-2:]
        # rounded, as torchvision's CenterCrop (crop_top = int(round((h - c) / 2)))
        top, left = max(0, round((height - pre.crop) / 2.0)), max(0, round((width - pre.crop) / 2.0))
        batch = batch[:, :, top : top + pre.crop, left : left + pre.crop]
    return _normalise(batch, pre)


def pil_transform(pre: Preprocessing) -> Callable[[Image.Image], torch.Tensor]:
    """The torchvision pipeline Resize -> CenterCrop -> ToTensor -> Normalize for one decoded image.

    Built from :func:`pil_geometry` and :func:`normalise_uint8`, the two halves extraction runs (decoding in the
    loader, normalising on the device), so the one-image form can never drift from them.
    """
    decode = pil_geometry(pre)

    def apply(image: Image.Image) -> torch.Tensor:
        return normalise_uint8(decode(image).unsqueeze(0), pre)[0]

    return apply


def geometry(pre: Preprocessing) -> tuple[int | None, int | None, str]:
    """What decoding does for ``pre`` (resize, crop, interpolation): methods that share it share one decode."""
    return (pre.resize, pre.crop, pre.interpolation if pre.resize is not None else "")


def pil_geometry(pre: Preprocessing) -> Callable[[Image.Image], torch.Tensor]:
    """Resize -> CenterCrop -> uint8 (3, H, W): decoding without normalising (torchvision's transforms)."""
    from torchvision import transforms

    steps: list[Callable[..., object]] = []
    if pre.resize is not None:
        modes = {name: getattr(transforms.InterpolationMode, name.upper()) for name in _INTERPOLATION}
        steps.append(transforms.Resize(pre.resize, interpolation=modes[pre.interpolation]))
    if pre.crop is not None:
        steps.append(transforms.CenterCrop(pre.crop))
    steps.append(transforms.PILToTensor())
    pipeline = transforms.Compose(steps)

    def apply(image: Image.Image) -> torch.Tensor:
        result: torch.Tensor = pipeline(image)
        return result

    return apply


def normalise_uint8(batch: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    """uint8 (N, 3, H, W), wherever it is -> float32 scaled to [0, 1] and normalised, on the same device.

    The same float32 operations as torchvision's ToTensor + Normalize, in the same order, so on the CPU the
    result is bit-identical to that pipeline; on a GPU it runs there, after a 4x smaller uint8 transfer.
    """
    scaled = batch.to(torch.float32).div_(255.0)
    if pre.mean is None or pre.std is None:
        return scaled
    mean = torch.tensor(pre.mean, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    return scaled.sub_(mean).div_(std)
