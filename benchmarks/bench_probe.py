"""The L-BFGS probe against scikit-learn's LogisticRegression (lbfgs) on the same objective and tolerance.

    pytest benchmarks/bench_probe.py --benchmark-only

Both minimise mean cross-entropy + (weight_decay / 2) ||W||^2 on standardised train features (scikit-learn's
``C`` is ``1 / (n * weight_decay)``) and stop when no gradient entry exceeds the probe's ``tolerance``
(scikit-learn's ``tol``), or after ``epochs`` iterations. Two problems: the shapes ``supervised`` member's
5,000 x 64 train features, and a synthetic 2048-d, 200-class problem (10,000 train rows, ReLU features of a
noisy 64-d class mixture, the width of a ResNet-50). Timed: our ``fit_probe``; in each round's setup
scikit-learn's fit is timed too. ``extra_info`` keeps the ratio of medians, both val accuracies and
scikit-learn's iterations.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import pytest

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.probe import fit_probe
from pytest_ssllottery.suite.spec import ProbeSpec

sklearn_linear = pytest.importorskip("sklearn.linear_model", reason="pip install 'pytest-ssllottery[bench]'")

ROUNDS = 5
Problem = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, ProbeSpec]


def _wide_problem(classes: int = 200, dim: int = 2048, train_per_class: int = 50, val_per_class: int = 25) -> Problem:
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((64, dim)).astype(np.float32) / 8.0
    means = rng.standard_normal((classes, 64)).astype(np.float32)

    def draw(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(classes), per_class)
        latent = means[labels] + 1.5 * rng.standard_normal((labels.size, 64)).astype(np.float32)
        noise = 0.5 * rng.standard_normal((labels.size, dim)).astype(np.float32)
        return np.maximum(latent @ basis + noise, 0.0), labels

    (x_train, y_train), (x_val, y_val) = draw(train_per_class), draw(val_per_class)
    return x_train, y_train, x_val, y_val, classes, ProbeSpec(optimizer="lbfgs", epochs=300, weight_decay=1e-3)


def _shapes_problem(engine: Engine) -> Problem:
    suite = engine.suite
    method = suite.method("supervised")
    train, val = engine.dataset(suite.train), engine.dataset("val")
    return (
        engine.features(method, train)[0].features,
        train.labels.targets,
        engine.features(method, val)[0].features,
        val.labels.targets,
        suite.num_classes,
        method.probe,
    )


@pytest.fixture(params=["shapes-supervised", "wide-2048x200"])
def problem(request: pytest.FixtureRequest, shapes_engine: Engine) -> Problem:
    return _shapes_problem(shapes_engine) if request.param.startswith("shapes") else _wide_problem()


def test_probe_against_scikit_learn(benchmark: Any, problem: Problem) -> None:
    x_train, y_train, x_val, y_val, classes, spec = problem
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    theirs: list[float] = []
    fitted: list[Any] = []

    def time_scikit_learn() -> None:
        model = sklearn_linear.LogisticRegression(
            C=1.0 / (len(y_train) * spec.weight_decay), max_iter=spec.epochs, tol=spec.tolerance
        )
        start = time.perf_counter()
        model.fit((x_train - mean) / std, y_train)
        theirs.append(time.perf_counter() - start)
        fitted.append(model)

    ours = benchmark.pedantic(
        fit_probe, args=(x_train, y_train, classes, spec), setup=time_scikit_learn, rounds=ROUNDS, iterations=1
    )
    ours_accuracy = float((ours.logits(x_val).argmax(axis=1) == y_val).mean() * 100)
    theirs_accuracy = float((fitted[-1].predict((x_val - mean) / std) == y_val).mean() * 100)
    median = statistics.median(theirs)
    benchmark.extra_info.update(
        train_shape=list(x_train.shape),
        classes=classes,
        tolerance=spec.tolerance,
        max_iterations=spec.epochs,
        scikit_learn_iterations=int(fitted[-1].n_iter_[0]),
        scikit_learn_median_s=round(median, 4),
        ratio_ours_vs_scikit_learn=round(benchmark.stats.stats.median / median, 3),
        val_accuracy_ours=round(ours_accuracy, 2),
        val_accuracy_scikit_learn=round(theirs_accuracy, 2),
    )
    assert abs(ours_accuracy - theirs_accuracy) <= 0.5
    assert np.isfinite(ours.weight).all()
