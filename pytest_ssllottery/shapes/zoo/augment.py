"""Batched SSL augmentations as tensor ops, drawn from a seeded ``torch.Generator``.

Each op follows its torchvision counterpart (``RandomResizedCrop``, ``RandomHorizontalFlip``,
``ColorJitter`` with a random order of its four ops per image, ``RandomGrayscale``, ``GaussianBlur``,
``RandomSolarize``) with one random draw per image, but runs on a whole batch at once. Images are
float ``(B, 3, H, W)`` in ``[0, 1]``; :func:`make_view` returns the normalised view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..constants import MEAN, STD

_GRAY = (0.2989, 0.587, 0.114)
# ImageNet recipes crop down to 8 % (SimCLR, BYOL), 14 % (SwAV, DINO) or 20 % (MoCo v2) of the image. A
# 32 px shapes image holds one centred object of radius 8.5-13.5 px, which crops below a quarter of the
# image mostly miss, so every global view keeps at least 25 % of the area; multi-crop local views take
# the range below it, as in DINO's and SwAV's ResNet-50 recipes.
GLOBAL_SCALE = (0.25, 1.0)
LOCAL_SCALE = (0.05, 0.25)
_CROP_ATTEMPTS = 10


@dataclass(frozen=True)
class ViewSpec:
    """One augmented view: crop geometry, then the photometric ops with their probabilities.

    ``jitter`` is (brightness, contrast, saturation, hue) as in ``ColorJitter``; ``scale`` and ``ratio``
    are ``RandomResizedCrop``'s area fraction and aspect ratio ranges.
    """

    size: int = 32
    scale: tuple[float, float] = GLOBAL_SCALE
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: float = 0.5
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.8
    grayscale: float = 0.2
    blur: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel: int = 3
    solarize: float = 0.0


def _rand(shape: tuple[int, ...] | int, gen: torch.Generator, device: torch.device | None = None) -> torch.Tensor:
    """Uniform draws from the CPU generator ``gen`` (identical on every device), moved to ``device``."""
    draws = torch.rand(shape, generator=gen)
    return draws if device is None else draws.to(device)


def _uniform(
    shape: tuple[int, ...], low: float, high: float, gen: torch.Generator, device: torch.device | None = None
) -> torch.Tensor:
    return _rand(shape, gen, device) * (high - low) + low


def _coin(batch: int, p: float, gen: torch.Generator, device: torch.device | None = None) -> torch.Tensor:
    return _rand(batch, gen, device) < p


def crop_boxes(
    batch: int, scale: tuple[float, float], ratio: tuple[float, float], gen: torch.Generator
) -> torch.Tensor:
    """Random resized crop boxes ``(B, 4)`` as (centre x, centre y, width, height), fractions of a square image.

    Like torchvision, ten (area, log-ratio) draws per image; the first that fits wins, otherwise the
    whole image.
    """
    area = _uniform((batch, _CROP_ATTEMPTS), scale[0], scale[1], gen)
    log_ratio = _uniform((batch, _CROP_ATTEMPTS), math.log(ratio[0]), math.log(ratio[1]), gen)
    aspect = torch.exp(log_ratio)
    width, height = torch.sqrt(area * aspect), torch.sqrt(area / aspect)
    fits = (width <= 1.0) & (height <= 1.0)
    first = fits.float().argmax(dim=1, keepdim=True)
    width = torch.where(fits.any(dim=1), width.gather(1, first).squeeze(1), torch.ones(batch))
    height = torch.where(fits.any(dim=1), height.gather(1, first).squeeze(1), torch.ones(batch))
    centre_x = width / 2 + torch.rand(batch, generator=gen) * (1 - width)
    centre_y = height / 2 + torch.rand(batch, generator=gen) * (1 - height)
    return torch.stack([centre_x, centre_y, width, height], dim=1)


def resized_crop(images: torch.Tensor, boxes: torch.Tensor, flips: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear crops of ``boxes`` resized to ``size``, mirrored where ``flips`` is true."""
    centre_x, centre_y, width, height = boxes.to(images.device).unbind(dim=1)
    sign = torch.where(flips.to(images.device), -1.0, 1.0)
    theta = torch.zeros(images.shape[0], 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = width * sign
    theta[:, 0, 2] = 2 * centre_x - 1
    theta[:, 1, 1] = height
    theta[:, 1, 2] = 2 * centre_y - 1
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(images: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma, ``(B, 1, H, W)``."""
    r, g, b = images.unbind(dim=1)
    return (_GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b).unsqueeze(1)


def _blend(images: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    factor = factor.view(-1, 1, 1, 1)
    return (factor * images + (1 - factor) * other).clamp(0.0, 1.0)


def rgb_to_hsv(images: torch.Tensor) -> torch.Tensor:
    """RGB in ``[0, 1]`` to HSV with hue in ``[0, 1)``."""
    r, g, b = images.unbind(dim=1)
    maxc, _ = images.max(dim=1)
    minc, _ = images.min(dim=1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    saturation = delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    hue = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = torch.where(delta > 0, (hue / 6.0) % 1.0, torch.zeros_like(hue))
    return torch.stack([hue, saturation, maxc], dim=1)


def hsv_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`."""
    hue, saturation, value = images.unbind(dim=1)
    sector = torch.floor(hue * 6.0)
    fraction = hue * 6.0 - sector
    sector = sector.long() % 6
    p = value * (1 - saturation)
    q = value * (1 - saturation * fraction)
    t = value * (1 - saturation * (1 - fraction))
    choices = torch.stack(
        [
            torch.stack([value, q, p, p, t, value], dim=1),
            torch.stack([t, value, value, q, p, p], dim=1),
            torch.stack([p, p, t, value, value, q], dim=1),
        ],
        dim=1,
    )  # (B, 3 channels, 6 sectors, H, W)
    index = sector.unsqueeze(1).unsqueeze(2).expand(-1, 3, 1, -1, -1)
    return choices.gather(2, index).squeeze(2)


def _jitter_op(op: int, images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    if op == 0:  # brightness
        return _blend(images, torch.zeros_like(images), factor)
    if op == 1:  # contrast
        mean = grayscale(images).mean(dim=(1, 2, 3), keepdim=True)
        return _blend(images, mean.expand_as(images), factor)
    if op == 2:  # saturation
        return _blend(images, grayscale(images).expand_as(images), factor)
    hsv = rgb_to_hsv(images)
    hue = (hsv[:, 0] + factor.view(-1, 1, 1)) % 1.0
    return hsv_to_rgb(torch.stack([hue, hsv[:, 1], hsv[:, 2]], dim=1))


def color_jitter(
    images: torch.Tensor, strengths: tuple[float, float, float, float], p: float, gen: torch.Generator
) -> torch.Tensor:
    """``RandomApply(ColorJitter(*strengths), p)`` with each image's own factors and op order."""
    batch, device = images.shape[0], images.device
    applied = _coin(batch, p, gen, device)
    bright, contrast, sat, hue = strengths
    factors = torch.stack(
        [
            _uniform((batch,), max(0.0, 1 - bright), 1 + bright, gen, device),
            _uniform((batch,), max(0.0, 1 - contrast), 1 + contrast, gen, device),
            _uniform((batch,), max(0.0, 1 - sat), 1 + sat, gen, device),
            _uniform((batch,), -hue, hue, gen, device),
        ],
        dim=1,
    )
    order = torch.argsort(_rand((batch, 4), gen, device), dim=1)
    out = images.clone()
    for position in range(4):
        for op in range(4):
            chosen = torch.nonzero(applied & (order[:, position] == op)).squeeze(1)
            if chosen.numel():
                out[chosen] = _jitter_op(op, out[chosen], factors[chosen, op])
    return out


def random_grayscale(images: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """``RandomGrayscale(p)``: three equal channels of the luma."""
    chosen = _coin(images.shape[0], p, gen, images.device).view(-1, 1, 1, 1)
    return torch.where(chosen, grayscale(images).expand_as(images), images)


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, kernel: int) -> torch.Tensor:
    """Separable Gaussian blur with one ``sigma`` per image and reflect padding, as torchvision's."""
    batch, channels, height, width = images.shape
    offsets = torch.arange(kernel, dtype=images.dtype, device=images.device) - (kernel - 1) / 2
    weights = torch.exp(-(offsets.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    weights = (weights / weights.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0)
    pad = kernel // 2
    flat = F.pad(images.reshape(1, batch * channels, height, width), (pad, pad, pad, pad), mode="reflect")
    flat = F.conv2d(flat, weights.view(-1, 1, kernel, 1), groups=batch * channels)
    flat = F.conv2d(flat, weights.view(-1, 1, 1, kernel), groups=batch * channels)
    return flat.view(batch, channels, height, width)


def random_blur(
    images: torch.Tensor, p: float, sigma: tuple[float, float], kernel: int, gen: torch.Generator
) -> torch.Tensor:
    """``RandomApply(GaussianBlur(kernel, sigma), p)``."""
    chosen = _coin(images.shape[0], p, gen, images.device)
    sigmas = _uniform((images.shape[0],), sigma[0], sigma[1], gen, images.device)
    index = torch.nonzero(chosen).squeeze(1)
    if index.numel() == 0:
        return images
    out = images.clone()
    out[index] = gaussian_blur(images[index], sigmas[index], kernel)
    return out


def random_solarize(images: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """``RandomSolarize(threshold=0.5, p)``: invert pixels at or above the threshold."""
    chosen = _coin(images.shape[0], p, gen, images.device).view(-1, 1, 1, 1)
    return torch.where(chosen & (images >= 0.5), 1.0 - images, images)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """The shapes family's per-channel normalisation."""
    mean = torch.tensor(MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def make_view(images: torch.Tensor, spec: ViewSpec, gen: torch.Generator) -> torch.Tensor:
    """One augmented, normalised view of a batch of float images in ``[0, 1]``."""
    boxes = crop_boxes(images.shape[0], spec.scale, spec.ratio, gen)
    flips = _coin(images.shape[0], spec.flip, gen)
    view = resized_crop(images, boxes, flips, spec.size).clamp(0.0, 1.0)
    if spec.jitter_p > 0:
        view = color_jitter(view, spec.jitter, spec.jitter_p, gen)
    if spec.grayscale > 0:
        view = random_grayscale(view, spec.grayscale, gen)
    if spec.blur > 0:
        view = random_blur(view, spec.blur, spec.blur_sigma, spec.blur_kernel, gen)
    if spec.solarize > 0:
        view = random_solarize(view, spec.solarize, gen)
    return normalize(view).contiguous(memory_format=torch.channels_last)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` to float ``(B, 3, H, W)`` in ``[0, 1]``."""
    return images.permute(0, 3, 1, 2).float().div(255.0).contiguous()
