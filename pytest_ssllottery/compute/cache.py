"""Content-addressed on-disk cache of computed arrays (features, probes).

Entries live at ``<root>/<kind>/<key[:2]>/<key>.npz`` beside a ``.json`` with the key's inputs. Writes
go to a temporary file in the same folder and are renamed into place, so a reader never sees half a
file; a per-key file lock makes concurrent processes (pytest-xdist workers, parallel CI jobs) compute
each entry once while the others wait and then read it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from filelock import FileLock

from ..errors import CacheError

Arrays = dict[str, np.ndarray]
CACHE_FLAG = "--ssl-cache-dir"


@contextmanager
def cache_io(path: Path, action: str) -> Iterator[None]:
    """Turn an OS error of a cache operation into a :class:`CacheError` that names the path and the fix."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.ENOSPC:
            fix = f"free disk space there, or point {CACHE_FLAG} at a disk with room"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            fix = f"make it writable, or point {CACHE_FLAG} at a writable folder"
        else:
            fix = f"check the folder, or point {CACHE_FLAG} elsewhere"
        raise CacheError(f"cannot {action} {path} ({reason}); {fix}. Nothing stored there was changed") from exc


def cache_key(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``payload``."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or the usual ones for a new file (mkstemp's are owner-only)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(stream)`` on a temporary file in the same folder, then an atomic rename.

    Readers never see half a file, and a failure leaves the previous file (if any) untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, _mode_for(path))
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda stream: stream.write(data))


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


class ArtifactCache:
    """Arrays keyed by content hash, computed once across processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        """Where the entry of ``kind``/``key`` lives."""
        return self.root / kind / key[:2] / f"{key}.npz"

    def load(self, kind: str, key: str) -> Arrays | None:
        """The entry, or None when absent; a corrupt entry is removed (with a warning) and reported absent."""
        path = self.path(kind, key)
        if not path.exists():
            return None
        try:
            with path.open("rb") as stream, np.load(stream, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
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
        key = cache_key({"kind": kind, **inputs})
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
            with cache_io(self.path(kind, key), "write the cache entry"):
                self.save(kind, key, arrays, {"kind": kind, **inputs})
            self.misses += 1
            return arrays
        finally:
            lock.release()
