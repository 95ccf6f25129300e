"""Cache keys: sha256 of canonical JSON, independent of dict key order."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.compute.cache import cache_key

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_cache_key_does_not_depend_on_dict_key_order(payload: dict, random) -> None:
    def shuffled(value):
        if isinstance(value, dict):
            items = list(value.items())
            random.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    assert cache_key(shuffled(payload)) == cache_key(payload)


def test_cache_key_is_the_sha256_of_the_canonical_json() -> None:
    # Keys name files on disk, so they must not change between processes or runs.
    payload = {"b": [1, 2], "a": {"y": None, "x": "s"}}
    canonical = '{"a": {"x": "s", "y": null}, "b": [1, 2]}'
    assert cache_key(payload) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "other",
    [{"a": 2, "b": [1, 2]}, {"a": 1, "b": [2, 1]}, {"a": 1, "b": [1, 2], "c": None}, {"a": "1", "b": [1, 2]}],
)
def test_cache_key_changes_with_content(other: dict) -> None:
    assert cache_key(other) != cache_key({"a": 1, "b": [1, 2]})
