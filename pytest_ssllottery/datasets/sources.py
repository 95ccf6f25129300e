"""Image sources: where the pixels of a dataset come from (in-memory arrays or files on disk)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImageDecodeError


@dataclass(frozen=True)
class ArraySource:
    """Images held in memory as a uint8 array of shape (N, H, W, 3)."""

    images: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def fingerprint(self) -> str:
        """sha256 of the pixel bytes and shape (computed once)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            digest = hashlib.sha256(str(self.images.shape).encode())
            digest.update(np.ascontiguousarray(self.images).tobytes())
            cached = digest.hexdigest()
            object.__setattr__(self, "_fingerprint", cached)
        return str(cached)

    def identity(self, index: int) -> str:
        """A stable name for image ``index``."""
        return f"#{index}"

    def subset(self, indices: np.ndarray) -> ArraySource:
        """The images at ``indices``, in that order."""
        return ArraySource(np.ascontiguousarray(self.images[indices]))


@dataclass(frozen=True)
class FileSource:
    """Image files under ``root``, in a fixed order given by their relative paths."""

    root: Path
    files: tuple[str, ...]
    sizes: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def fingerprint(self) -> str:
        """sha256 of the relative paths and byte sizes (the manifest), not of the pixels (computed once)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            digest = hashlib.sha256()
            sizes = self.sizes if self.sizes is not None else tuple((self.root / f).stat().st_size for f in self.files)
            for name, size in zip(self.files, sizes, strict=True):
                digest.update(f"{name}\t{size}\n".encode())
            cached = digest.hexdigest()
            object.__setattr__(self, "_fingerprint", cached)
        return str(cached)

    def identity(self, index: int) -> str:
        """The relative path of image ``index``."""
        return self.files[index]

    def path(self, index: int) -> Path:
        """Absolute path of image ``index``."""
        return self.root / self.files[index]

    def open(self, index: int) -> Image.Image:
        """Decode image ``index`` as RGB.

        Raises:
            ImageDecodeError: the file is missing, truncated or not an image; names the file.
        """
        path = self.path(index)
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageDecodeError(
                f"cannot decode image {path}: {exc}. Replace the file, or pass --ssl-skip-corrupt to skip "
                "unreadable images (they are counted in the report)"
            ) from exc

    def subset(self, indices: np.ndarray) -> FileSource:
        """The files at ``indices``, in that order."""
        sizes = None if self.sizes is None else tuple(self.sizes[i] for i in indices)
        return FileSource(self.root, tuple(self.files[i] for i in indices), sizes)


ImageSource = ArraySource | FileSource


def list_files(root: Path, relative: Sequence[str]) -> FileSource:
    """A FileSource with sizes read once from disk."""
    return FileSource(root, tuple(relative), tuple((root / f).stat().st_size for f in relative))
