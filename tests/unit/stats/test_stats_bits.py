from __future__ import annotations

import base64
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats import pack_bits, unpack_bits


@settings(max_examples=80, deadline=None)
@given(st.lists(st.booleans(), max_size=300))
def test_round_trip(values: list[bool]) -> None:
    array = np.array(values, dtype=bool)
    encoded = pack_bits(array)
    assert encoded.isascii()
    decoded = unpack_bits(encoded, len(values))
    assert decoded.dtype == np.bool_
    np.testing.assert_array_equal(decoded, array)
    np.testing.assert_array_equal(unpack_bits(encoded), array)


def test_layout_is_little_endian_packbits() -> None:
    encoded = pack_bits([True, False, False, False, False, False, False, False, False, True])
    n, crc, data = encoded.split(":")
    assert n == "10"
    assert base64.b64decode(data) == bytes([0b00000001, 0b00000010])
    assert int(crc, 16) == zlib.crc32(bytes([1, 2]))
    assert pack_bits(np.zeros(0, dtype=bool)).startswith("0:")
    assert pack_bits([1, 0, 1]) == pack_bits([True, False, True])


def test_size_is_compact() -> None:
    encoded = pack_bits(np.random.default_rng(0).random(50_000) < 0.8)
    assert len(encoded) < 8_500


def _corrupt_payload(packed: bytes, n: int) -> str:
    return f"{n}:{zlib.crc32(packed):08x}:{base64.b64encode(packed).decode()}"


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("", "not of the form"),
        ("garbage", "not of the form"),
        ("10:00000000", "not of the form"),
        ("-3:00000000:AA==", "not of the form"),
        ("10:zzzzzzzz:AQI=", "not of the form"),
        ("10:0badcafe:AQI=", "CRC-32"),
        ("10:00000000:AQ=I", "invalid base64"),
        (_corrupt_payload(bytes([1]), 10), "must decode to 2 bytes"),
        (_corrupt_payload(bytes([1, 0b11111110]), 10), "padding"),
    ],
)
def test_corrupt_strings_raise(encoded: str, message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        unpack_bits(encoded)


def test_flipped_character_is_detected() -> None:
    encoded = pack_bits(np.random.default_rng(1).random(100) < 0.5)
    position = len(encoded) - 6
    replacement = "A" if encoded[position] != "A" else "B"
    with pytest.raises(StatisticsError):
        unpack_bits(encoded[:position] + replacement + encoded[position + 1 :])


def test_length_mismatch_and_bad_input() -> None:
    encoded = pack_bits([True, False, True])
    with pytest.raises(StatisticsError, match="3 images but 4 were expected"):
        unpack_bits(encoded, 4)
    with pytest.raises(StatisticsError, match="must be a string"):
        unpack_bits(b"3:00000000:BQ==")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="booleans"):
        pack_bits([0.5, 1.0])
    with pytest.raises(StatisticsError, match="booleans"):
        pack_bits([2, 0])
    with pytest.raises(StatisticsError, match="one-dimensional"):
        pack_bits(np.ones((2, 2), dtype=bool))
