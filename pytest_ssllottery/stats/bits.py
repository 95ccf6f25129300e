"""Compact text storage of per-image correctness for baselines.

Format: ``"<n>:<crc32 as 8 hex digits>:<base64 of the packed bytes>"``. The bytes are
``np.packbits(correct, bitorder="little")`` (image ``i`` is bit ``i % 8`` of byte ``i // 8``), the
unused high bits of the last byte are 0, and the CRC-32 is of the packed bytes. 50,000 images take
about 8.4 kB. Every inconsistency (bad base64, wrong length, checksum, padding) raises
:class:`~pytest_ssllottery.errors.StatisticsError`.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import BoolArray, as_bool_vector, as_count

__all__ = ["pack_bits", "unpack_bits"]

_FORMAT = re.compile(r"(?P<n>0|[1-9][0-9]*):(?P<crc>[0-9a-f]{8}):(?P<data>[A-Za-z0-9+/=]*)")


def pack_bits(correct: npt.ArrayLike) -> str:
    """Encode a 1-D correctness vector (bool, or 0/1 integers) as ``"<n>:<crc32>:<base64>"``."""
    vector = as_bool_vector(correct, "correct")
    packed = np.packbits(vector, bitorder="little").tobytes()
    return f"{vector.size}:{zlib.crc32(packed):08x}:{base64.b64encode(packed).decode('ascii')}"


def unpack_bits(encoded: str, n: SupportsIndex | None = None) -> BoolArray:
    """Decode a string written by :func:`pack_bits`.

    Args:
        encoded: The ``"<n>:<crc32>:<base64>"`` string.
        n: Expected number of images; if given, it must equal the length stored in the string.

    Returns:
        The correctness vector (bool, length ``n``).

    Raises:
        StatisticsError: If the string is malformed, corrupt, or of a different length than ``n``.
    """
    if not isinstance(encoded, str):
        raise StatisticsError(f"packed correctness must be a string, found {type(encoded).__name__}")
    match = _FORMAT.fullmatch(encoded)
    if match is None:
        preview = encoded if len(encoded) <= 40 else encoded[:40] + "..."
        raise StatisticsError(
            f"packed correctness {preview!r} is not of the form '<n>:<crc32 hex>:<base64>'; "
            "the baseline is corrupt: restore it from version control "
            "or re-create it with --ssl-update-baselines"
        )
    size = int(match["n"])
    if n is not None and as_count(n, "n") != size:
        raise StatisticsError(
            f"packed correctness holds {size} images but {as_count(n, 'n')} were expected; the dataset "
            "changed since the baseline was written (re-create it with --ssl-update-baselines)"
        )
    try:
        packed = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StatisticsError(f"packed correctness has invalid base64 ({exc}); the baseline is corrupt") from None
    if len(packed) != (size + 7) // 8:
        raise StatisticsError(
            f"packed correctness for {size} images must decode to {(size + 7) // 8} bytes, "
            f"found {len(packed)}; the baseline is corrupt"
        )
    if zlib.crc32(packed) != int(match["crc"], 16):
        raise StatisticsError("packed correctness fails its CRC-32 checksum; the baseline is corrupt")
    bits = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), bitorder="little")
    if np.any(bits[size:]):
        raise StatisticsError("packed correctness has non-zero padding bits; the baseline is corrupt")
    return bits[:size].astype(np.bool_)
