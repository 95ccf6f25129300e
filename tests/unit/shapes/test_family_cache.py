"""The shapes family's on-disk cache: reuse, corruption, atomic writes, locking, name errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_ssllottery.errors import DatasetError
from pytest_ssllottery.shapes import family as fam
from pytest_ssllottery.shapes.generate import Generated, generate

SCALE = 0.01  # 20 images per full split: the cache logic does not care about sizes


class CountingGenerate:
    """Wraps ``generate`` and records which splits each call asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, seed: int, splits: Sequence[str], reference: Any, **kwargs: Any) -> Generated:
        with self.lock:
            self.calls.append(tuple(splits))
        return generate(seed, splits, reference, **kwargs)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingGenerate:
    counter = CountingGenerate()
    monkeypatch.setattr(fam, "generate", counter)
    return counter


def load(cache: Path, name: str = "sketch", seed: int = 0) -> fam.ShapesSplit:
    return fam.load_split(name, cache, seed, scale=SCALE, workers=1)


def test_second_load_reads_the_cache(tmp_path: Path, counting: CountingGenerate) -> None:
    first = load(tmp_path)
    folder = fam.cache_directory(tmp_path, 0, SCALE)
    mtime = (folder / "sketch.npz").stat().st_mtime_ns
    second = load(tmp_path)
    assert counting.calls == [("sketch",)]
    assert second.fingerprint() == first.fingerprint()
    assert (folder / "sketch.npz").stat().st_mtime_ns == mtime
    assert first.fingerprint() == generate(0, ["sketch"], None, scale=SCALE, workers=1).splits["sketch"].fingerprint()


def test_cache_folder_names_version_seed_and_scale(tmp_path: Path) -> None:
    load(tmp_path, seed=7)
    folder = tmp_path / f"shapes-v{fam.GENERATOR_VERSION}-seed7-scale0.01"
    assert (folder / "sketch.npz").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["identity"] == {"generator_version": fam.GENERATOR_VERSION, "seed": 7, "scale": SCALE}
    assert manifest["splits"]["sketch"]["count"] == 20
    assert fam.cache_directory(tmp_path, 3) == tmp_path / f"shapes-v{fam.GENERATOR_VERSION}-seed3"


def test_val_and_real_are_generated_together(tmp_path: Path, counting: CountingGenerate) -> None:
    real = load(tmp_path, "real")
    val = load(tmp_path, "val")
    assert counting.calls == [("val", "real")]
    assert real.images.tobytes() == val.images.tobytes()


def test_different_seeds_use_different_entries(tmp_path: Path, counting: CountingGenerate) -> None:
    a, b = load(tmp_path, seed=0), load(tmp_path, seed=1)
    assert len(counting.calls) == 2
    assert a.fingerprint() != b.fingerprint()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"not a zip file"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), id="truncated"),
        pytest.param(lambda p: p.unlink(), id="missing"),
    ],
)
def test_corrupt_split_file_is_regenerated(
    tmp_path: Path, counting: CountingGenerate, damage: Callable[[Path], object]
) -> None:
    good = load(tmp_path)
    damage(fam.cache_directory(tmp_path, 0, SCALE) / "sketch.npz")
    again = load(tmp_path)
    assert counting.calls == [("sketch",), ("sketch",)]
    assert again.fingerprint() == good.fingerprint()
    assert load(tmp_path).fingerprint() == good.fingerprint()
    assert len(counting.calls) == 2  # the repaired file is used again


def test_valid_file_with_other_content_is_not_used(tmp_path: Path, counting: CountingGenerate) -> None:
    """A well-formed file that does not match the manifest's fingerprint (e.g. swapped) is regenerated."""
    sketch = load(tmp_path)
    load(tmp_path, "v2")
    folder = fam.cache_directory(tmp_path, 0, SCALE)
    (folder / "sketch.npz").write_bytes((folder / "v2.npz").read_bytes())
    assert load(tmp_path).fingerprint() == sketch.fingerprint()
    assert counting.calls == [("sketch",), ("v2",), ("sketch",)]


def test_corrupt_manifest_regenerates(tmp_path: Path, counting: CountingGenerate) -> None:
    good = load(tmp_path)
    (fam.cache_directory(tmp_path, 0, SCALE) / "manifest.json").write_text("{ half a manif")
    assert load(tmp_path).fingerprint() == good.fingerprint()
    assert len(counting.calls) == 2


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("pytest_ssllottery.compute.cache.os.replace", fail)  # the atomic writer family.py uses
    with pytest.raises(OSError, match="disk full"):
        load(tmp_path)
    folder = fam.cache_directory(tmp_path, 0, SCALE)
    assert list(folder.iterdir()) == []  # no temp file, no half-written split, no manifest
    monkeypatch.undo()
    assert load(tmp_path).labels.shape == (20,)


def test_concurrent_loads_generate_once(tmp_path: Path, counting: CountingGenerate) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(load(tmp_path).fingerprint())
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counting.calls == [("sketch",)]
    assert len(set(results)) == 1
    assert len(results) == 3


def test_unknown_split_name_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        fam.load_split("imagenet-c", tmp_path)
    message = str(info.value)
    assert "'imagenet-c'" in message
    for name in fam.SPLITS:
        assert name in message
    assert not any(tmp_path.iterdir())  # nothing generated


def test_adversarial_without_the_filter_checkpoint_names_the_retrain_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_ssllottery.shapes.reference.FILTER_CHECKPOINT", tmp_path / "missing" / "filter.pth")
    with pytest.raises(DatasetError, match=r"python -m pytest_ssllottery\.shapes\.zoo"):
        fam.load_split("adversarial", tmp_path)
    with pytest.raises(DatasetError, match=r"filter\.pth"):
        fam.default_reference()
    assert load(tmp_path, "sketch").labels.shape == (20,)  # the other splits do not need it


def test_a_script_without_a_main_guard_finishes_instead_of_hanging(tmp_path: Path) -> None:
    """Spawned workers re-run the script's top level; they must not wait for the lock their parent holds."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from pytest_ssllottery.shapes import family
            split = family.load_split("sketch", Path({str(tmp_path / "cache")!r}), 0, scale=0.05, workers=2)
            print("images", len(split.labels))
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "images 100" in done.stdout
    assert "re-running your script's top level" in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr
