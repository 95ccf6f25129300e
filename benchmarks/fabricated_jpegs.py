"""ImageNet-like JPEG files for the full-scale benchmarks (made at run time; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pytest_ssllottery.datasets.sources import FileSource, list_files


def imagenet_like_jpegs(root: Path, count: int, blur: int) -> FileSource:
    """``count`` JPEGs of ImageNet's typical size (500 x 375, quality 90): noise upsampled ``blur`` times."""
    rng = np.random.default_rng(0)
    names = []
    for index in range(count):
        base = rng.integers(0, 256, size=(375 // blur, 500 // blur, 3), dtype=np.uint8)
        name = f"n{index % 1000:08d}_{index}.JPEG"
        Image.fromarray(base).resize((500, 375), Image.BICUBIC).save(root / name, quality=90)
        names.append(name)
    return list_files(root, names)
