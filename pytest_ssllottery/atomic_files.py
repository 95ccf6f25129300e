"""Writing files so that a reader never sees half of one (temporary file, fsync, rename), and naming I/O failures.

Used for everything the package stores: baselines, cache entries, reports, the shapes family and zoo.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import CacheError

CACHE_FLAG = "--ssl-cache-dir"


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
