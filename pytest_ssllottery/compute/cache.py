"""Content-addressed on-disk cache of computed arrays (features, probes).

Entries live at ``<root>/<kind>/<key[:2]>/<key>.npz`` beside a ``.json`` with the key's inputs. Writes
go to a temporary file in the same folder and are renamed into place, so a reader never sees half a
file; a per-key file lock makes concurrent processes (pytest-xdist workers, parallel CI jobs) compute
each entry once while the others wait and then read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from ..atomic_files import atomic_write, atomic_write_bytes, cache_io

Arrays = dict[str, np.ndarray]


def cache_key(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``payload``."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def entry_key(kind: str, inputs: Mapping[str, Any]) -> str:
    """The key of the ``kind`` entry computed from ``inputs`` (what :meth:`ArtifactCache.get_or_compute` uses)."""
    return cache_key({"kind": kind, **inputs})


def check_writable(root: Path) -> None:
    """Fail early, once, when the cache folder cannot be created or written (not once per item later).

    Raises:
        CacheError: naming the folder, the reason and the flag that moves the cache.
    """
    with cache_io(root, "write to the cache folder"):
        root.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=root, prefix=".write-check-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)


def _member_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One stored (uncompressed) ``.npy`` member of an npz, memory-mapped in place (read-only)."""
    with path.open("rb") as stream:
        stream.seek(info.header_offset)
        header = stream.read(30)
        if header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"{info.filename}: no local file header")
        name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        start = info.header_offset + 30 + name_length + extra_length
        stream.seek(start)
        version = np.lib.format.read_magic(stream)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(stream)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(stream)
        )
        offset = stream.tell()
    if dtype.hasobject:
        raise ValueError(f"{info.filename}: object arrays are not loaded from the cache")
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    mapped: np.ndarray = np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )
    return mapped


def map_npz(path: Path) -> Arrays:
    """The arrays of an uncompressed npz (what ``np.savez`` writes), memory-mapped, not read.

    A warm run touches only the pages it uses: the probe's cache hit never reads the train features at all,
    and an ImageNet train matrix (1.28 M x 2048) is paged in by the OS instead of copied into memory.
    Compressed members (``np.savez_compressed``) are read normally.
    """
    arrays: Arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename.removesuffix(".npy")
            if info.compress_type == zipfile.ZIP_STORED:
                arrays[name] = _member_array(path, archive, info)
            else:
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


class ArtifactCache:
    """Arrays keyed by content hash, computed once across processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        """Where the entry of ``kind``/``key`` lives."""
        return self.root / kind / key[:2] / f"{key}.npz"

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry is stored (without reading it)."""
        return self.path(kind, key).is_file()

    def load(self, kind: str, key: str) -> Arrays | None:
        """The entry, or None when absent; a corrupt entry is removed (with a warning) and reported absent."""
        path = self.path(kind, key)
        if not path.exists():
            return None
        try:
            return map_npz(path)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            warnings.warn(f"cache entry {path} is unreadable ({exc}); recomputing it", RuntimeWarning, stacklevel=2)
            path.unlink(missing_ok=True)
            return None

    def save(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], inputs: Mapping[str, Any]) -> Path:
        """Store an entry atomically, with its inputs as JSON beside it."""
        path = self.path(kind, key)
        atomic_write(path, lambda stream: np.savez(stream, **arrays))  # type: ignore[arg-type]
        atomic_write_bytes(
            path.with_suffix(".json"), json.dumps(inputs, sort_keys=True, indent=1, default=str).encode()
        )
        return path

    def get_or_compute(
        self, kind: str, inputs: Mapping[str, Any], compute: Callable[[], Mapping[str, np.ndarray]]
    ) -> Arrays:
        """The cached entry for ``inputs``, computing and storing it under a lock when absent."""
        key = entry_key(kind, inputs)
        found = self.load(kind, key)
        if found is not None:
            self.hits += 1
            return found
        lock_path = self.path(kind, key).with_suffix(".lock")
        with cache_io(lock_path.parent, "create the cache folder"):
            lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        with cache_io(lock_path, "lock the cache entry"):
            lock.acquire()
        try:
            found = self.load(kind, key)
            if found is not None:
                self.hits += 1
                return found
            arrays = {name: np.asarray(value) for name, value in compute().items()}
            self._write(kind, key, arrays, inputs)
            self.misses += 1
            return arrays
        finally:
            lock.release()

    def put(self, kind: str, inputs: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str:
        """Store arrays computed elsewhere (a decode shared by several methods, a torchrun gather) under their key.

        An entry already there is kept: it holds the same content. Returns the key.
        """
        key = entry_key(kind, inputs)
        if not self.has(kind, key):
            self._write(kind, key, arrays, inputs)
        return key

    def _write(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], inputs: Mapping[str, Any]) -> None:
        with cache_io(self.path(kind, key), "write the cache entry"):
            self.save(kind, key, arrays, {"kind": kind, **inputs})
