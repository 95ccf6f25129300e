"""Cached features: memory-mapped reads, float16 storage, a probe found without reading its train features."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from pytest_ssllottery.compute.cache import map_npz
from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.features import ExtractionSettings, extract_features
from pytest_ssllottery.compute.prepare import prepare_suite
from pytest_ssllottery.datasets.sources import ArraySource
from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.settings import RunSettings
from pytest_ssllottery.suite.spec import Preprocessing


def _engine(root: Path, storage: str | None = None) -> Engine:
    from fabricate import tiny_suite

    path = tiny_suite(root)
    if storage is not None:
        text = path.read_text().replace(
            "bootstrap_resamples = 50", f'bootstrap_resamples = 50\nfeature_storage = "{storage}"'
        )
        path.write_text(text)
    return Engine(prepare_suite(path), RunSettings(cache_dir=root / "cache", data_root=root / "data"))


def test_npz_members_are_mapped_not_read(tmp_path: Path) -> None:
    arrays = {
        "features": np.random.default_rng(0).random((300, 5)).astype(np.float16),
        "valid": np.arange(300) % 3 == 0,
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "empty": np.zeros((0, 4)),
    }
    np.savez(tmp_path / "entry.npz", **arrays)
    mapped = map_npz(tmp_path / "entry.npz")
    assert isinstance(mapped["features"], np.memmap)
    assert not mapped["features"].flags.writeable
    for name, value in arrays.items():
        assert mapped[name].dtype == value.dtype
        np.testing.assert_array_equal(mapped[name], value)
    np.savez_compressed(tmp_path / "packed.npz", **arrays)
    np.testing.assert_array_equal(map_npz(tmp_path / "packed.npz")["features"], arrays["features"])


def test_a_truncated_entry_is_an_error_the_cache_turns_into_a_miss(tmp_path: Path) -> None:
    np.savez(tmp_path / "entry.npz", features=np.ones((50, 4), dtype=np.float32))
    data = (tmp_path / "entry.npz").read_bytes()
    (tmp_path / "entry.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(zipfile.BadZipFile):
        map_npz(tmp_path / "entry.npz")


def test_a_cached_probe_is_found_without_reading_the_train_features(tmp_path: Path, monkeypatch) -> None:
    first = _engine(tmp_path)
    method = first.suite.method("alpha")
    expected = first.cell("alpha", "val")
    second = Engine(first.suite, first.settings)
    read: list[str] = []
    original = Engine.features

    def spy(self: Engine, method, dataset):  # type: ignore[no-untyped-def]
        read.append(dataset.name)
        return original(self, method, dataset)

    monkeypatch.setattr(Engine, "features", spy)
    probe, key = second.probe(method)
    assert read == []
    assert key == first.probe(method)[1]
    assert second.cell("alpha", "val") == expected
    assert read == ["val"]
    np.testing.assert_array_equal(probe.weight, first.probe(method)[0].weight)


def test_float16_storage_halves_the_entry_and_keeps_the_scores_close(tmp_path: Path) -> None:
    full = _engine(tmp_path / "full")
    half = _engine(tmp_path / "half", "float16")
    alpha = full.suite.method("alpha")
    val_full, key_full = full.features(alpha, full.dataset("val"))
    val_half, key_half = half.features(half.suite.method("alpha"), half.dataset("val"))
    assert key_full != key_half
    assert val_half.features.dtype == np.float16
    assert val_full.features.dtype == np.float32
    np.testing.assert_allclose(val_half.features, val_full.features, rtol=1e-3, atol=1e-3)
    sizes = {
        name: sum(p.stat().st_size for p in (tmp_path / name / "cache" / "features").rglob("*.npz"))
        for name in ("full", "half")
    }
    assert sizes["half"] < 0.6 * sizes["full"]
    for dataset in ("val", "shifted"):
        assert abs(full.cell("alpha", dataset).correct - half.cell("alpha", dataset).correct) <= 2


class _Scaled(torch.nn.Module):
    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :6] * self.scale


def test_extraction_fills_one_array_whatever_the_batch_size() -> None:
    images = np.random.default_rng(1).integers(0, 256, size=(23, 4, 4, 3), dtype=np.uint8)
    pre = Preprocessing(mean=None, std=None)
    small = extract_features(_Scaled(1.0), ArraySource(images), pre, ExtractionSettings(batch_size=5))
    whole = extract_features(_Scaled(1.0), ArraySource(images), pre, ExtractionSettings(batch_size=64))
    np.testing.assert_array_equal(small.features, whole.features)
    assert small.features.shape == (23, 6)
    assert small.valid.all()


def test_float16_overflow_names_the_setting() -> None:
    images = np.full((3, 4, 4, 3), 255, dtype=np.uint8)
    with pytest.raises(SpecError, match='feature_storage = "float32"'):
        extract_features(
            _Scaled(1e6),
            ArraySource(images),
            Preprocessing(mean=None, std=None),
            ExtractionSettings(),
            storage="float16",
        )


def test_unknown_storage_is_a_suite_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="feature_storage"):
        _engine(tmp_path, "bfloat8")
