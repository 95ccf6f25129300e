"""The imagenet-variants data path, side by side in one run, and an estimate of the whole suite's wall time.

    pytest benchmarks/bench_imagenet_scale.py --benchmark-only --benchmark-json=imagenet_scale.json

A folder of ImageNet-like JPEGs (500 x 375, smooth content, quality 90) is fabricated once. Then, in one
session, in file order:

1. the decode path alone (PIL, resize, crop, uint8 batches on the device; a pooling "model" that costs nothing);
2. the bare backbone forward on pre-made batches (``throughput_target``, as extraction runs it);
3. extraction of one method (decode + forward + copy-out);
4. K methods in one shared pass against K separate passes (the separate passes are timed in each round's
   setup);
5. the SGD probe on the device against scikit-learn's lbfgs on one synthetic (N x 2048) problem, with both
   val accuracies;
6. the estimate: the measured per-image and per-probe costs scaled to imagenet-variants (12 methods sharing
   one decode and DINO alone, over 1,429,556 images; 13 probes over 1,281,167 train rows for 100 epochs).

On CUDA it runs at ImageNet's sizes (ResNet-50, 224 px, 4,096 files, 16 loader workers); elsewhere at sizes a
laptop CPU finishes in a few minutes (ResNet-18 at 112 px, 192 files, decoding in the main process), and its
estimate then describes that CPU. Every figure lands in ``extra_info``.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fabricated_jpegs import imagenet_like_jpegs

from pytest_ssllottery.checkpoints.archs import get_architecture, strip_classifier
from pytest_ssllottery.compute.features import ExtractionSettings, extract_features, extract_group
from pytest_ssllottery.compute.probe import fit_probe
from pytest_ssllottery.compute.throughput import throughput_target
from pytest_ssllottery.datasets.sources import FileSource
from pytest_ssllottery.suite.spec import Preprocessing, ProbeSpec

CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"

# imagenet-variants: train 1,281,167 + val 50,000 + V2 10,000 + R 30,000 + Sketch 50,889 + A 7,500
SUITE_IMAGES = 1_429_556
SUITE_TRAIN = 1_281_167
SUITE_METHODS = 13
GROUPS = (12, 1)  # methods per shared decode: bilinear, and DINO's bicubic alone
OFFICIAL_EPOCHS = 100


@dataclass(frozen=True)
class Scale:
    """Sizes of one run."""

    arch: str
    resize: int
    crop: int
    batch: int
    files: int
    workers: int
    methods: int
    probe_rows: int
    probe_classes: int
    probe_epochs: int


FULL = Scale("resnet50", 256, 224, 256, 4096, min(16, os.cpu_count() or 1), 4, 20_000, 1000, 20)
SMALL = Scale("resnet18", 128, 112, 32, 192, 0, 4, 10_000, 100, 10)
SCALE = FULL if CUDA else SMALL
PRE = Preprocessing(resize=SCALE.resize, crop=SCALE.crop)
MEASURED: dict[str, float] = {}  # seconds per image / per probe epoch-row, filled in file order


def _settings() -> ExtractionSettings:
    return ExtractionSettings(DEVICE, SCALE.batch, SCALE.workers)


def _backbone(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return strip_classifier(get_architecture(SCALE.arch).build()).eval()


def _sync() -> None:
    if CUDA:
        torch.cuda.synchronize()


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> FileSource:
    """ImageNet-like JPEG files (500 x 375, smooth content, quality 90)."""
    return imagenet_like_jpegs(Path(tmp_path_factory.mktemp("imagenet_like")), SCALE.files, blur=8)


def test_decode_path_alone(benchmark: Any, jpegs: FileSource) -> None:
    pooled = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    benchmark.pedantic(lambda: (extract_features(pooled, jpegs, PRE, _settings()), _sync()), rounds=3, warmup_rounds=1)
    MEASURED["decode"] = benchmark.stats.stats.median / len(jpegs)
    benchmark.extra_info.update(images=len(jpegs), images_per_s=round(1 / MEASURED["decode"], 1), workers=SCALE.workers)


def test_bare_forward(benchmark: Any) -> None:
    target = throughput_target(_backbone(0), (3, SCALE.crop, SCALE.crop), PRE, _settings())
    benchmark.pedantic(target.run, rounds=5, warmup_rounds=1)
    MEASURED["forward"] = benchmark.stats.stats.median / SCALE.batch
    benchmark.extra_info.update(arch=SCALE.arch, batch=SCALE.batch, images_per_s=round(1 / MEASURED["forward"], 1))


def test_extraction_of_one_method(benchmark: Any, jpegs: FileSource) -> None:
    model = _backbone(1)
    benchmark.pedantic(lambda: (extract_features(model, jpegs, PRE, _settings()), _sync()), rounds=3, warmup_rounds=1)
    MEASURED["extraction"] = benchmark.stats.stats.median / len(jpegs)
    benchmark.extra_info.update(
        images_per_s=round(1 / MEASURED["extraction"], 1),
        ratio_vs_bare_forward=round(MEASURED["forward"] / MEASURED["extraction"], 3),
    )


def test_k_methods_in_one_pass_against_k_passes(benchmark: Any, jpegs: FileSource) -> None:
    swav = Preprocessing(resize=SCALE.resize, crop=SCALE.crop, std=(0.228, 0.224, 0.225))
    models = [(_backbone(10 + k), swav if k % 2 else PRE) for k in range(SCALE.methods)]
    separate: list[float] = []

    def k_passes() -> None:
        start = time.perf_counter()
        for model, pre in models:
            extract_features(model, jpegs, pre, _settings())
        _sync()
        separate.append(time.perf_counter() - start)

    benchmark.pedantic(
        lambda: (extract_group(models, jpegs, _settings()), _sync()), setup=k_passes, rounds=3, warmup_rounds=0
    )
    shared = benchmark.stats.stats.median
    one_pass_plus_forwards = len(jpegs) * (MEASURED["extraction"] + (SCALE.methods - 1) * MEASURED["forward"])
    MEASURED["shared_per_method"] = shared / len(jpegs) / SCALE.methods
    benchmark.extra_info.update(
        methods=SCALE.methods,
        separate_median_s=round(statistics.median(separate), 3),
        ratio_shared_vs_separate=round(shared / statistics.median(separate), 3),
        ratio_shared_vs_one_pass_plus_extra_forwards=round(shared / one_pass_plus_forwards, 3),
    )


def _probe_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    classes, dim = SCALE.probe_classes, 2048
    basis = rng.standard_normal((64, dim)).astype(np.float32) / 8.0
    means = rng.standard_normal((classes, 64)).astype(np.float32)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, classes, size=rows)
        latent = means[labels] + 1.5 * rng.standard_normal((rows, 64)).astype(np.float32)
        features = np.maximum(latent @ basis + 0.5 * rng.standard_normal((rows, dim)).astype(np.float32), 0)
        return features.astype(np.float16), labels

    (x_train, y_train), (x_val, y_val) = draw(SCALE.probe_rows), draw(SCALE.probe_rows // 10)
    return x_train, y_train, x_val, y_val


def test_device_probe_against_scikit_learn(benchmark: Any) -> None:
    sklearn_linear = pytest.importorskip("sklearn.linear_model", reason="pip install 'pytest-ssllottery[bench]'")
    x_train, y_train, x_val, y_val = _probe_problem()
    spec = ProbeSpec(
        optimizer="sgd", epochs=SCALE.probe_epochs, lr=0.1, batch_size=1024, normalize="standardize", weight_decay=0
    )
    probe = benchmark.pedantic(
        lambda: fit_probe(x_train, y_train, SCALE.probe_classes, spec, device=DEVICE), rounds=2, warmup_rounds=0
    )
    ours_accuracy = float((probe.logits(x_val).argmax(axis=1) == y_val).mean() * 100)
    mean, std = x_train.astype(np.float32).mean(axis=0), x_train.astype(np.float32).std(axis=0) + 1e-6
    model = sklearn_linear.LogisticRegression(C=1.0 / (len(y_train) * 1e-4), max_iter=300, tol=1e-4)
    start = time.perf_counter()
    model.fit((x_train.astype(np.float32) - mean) / std, y_train)
    theirs = time.perf_counter() - start
    theirs_accuracy = float((model.predict((x_val.astype(np.float32) - mean) / std) == y_val).mean() * 100)
    MEASURED["probe_epoch_row"] = benchmark.stats.stats.median / SCALE.probe_epochs / SCALE.probe_rows
    benchmark.extra_info.update(
        rows=SCALE.probe_rows,
        classes=SCALE.probe_classes,
        epochs=SCALE.probe_epochs,
        scikit_learn_s=round(theirs, 2),
        scikit_learn_iterations=int(model.n_iter_[0]),
        ratio_ours_vs_scikit_learn=round(benchmark.stats.stats.median / theirs, 4),
        val_accuracy_ours=round(ours_accuracy, 2),
        val_accuracy_scikit_learn=round(theirs_accuracy, 2),
    )


def test_estimate_of_the_whole_suite(benchmark: Any) -> None:
    """Not a timing: the figures above scaled to imagenet-variants (``extra_info``; hours on this machine)."""
    missing = {"decode", "forward", "extraction", "shared_per_method", "probe_epoch_row"} - set(MEASURED)
    if missing:
        pytest.skip(f"run the whole file: {sorted(missing)} not measured in this session")
    benchmark.pedantic(lambda: None, rounds=1)
    decode_hours = len(GROUPS) * SUITE_IMAGES * MEASURED["decode"] / 3600
    forward_hours = SUITE_METHODS * SUITE_IMAGES * MEASURED["forward"] / 3600
    shared, alone = GROUPS
    shared_hours = SUITE_IMAGES * (shared * MEASURED["shared_per_method"] + alone * MEASURED["extraction"]) / 3600
    probe_hours = SUITE_METHODS * OFFICIAL_EPOCHS * SUITE_TRAIN * MEASURED["probe_epoch_row"] / 3600
    scale_note = "" if CUDA else f" (at {SCALE.crop} px with {SCALE.arch}, not ImageNet's 224 px ResNet-50)"
    benchmark.extra_info.update(
        device=DEVICE + scale_note,
        decode_hours=round(decode_hours, 2),
        forward_hours=round(forward_hours, 2),
        extraction_hours_measured_sharing=round(shared_hours, 2),
        probe_hours_100_epochs=round(probe_hours, 2),
        suite_hours=round(shared_hours + probe_hours, 2),
    )
