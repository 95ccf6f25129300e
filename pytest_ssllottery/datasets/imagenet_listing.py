"""Listing ImageNet-style image folders quickly, and saying precisely what was found when a layout is wrong.

Folders are read with ``os.scandir`` (names and entry types, no stat); the only per-file system call is
one ``stat`` for the byte size that the dataset manifest needs, issued from a thread pool so that network
file systems are not walked one file at a time. Hidden entries (``.DS_Store``, ``._*``) are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from ..suite.spec import DatasetSpec
from .base import LoadContext
from .sources import FileSource

IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png"})
_CHUNK = 4096


@dataclass(frozen=True)
class Entries:
    """The visible sub-folders and files of one folder, sorted by name."""

    path: Path
    dirs: tuple[str, ...]
    files: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Folders (with a trailing ``/``) then files, for messages."""
        return tuple(f"{d}/" for d in self.dirs) + self.files


def is_image(name: str) -> bool:
    """Whether a file name has an image suffix (.jpeg, .jpg, .png; any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def scan(path: Path) -> Entries:
    """Sub-folders and files of ``path`` (hidden ones skipped), without stat calls."""
    dirs: list[str] = []
    files: list[str] = []
    try:
        with os.scandir(path) as iterator:
            for entry in iterator:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    dirs.append(entry.name)
                elif entry.is_file():
                    files.append(entry.name)
    except OSError as exc:
        raise DatasetError(f"cannot read the folder {path} ({exc.strerror})") from exc
    return Entries(path, tuple(sorted(dirs)), tuple(sorted(files)))


def preview(names: Sequence[str], limit: int = 5) -> str:
    """The first few names, quoted, with the total: ``'a', 'b', … (1,234 entries)``."""
    if not names:
        return "nothing (the folder is empty)"
    shown = ", ".join(repr(n) for n in names[:limit])
    more = ", …" if len(names) > limit else ""
    return f"{shown}{more} ({len(names):,} {'entry' if len(names) == 1 else 'entries'})"


def origin(spec: DatasetSpec, context: LoadContext) -> str:
    """How the dataset's folder was chosen, for messages."""
    if spec.name in context.overrides:
        return f"given by --ssl-dataset-path {spec.name}=..."
    if Path(spec.location).expanduser().is_absolute():
        return f"location {spec.location!r} in the suite"
    return f"location {spec.location!r} under the data root {context.data_root}"


def open_root(spec: DatasetSpec, context: LoadContext, path: Path, expected: str) -> Entries:
    """The entries of the dataset's root folder.

    Raises:
        DatasetError: the folder does not exist; the message names the dataset, the path and where it came
            from, what the parent folder holds, the expected layout, and the flag to point elsewhere.
    """
    if path.is_dir():
        return scan(path)
    if path.exists():
        found = f"{path} is a file, not a folder ({origin(spec, context)}); extract the archive first."
    else:
        found = f"no folder at {path} ({origin(spec, context)})."
        if path.parent.is_dir():
            found += f" Its parent {path.parent} holds: {preview(scan(path.parent).names, 8)}."
    raise DatasetError(
        f"dataset {spec.name!r}: {found} Expected {expected}. "
        f"Download it (see docs/imagenet.md), or point at it with --ssl-dataset-path {spec.name}=/path/to/folder"
    )


def layout_error(spec: DatasetSpec, entries: Entries, expected: str, problem: str = "") -> DatasetError:
    """A DatasetError saying what the folder holds instead of the expected layout, with hints for common slips."""
    hints: list[str] = []
    tars = [f for f in entries.files if f.endswith(".tar")]
    if tars:
        hints.append(
            f"it holds .tar archives ({preview(tars, 3)}): extract them first "
            "(for the train split: `for f in *.tar; do mkdir -p ${f%.tar}; tar -xf $f -C ${f%.tar}; done`)"
        )
    if len(entries.dirs) == 1 and not entries.files:
        inner = entries.path / entries.dirs[0]
        try:
            inner_dirs = scan(inner).dirs
        except DatasetError:
            inner_dirs = ()
        if inner_dirs:
            hints.append(f"it holds a single folder {entries.dirs[0]!r}; maybe the dataset is at {inner}")
    detail = f" {problem}" if problem else ""
    hint = f" Hint: {'; '.join(hints)}." if hints else ""
    return DatasetError(
        f"dataset {spec.name!r}: {entries.path} does not have the expected layout.{detail} "
        f"Found: {preview(entries.names)}. Expected {expected}.{hint}"
    )


def sizes_of(root: Path, relative: Sequence[str]) -> tuple[int, ...]:
    """Byte sizes of ``root / name`` for every name, stat'ed from a thread pool.

    Raises:
        DatasetError: a file vanished or cannot be stat'ed; names it.
    """
    base = os.fspath(root) + os.sep

    def chunk_sizes(start: int) -> list[int]:
        names = relative[start : start + _CHUNK]
        try:
            return [os.stat(base + name).st_size for name in names]
        except OSError as exc:
            raise DatasetError(f"cannot read {exc.filename} ({exc.strerror})") from exc

    starts = range(0, len(relative), _CHUNK)
    if len(starts) <= 1:
        return tuple(size for start in starts for size in chunk_sizes(start))
    with ThreadPoolExecutor(max_workers=_workers(len(starts))) as pool:
        return tuple(size for chunk in pool.map(chunk_sizes, starts) for size in chunk)


def list_folders(root: Path, folders: Sequence[str]) -> tuple[list[str], list[int]]:
    """Image files in each of ``folders`` (relative to ``root``), sorted by name within each folder.

    Returns:
        The relative paths in folder order, and how many images each folder holds.
    """
    base = os.fspath(root) + os.sep

    def one(folder: str) -> list[str]:
        try:
            with os.scandir(base + folder) as iterator:
                names = sorted(
                    e.name for e in iterator if not e.name.startswith(".") and is_image(e.name) and e.is_file()
                )
        except OSError as exc:
            raise DatasetError(f"cannot read the folder {base + folder} ({exc.strerror})") from exc
        return [f"{folder}/{name}" for name in names]

    with ThreadPoolExecutor(max_workers=_workers(len(folders))) as pool:
        per_folder = list(pool.map(one, folders))
    return [f for files in per_folder for f in files], [len(files) for files in per_folder]


def _workers(tasks: int) -> int:
    """Threads for file-system calls: they wait on I/O (network file systems), not on the CPU."""
    return max(1, min(16, 4 * (os.cpu_count() or 1), tasks))


def file_source(root: Path, relative: Sequence[str]) -> FileSource:
    """A FileSource over ``relative`` paths under ``root`` with their sizes (the manifest)."""
    return FileSource(root, tuple(relative), sizes_of(root, relative))
