"""The SGD probe's resident features: stored dtype kept, batches normalised per batch, same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_ssllottery.compute import probe_sgd as probe_module
from pytest_ssllottery.compute.probe import fit_probe
from pytest_ssllottery.suite.spec import ProbeSpec

SPEC = ProbeSpec(optimizer="sgd", epochs=4, lr=0.1, batch_size=16, weight_decay=1e-4, normalize="standardize")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 4, size=120)
    features = (rng.normal(size=(120, 12)) + targets[:, None] * 0.5).astype(np.float16)
    return features, targets


@pytest.mark.parametrize("normalize", ["standardize", "l2", "none"])
def test_float16_features_train_the_probe_they_would_as_float32(normalize: str) -> None:
    features, targets = _data()
    spec = ProbeSpec(**{**SPEC.__dict__, "normalize": normalize})
    half = fit_probe(features, targets, 4, spec)
    full = fit_probe(features.astype(np.float32), targets, 4, spec)
    np.testing.assert_array_equal(half.weight, full.weight)
    np.testing.assert_array_equal(half.bias, full.bias)


def test_features_kept_on_the_host_give_the_same_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    features, targets = _data()
    resident = fit_probe(features, targets, 4, SPEC)
    monkeypatch.setattr(probe_module, "keeps_on_device", lambda features, device: False)
    streamed = fit_probe(features, targets, 4, SPEC)
    np.testing.assert_array_equal(resident.weight, streamed.weight)


def test_read_only_memory_mapped_features_are_used_without_a_copy_or_warning(tmp_path) -> None:
    features, targets = _data()
    np.save(tmp_path / "f.npy", features)
    mapped = np.load(tmp_path / "f.npy", mmap_mode="r")
    fitted = fit_probe(mapped, targets, 4, SPEC)
    np.testing.assert_array_equal(fitted.weight, fit_probe(features, targets, 4, SPEC).weight)
