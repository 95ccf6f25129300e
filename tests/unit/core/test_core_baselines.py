"""The baseline store: strict loading that never touches a bad file, keyed updates, atomic sorted writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.compute import cache as cache_module
from pytest_ssllottery.compute.records import AggregateRecord, CellRecord
from pytest_ssllottery.errors import BaselineError
from pytest_ssllottery.gate.baselines import BITS_ENCODING, BaselineStore, Change
from pytest_ssllottery.stats import pack_bits


def cell(method: str, dataset: str, correct: int, n: int = 8) -> CellRecord:
    bits = pack_bits(np.arange(n) < correct)
    return CellRecord("demo", method, dataset, correct, n, f"fp-{dataset}", bits, skipped=1)


def aggregate(method: str, weighted: float, geometric: float) -> AggregateRecord:
    return AggregateRecord("demo", method, weighted, geometric, ("val", "v2"), (8.0, 8.0), (8, 8))


def valid_document() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "suite": "demo",
        "cells": {"a::val": {"accuracy": 75.0, "correct": 6, "n": 8}, "b::val": {"accuracy": 50, "n": 8}},
        "aggregates": {"a": {"weighted_average": 70.0, "geometric_mean": 69.5}},
    }


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_absent_file_loads_as_an_empty_store(tmp_path: Path) -> None:
    store = BaselineStore.load(tmp_path / "none.json", "demo")
    assert (store.cells, store.aggregates, store.suite) == ({}, {}, "demo")
    assert store.cell("a::val") is None
    assert store.aggregate("a") is None


def test_valid_file_loads_its_entries(tmp_path: Path) -> None:
    store = BaselineStore.load(write_json(tmp_path / "b.json", valid_document()), "demo")
    assert store.cell("a::val") == {"accuracy": 75.0, "correct": 6, "n": 8}
    assert store.aggregate("a") == {"weighted_average": 70.0, "geometric_mean": 69.5}


def _mutations() -> list[tuple[str, Any, str]]:
    def doc(**changes: Any) -> dict[str, Any]:
        document = valid_document()
        document.update(changes)
        return document

    bad_accuracy = valid_document()
    bad_accuracy["cells"]["a::val"]["accuracy"] = "75%"
    no_n = valid_document()
    del no_n["cells"]["b::val"]["n"]
    bad_aggregate = valid_document()
    bad_aggregate["aggregates"]["a"]["geometric_mean"] = None
    return [
        ("not json", "{ this is not json", "is corrupt"),
        ("json list", "[1, 2]", "expected a JSON object, found list"),
        ("schema 2", json.dumps(doc(schema_version=2)), "schema_version 2, expected 1"),
        ("no schema", json.dumps({"suite": "demo"}), "schema_version None, expected 1"),
        ("other suite", json.dumps(doc(suite="other")), "belongs to suite 'other', not 'demo'"),
        ("cells list", json.dumps(doc(cells=[])), "`cells` must be an object"),
        ("string accuracy", json.dumps(bad_accuracy), "entry `cells.a::val` needs numeric accuracy, n"),
        ("missing n", json.dumps(no_n), "entry `cells.b::val` needs numeric accuracy, n"),
        ("null aggregate", json.dumps(bad_aggregate), "entry `aggregates.a` needs numeric weighted_average"),
        ("entry not object", json.dumps(doc(cells={"a::val": 75.0})), "entry `cells.a::val`"),
        ("not utf-8", b"\xff\xfe{", "is corrupt"),
    ]


@pytest.mark.parametrize(("case", "content", "fragment"), _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_file_raises_naming_it_and_is_left_untouched(
    tmp_path: Path, case: str, content: str | bytes, fragment: str
) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before, stat = path.read_bytes(), path.stat()
    with pytest.raises(BaselineError) as info:
        BaselineStore.load(path, "demo")
    assert str(path) in str(info.value)
    assert fragment in str(info.value)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


@pytest.mark.parametrize("accuracy", [True, float("nan")], ids=["bool", "nan"])
def test_boolean_or_nan_accuracy_is_rejected(tmp_path: Path, accuracy: Any) -> None:
    document = valid_document()
    document["cells"]["a::val"]["accuracy"] = accuracy
    with pytest.raises(BaselineError):
        BaselineStore.load(write_json(tmp_path / "b.json", document), "demo")


existing_keys = st.sets(st.sampled_from([f"{m}::{d}" for m in "abcd" for d in ("val", "v2", "r")]), max_size=12)
new_cells = st.dictionaries(
    st.sampled_from([(m, d) for m in "abcd" for d in ("val", "v2", "r")]), st.integers(0, 8), max_size=12
)


@settings(max_examples=80, deadline=None)
@given(existing_keys, new_cells, st.sets(st.sampled_from("abcd")), st.sets(st.sampled_from("abcd")))
def test_updated_replaces_exactly_the_given_keys_and_keeps_all_others(
    existing: set[str], new: dict[tuple[str, str], int], old_methods: set[str], new_methods: set[str]
) -> None:
    cells = {key: {"accuracy": 10.0 + i, "n": 8, "marker": key} for i, key in enumerate(sorted(existing))}
    aggregates = {m: {"weighted_average": 1.0, "geometric_mean": 2.0, "marker": m} for m in old_methods}
    store = BaselineStore(Path("b.json"), "demo", dict(cells), dict(aggregates))
    records = [cell(m, d, correct) for (m, d), correct in new.items()]
    agg_records = [aggregate(m, 60.123456, 59.5) for m in new_methods]
    provenance = {m: {"checkpoint_sha256": f"sha-{m}"} for m in "abcd"}

    result, changes = store.updated(records, agg_records, provenance)

    new_keys = {f"{m}::{d}" for m, d in new}
    assert set(result.cells) == set(cells) | new_keys
    for key in set(cells) - new_keys:
        assert result.cells[key] == cells[key]
    for (m, d), correct in new.items():
        entry = result.cells[f"{m}::{d}"]
        assert entry["accuracy"] == round(100 * correct / 8, 4)
        assert (entry["correct"], entry["n"], entry["skipped"]) == (correct, 8, 1)
        assert entry["dataset_fingerprint"] == f"fp-{d}"
        assert entry["per_sample"] == {"encoding": BITS_ENCODING, "bits": pack_bits(np.arange(8) < correct)}
        assert entry["provenance"] == {"checkpoint_sha256": f"sha-{m}"}
    assert set(result.aggregates) == old_methods | new_methods
    for m in old_methods - new_methods:
        assert result.aggregates[m] == aggregates[m]
    for m in new_methods:
        assert result.aggregates[m]["weighted_average"] == 60.1235
        assert result.aggregates[m]["datasets"] == ["val", "v2"]

    expected_changes = [
        Change(key, cells[key]["accuracy"] if key in cells else None, round(100 * new[(m, d)] / 8, 4))
        for key, (m, d) in sorted((f"{m}::{d}", (m, d)) for m, d in new)
    ]
    for m in sorted(new_methods):
        old = aggregates.get(m, {})
        expected_changes.append(Change(f"{m}::aggregate", old.get("weighted_average"), 60.1235, "weighted_average"))
        expected_changes.append(Change(f"{m}::aggregate", old.get("geometric_mean"), 59.5, "geometric_mean"))
    assert changes == expected_changes
    assert store.cells == cells
    assert store.aggregates == aggregates


def test_write_is_sorted_indented_newline_terminated_and_round_trips(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "out" / "b.json", "demo")
    store, _ = store.updated(
        [cell("zeta", "val", 3), cell("alpha", "v2", 5)], [aggregate("zeta", 40.0, 39.0)], {"zeta": {"z": 1, "a": 2}}
    )
    store.write()
    text = store.path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")

    def check_sorted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        assert keys == sorted(keys)
        return dict(pairs)

    json.loads(text, object_pairs_hook=check_sorted)
    lines = text.splitlines()
    assert lines[0] == "{"
    assert lines[1].startswith('  "')
    assert all((len(line) - len(line.lstrip(" "))) % 2 == 0 for line in lines)
    assert max(len(line) - len(line.lstrip(" ")) for line in lines) >= 6
    reloaded = BaselineStore.load(store.path, "demo")
    assert reloaded.cells == store.cells
    assert reloaded.aggregates == store.aggregates
    assert json.loads(text) == store.to_data()


def test_write_into_an_existing_file_keeps_other_entries(tmp_path: Path) -> None:
    path = write_json(tmp_path / "b.json", valid_document())
    store = BaselineStore.load(path, "demo")
    updated, _ = store.updated([cell("c", "val", 4)], [], {})
    updated.write()
    reloaded = BaselineStore.load(path, "demo")
    assert set(reloaded.cells) == {"a::val", "b::val", "c::val"}
    assert reloaded.cells["a::val"] == valid_document()["cells"]["a::val"]
    assert reloaded.aggregates == valid_document()["aggregates"]


def test_failed_write_leaves_the_previous_file_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_json(tmp_path / "b.json", valid_document())
    before = path.read_bytes()
    updated, _ = BaselineStore.load(path, "demo").updated([cell("c", "val", 4)], [], {})

    def refuse(src: str, dst: str) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(cache_module.os, "replace", refuse)
    with pytest.raises(BaselineError, match="Permission denied; nothing was changed") as info:
        updated.write()
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]
