"""The content-addressed artifact cache: hits, corrupt entries, cross-process locking, atomic writes.

This module imports only numpy, pytest and the cache: the spawned worker processes import it to find their
target, so it stays light (cache keys are tested in test_core_cache_keys.py).
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.atomic_files import atomic_write_bytes
from pytest_ssllottery.compute import cache as cache_module
from pytest_ssllottery.compute.cache import ArtifactCache, cache_key


def counted(log: Path, value: float = 1.0):
    """A compute function that appends a line to ``log`` each time it runs."""

    def compute() -> dict[str, np.ndarray]:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return {"x": np.arange(6, dtype=np.float32).reshape(2, 3) * value, "n": np.array(3)}

    return compute


def computations(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_get_or_compute_computes_once_then_hits(tmp_path: Path) -> None:
    cache, log = ArtifactCache(tmp_path / "cache"), tmp_path / "log"
    first = cache.get_or_compute("features", {"method": "m"}, counted(log))
    second = cache.get_or_compute("features", {"method": "m"}, counted(log))
    assert computations(log) == 1
    assert (cache.misses, cache.hits) == (1, 1)
    np.testing.assert_array_equal(first["x"], second["x"])
    assert second["x"].dtype == np.float32
    assert int(second["n"]) == 3


def test_a_fresh_cache_object_hits_entries_written_by_another(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ArtifactCache(tmp_path / "cache").get_or_compute("probe", {"k": 1}, counted(log))
    other = ArtifactCache(tmp_path / "cache")
    other.get_or_compute("probe", {"k": 1}, counted(log))
    assert computations(log) == 1
    assert other.hits == 1


def test_different_inputs_or_kinds_are_different_entries(tmp_path: Path) -> None:
    cache, log = ArtifactCache(tmp_path / "cache"), tmp_path / "log"
    cache.get_or_compute("features", {"method": "m"}, counted(log))
    cache.get_or_compute("features", {"method": "n"}, counted(log))
    cache.get_or_compute("probe", {"method": "m"}, counted(log))
    assert computations(log) == 3


def test_entry_is_stored_with_its_inputs_beside_it(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    cache.get_or_compute("features", {"method": "m"}, counted(tmp_path / "log"))
    key = cache_key({"kind": "features", "method": "m"})
    path = cache.path("features", key)
    assert path == tmp_path / "cache" / "features" / key[:2] / f"{key}.npz"
    assert path.is_file()
    assert '"method": "m"' in path.with_suffix(".json").read_text()


def _corrupt_entry(cache: ArtifactCache, log: Path, how: str) -> Path:
    cache.get_or_compute("features", {"method": "m"}, counted(log))
    path = cache.path("features", cache_key({"kind": "features", "method": "m"}))
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "garbage": b"not an npz at all", "truncated": data[: len(data) // 2]}[how])
    return path


@pytest.mark.parametrize(
    "how",
    [
        "empty",
        "garbage",
        # The truncated case also leaks a file handle; that is checked separately.
        pytest.param("truncated", marks=pytest.mark.filterwarnings("ignore::ResourceWarning")),
    ],
)
def test_corrupt_entry_warns_is_removed_and_recomputed(tmp_path: Path, how: str) -> None:
    cache, log = ArtifactCache(tmp_path / "cache"), tmp_path / "log"
    path = _corrupt_entry(cache, log, how)
    with pytest.warns(RuntimeWarning, match=f"cache entry {path} is unreadable"):
        again = cache.get_or_compute("features", {"method": "m"}, counted(log, value=2.0))
    assert computations(log) == 2
    np.testing.assert_array_equal(again["x"], np.arange(6).reshape(2, 3) * 2.0)
    with np.load(path) as archive:
        np.testing.assert_array_equal(archive["x"], again["x"])


def test_corrupt_entry_is_deleted_by_load(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    path = _corrupt_entry(cache, tmp_path / "log", "garbage")
    key = cache_key({"kind": "features", "method": "m"})
    with pytest.warns(RuntimeWarning):
        assert cache.load("features", key) is None
    assert not path.exists()


def test_truncated_entry_does_not_leak_a_file_handle(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    _corrupt_entry(cache, tmp_path / "log", "truncated")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.load("features", cache_key({"kind": "features", "method": "m"}))
    assert [w.category for w in caught] == [RuntimeWarning]


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".tmp"))


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    for i in range(3):
        cache.get_or_compute("features", {"i": i}, counted(tmp_path / "log"))
    assert _leftovers(tmp_path / "cache") == []
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 3


def _worker(root: str, log: str, out: str, barrier) -> None:
    """Runs in a spawned process: wait for the other worker, then ask for the same entry."""

    def slow() -> dict[str, np.ndarray]:
        time.sleep(0.5)
        return counted(Path(log))()

    barrier.wait(timeout=60)
    arrays = ArtifactCache(Path(root)).get_or_compute("features", {"method": "shared"}, slow)
    np.save(out, arrays["x"])


def test_two_processes_compute_a_shared_entry_exactly_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    root, log = tmp_path / "cache", tmp_path / "log"
    outputs = [tmp_path / f"out{i}.npy" for i in range(2)]
    workers = [context.Process(target=_worker, args=(str(root), str(log), str(out), barrier)) for out in outputs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert computations(log) == 1
    first, second = (np.load(out) for out in outputs)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert _leftovers(root) == []


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_failed_atomic_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old contents")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_failed_cache_save_leaves_no_entry_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ArtifactCache(tmp_path / "cache")

    def refuse(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cache_module.os, "replace", refuse)
    with pytest.raises(OSError, match="Input/output error"):
        cache.get_or_compute("features", {"method": "m"}, counted(tmp_path / "log"))
    assert list((tmp_path / "cache").rglob("*.npz")) == []
    assert _leftovers(tmp_path / "cache") == []
