"""The linear probe (L-BFGS, the shapes protocol) against scikit-learn's LogisticRegression on the same features.

    pytest benchmarks/bench_probe.py --benchmark-only

Both minimise mean cross-entropy + (weight_decay / 2) ||W||^2 on standardised train features of the
shapes ``supervised`` member (5,000 x 64); scikit-learn's ``C`` is ``1 / (n * weight_decay)``. Timed: our
``fit_probe``; in each round's setup scikit-learn's fit is timed too. ``extra_info`` keeps the ratio of medians
and both probes' val accuracy (they should agree to a fraction of a point).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import pytest

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.probe import fit_probe

sklearn_linear = pytest.importorskip("sklearn.linear_model", reason="pip install 'pytest-ssllottery[bench]'")

METHOD = "supervised"
ROUNDS = 5


def test_probe_against_scikit_learn(benchmark: Any, shapes_engine: Engine) -> None:
    suite = shapes_engine.suite
    method = suite.method(METHOD)
    train = shapes_engine.dataset(suite.train)
    val = shapes_engine.dataset("val")
    x_train = shapes_engine.features(method, train)[0].features
    x_val = shapes_engine.features(method, val)[0].features
    y_train, y_val = train.labels.targets, val.labels.targets
    spec = method.probe
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    theirs: list[float] = []
    fitted: list[Any] = []

    def time_scikit_learn() -> None:
        model = sklearn_linear.LogisticRegression(
            C=1.0 / (len(y_train) * spec.weight_decay), max_iter=spec.epochs, tol=1e-9
        )
        start = time.perf_counter()
        model.fit((x_train - mean) / std, y_train)
        theirs.append(time.perf_counter() - start)
        fitted.append(model)

    ours = benchmark.pedantic(
        fit_probe,
        args=(x_train, y_train, suite.num_classes, spec),
        setup=time_scikit_learn,
        rounds=ROUNDS,
        iterations=1,
    )
    ours_accuracy = float((ours.logits(x_val).argmax(axis=1) == y_val).mean() * 100)
    theirs_accuracy = float((fitted[-1].predict((x_val - mean) / std) == y_val).mean() * 100)
    median = statistics.median(theirs)
    benchmark.extra_info.update(
        train_shape=list(x_train.shape),
        lbfgs_iterations=spec.epochs,
        scikit_learn_median_s=round(median, 4),
        ratio_ours_vs_scikit_learn=round(benchmark.stats.stats.median / median, 3),
        val_accuracy_ours=round(ours_accuracy, 2),
        val_accuracy_scikit_learn=round(theirs_accuracy, 2),
    )
    assert abs(ours_accuracy - theirs_accuracy) < 2.0
    assert np.isfinite(ours.weight).all()
