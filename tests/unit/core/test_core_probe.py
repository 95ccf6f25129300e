"""Linear probes: L-BFGS against scipy's minimiser of the same objective, SGD determinism, schedules."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

from pytest_ssllottery.compute.probe import LinearProbe, fit_probe
from pytest_ssllottery.compute.probe_sgd import lr_at as _lr_at
from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.spec import ProbeSpec

CLASSES = 3


def blobs(seed: int, n: int = 60, dim: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian classes on features of very different scales and offsets."""
    rng = np.random.default_rng(seed)
    targets = np.arange(n) % CLASSES
    features = rng.normal(size=(n, dim)) + 1.5 * np.eye(CLASSES, dim)[targets]
    features = features * rng.uniform(0.5, 3.0, dim) + rng.normal(scale=4.0, size=dim)
    return features, targets


def objective(theta: np.ndarray, z: np.ndarray, y: np.ndarray, wd: float) -> tuple[float, np.ndarray]:
    """Mean cross-entropy + 0.5 * wd * ||W||^2 (bias unpenalised), and its gradient."""
    n, dim = z.shape
    weight, bias = theta[: CLASSES * dim].reshape(CLASSES, dim), theta[CLASSES * dim :]
    logits = z @ weight.T + bias
    lse = logsumexp(logits, axis=1)
    loss = float(np.mean(lse - logits[np.arange(n), y]) + 0.5 * wd * np.sum(weight**2))
    grad = np.exp(logits - lse[:, None])
    grad[np.arange(n), y] -= 1.0
    grad /= n
    return loss, np.concatenate([(grad.T @ z + wd * weight).ravel(), grad.sum(axis=0)])


def centred(logits: np.ndarray) -> np.ndarray:
    """Logits up to the per-row constant softmax ignores (the bias is only defined up to it)."""
    return logits - logits.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("weight_decay", [0.01, 0.3])
def test_lbfgs_probe_minimises_the_penalised_cross_entropy(weight_decay: float) -> None:
    x, y = blobs(0)
    spec = ProbeSpec(optimizer="lbfgs", epochs=200, weight_decay=weight_decay)
    probe = fit_probe(x, y, CLASSES, spec)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    dim = x.shape[1]
    reference = minimize(
        objective,
        np.zeros(CLASSES * dim + CLASSES),
        args=(z, y, weight_decay),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    ours, gradient = objective(np.concatenate([probe.weight.ravel(), probe.bias]), z, y, weight_decay)
    # Stopped by the gradient tolerance (checked in float64 here; the probe computes in float32)
    assert np.abs(gradient).max() <= 2 * spec.tolerance
    assert ours == pytest.approx(reference.fun, rel=1e-6)
    expected_logits = z @ reference.x[: CLASSES * dim].reshape(CLASSES, dim).T + reference.x[CLASSES * dim :]
    x_test, _ = blobs(1)
    z_test = (x_test - x.mean(axis=0)) / x.std(axis=0)
    test_logits = z_test @ reference.x[: CLASSES * dim].reshape(CLASSES, dim).T + reference.x[CLASSES * dim :]
    np.testing.assert_allclose(centred(probe.logits(x)), centred(expected_logits), atol=1e-2)
    np.testing.assert_allclose(centred(probe.logits(x_test)), centred(test_logits), atol=1e-2)
    np.testing.assert_array_equal(probe.logits(x_test).argmax(axis=1), test_logits.argmax(axis=1))


def test_lbfgs_probe_is_deterministic() -> None:
    x, y = blobs(2)
    spec = ProbeSpec(optimizer="lbfgs", epochs=30, weight_decay=0.01)
    first, second = fit_probe(x, y, CLASSES, spec), fit_probe(x, y, CLASSES, spec)
    np.testing.assert_array_equal(first.weight, second.weight)
    np.testing.assert_array_equal(first.bias, second.bias)


SGD = ProbeSpec(optimizer="sgd", epochs=4, lr=0.1, batch_size=16, weight_decay=1e-4, seed=7)


def test_sgd_probe_is_deterministic_for_a_seed() -> None:
    x, y = blobs(3)
    first, second = fit_probe(x, y, CLASSES, SGD), fit_probe(x, y, CLASSES, SGD)
    np.testing.assert_array_equal(first.weight, second.weight)
    np.testing.assert_array_equal(first.bias, second.bias)


def test_sgd_probe_differs_for_another_seed() -> None:
    x, y = blobs(3)
    first, other = fit_probe(x, y, CLASSES, SGD), fit_probe(x, y, CLASSES, replace(SGD, seed=8))
    assert not np.allclose(first.weight, other.weight)


def test_sgd_probe_learns_separable_classes() -> None:
    rng = np.random.default_rng(4)
    y = np.arange(90) % CLASSES
    x = 5.0 * np.eye(CLASSES, 4)[y] + rng.normal(scale=0.3, size=(90, 4))
    probe = fit_probe(x, y, CLASSES, replace(SGD, epochs=20, lr=0.5))
    assert (probe.logits(x).argmax(axis=1) == y).mean() == 1.0


def test_sgd_progress_is_reported_per_epoch() -> None:
    x, y = blobs(5)
    calls: list[int] = []
    fit_probe(x, y, CLASSES, SGD, advance=calls.append)
    assert calls == [1] * SGD.epochs


def test_standardize_uses_the_train_mean_and_std() -> None:
    x, y = blobs(6)
    probe = fit_probe(x, y, CLASSES, ProbeSpec(epochs=5, normalize="standardize"))
    np.testing.assert_allclose(probe.shift, x.mean(axis=0))
    np.testing.assert_allclose(probe.scale, 1.0 / x.std(axis=0))
    other, _ = blobs(7)
    np.testing.assert_allclose(probe.transform(other), (other - x.mean(axis=0)) / x.std(axis=0))


def test_l2_normalisation_makes_each_row_unit_length_and_keeps_its_direction() -> None:
    x, y = blobs(8)
    probe = fit_probe(x, y, CLASSES, ProbeSpec(epochs=5, normalize="l2"))
    other, _ = blobs(9)
    transformed = probe.transform(other)
    np.testing.assert_allclose(np.linalg.norm(transformed, axis=1), 1.0)
    np.testing.assert_allclose(transformed * np.linalg.norm(other, axis=1, keepdims=True), other)


def test_no_normalisation_leaves_features_unchanged() -> None:
    x, y = blobs(10)
    probe = fit_probe(x, y, CLASSES, ProbeSpec(epochs=5, normalize="none"))
    other, _ = blobs(11)
    np.testing.assert_array_equal(probe.transform(other), other)
    np.testing.assert_allclose(probe.logits(other), other @ probe.weight.T + probe.bias)


def test_cosine_schedule_follows_half_a_cosine_from_lr_to_zero() -> None:
    spec = ProbeSpec(lr=0.4, epochs=10, schedule="cosine")
    for epoch in range(spec.epochs + 1):
        assert _lr_at(spec, epoch) == pytest.approx(0.4 * (1 + math.cos(math.pi * epoch / 10)) / 2)
    assert _lr_at(spec, 0) == pytest.approx(0.4)
    assert _lr_at(spec, 5) == pytest.approx(0.2)
    assert _lr_at(spec, 10) == pytest.approx(0.0, abs=1e-12)


def test_step_schedule_divides_by_ten_at_each_milestone() -> None:
    spec = ProbeSpec(lr=1.0, epochs=10, schedule="step", milestones=(3, 6))
    expected = [1.0] * 3 + [0.1] * 3 + [0.01] * 4
    assert [_lr_at(spec, epoch) for epoch in range(10)] == pytest.approx(expected)


def test_constant_schedule_keeps_the_lr() -> None:
    spec = ProbeSpec(lr=0.3, epochs=5, schedule="constant")
    assert {_lr_at(spec, epoch) for epoch in range(5)} == {0.3}


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.array([0, 1, 3]), r"must lie in \[0, 3\)"),
        (np.array([0, -1, 2]), r"must lie in \[0, 3\)"),
        (np.array([0, 1]), "3 train features for 2 labels"),
    ],
    ids=["label-too-large", "negative-label", "length-mismatch"],
)
def test_bad_train_labels_raise_spec_error(targets: np.ndarray, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        fit_probe(np.ones((3, 2)), targets, CLASSES, ProbeSpec(epochs=2))


def test_empty_train_split_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="0 train features"):
        fit_probe(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), CLASSES, ProbeSpec(epochs=2))


@pytest.mark.parametrize("normalize", ["standardize", "l2", "none"])
def test_to_arrays_from_arrays_round_trips_through_npz(normalize: str) -> None:
    x, y = blobs(12)
    probe = fit_probe(x, y, CLASSES, ProbeSpec(epochs=10, normalize=normalize))
    buffer = io.BytesIO()
    np.savez(buffer, **probe.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as archive:
        rebuilt = LinearProbe.from_arrays({name: archive[name] for name in archive.files})
    assert rebuilt.normalize == normalize
    other, _ = blobs(13)
    np.testing.assert_array_equal(rebuilt.logits(other), probe.logits(other))
