"""The full-scale data path at ImageNet sizes: what docs/imagenet.md still gives as estimates.

    pytest benchmarks/bench_full_scale.py --benchmark-only            # on a CUDA machine: ImageNet sizes
    pytest benchmarks/bench_full_scale.py --benchmark-only -k cpu     # anywhere: the same code at toy sizes

On CUDA: a ResNet-50's forward pass at 224 px (bf16, channels_last, batch 256); one decode of real JPEG files
feeding three ResNet-50s against three separate decodes (the ratio is in ``extra_info``), with PIL in loader
workers and with ``--ssl-decode=gpu`` (nvjpeg on the device; ``extra_info`` keeps the largest feature
difference from the PIL path); and epochs of the
SGD probe over 1.28 M x 2048 float16 features resident on the device (``extra_info`` extrapolates to the
official 100 epochs). Without CUDA the same benchmarks run at toy sizes on the CPU, as a check that they work;
their numbers say nothing about a GPU.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Scale:
    """Sizes of one run: ImageNet's on CUDA, toy ones on the CPU."""

    arch: str
    crop: int
    resize: int
    batch: int
    files: int
    workers: int
    train_rows: int
    feature_dim: int
    classes: int
    probe_epochs: int


FULL = Scale("resnet50", 224, 256, 256, 2048, 16, 1_281_167, 2048, 1000, 2)
TOY = Scale("resnet18", 32, 36, 16, 48, 0, 4_000, 64, 10, 2)
SCALE = FULL if CUDA else TOY
DEVICE = "cuda" if CUDA else "cpu"
mark = pytest.mark.parametrize("device", [DEVICE], ids=["cuda" if CUDA else "cpu"])


def _backbone(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return strip_classifier(get_architecture(SCALE.arch).build()).eval()


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> FileSource:
    """ImageNet-like JPEG files (500 x 375, smooth content, quality 90)."""
    return imagenet_like_jpegs(Path(tmp_path_factory.mktemp("jpegs")), SCALE.files, blur=5)


@mark
def test_forward_throughput(benchmark: Any, device: str) -> None:
    pre = Preprocessing(resize=SCALE.resize, crop=SCALE.crop)
    settings = ExtractionSettings(device, SCALE.batch, 0)
    target = throughput_target(_backbone(0), (3, SCALE.crop, SCALE.crop), pre, settings)
    benchmark.pedantic(target.run, rounds=10, warmup_rounds=2, iterations=1)
    benchmark.extra_info.update(
        images_per_s=round(SCALE.batch / benchmark.stats.stats.median, 1),
        arch=SCALE.arch,
        batch=SCALE.batch,
        dtype=settings.dtype,
    )


@mark
@pytest.mark.parametrize("decode", ["pil", "gpu"])
def test_one_decode_for_three_backbones_against_three_decodes(
    benchmark: Any, device: str, decode: str, jpegs: Any
) -> None:
    pre = Preprocessing(resize=SCALE.resize, crop=SCALE.crop)
    swav = Preprocessing(resize=SCALE.resize, crop=SCALE.crop, std=(0.228, 0.224, 0.225))
    models = [(_backbone(seed), p) for seed, p in zip((1, 2, 3), (pre, swav, pre), strict=True)]
    settings = ExtractionSettings(device, SCALE.batch, SCALE.workers, decode=decode)
    separate: list[float] = []

    def three_decodes() -> None:
        start = time.perf_counter()
        for model, p in models:
            extract_features(model, jpegs, p, settings, storage="float16")
        separate.append(time.perf_counter() - start)

    grouped = benchmark.pedantic(
        extract_group, args=(models, jpegs, settings), kwargs={"storage": "float16"}, setup=three_decodes, rounds=3
    )
    if device == "cpu":  # on the CPU one decode gives exactly the separate decodes' features
        alone = extract_features(models[1][0], jpegs, swav, settings, storage="float16")
        assert np.array_equal(grouped[1].features, alone.features)
    if decode == "gpu":
        pil = extract_features(models[0][0], jpegs, pre, ExtractionSettings(device, SCALE.batch, SCALE.workers))
        difference = np.abs(grouped[0].features.astype(np.float32) - pil.features.astype(np.float32))
        benchmark.extra_info["max_feature_difference_vs_pil"] = round(float(difference.max()), 4)
    benchmark.extra_info.update(
        images=len(jpegs),
        workers=SCALE.workers,
        three_decodes_median_s=round(statistics.median(separate), 3),
        ratio_one_decode_vs_three=round(benchmark.stats.stats.median / statistics.median(separate), 3),
        images_per_s_per_backbone=round(len(jpegs) / benchmark.stats.stats.median, 1),
    )


@mark
def test_sgd_probe_epochs_on_resident_float16_features(benchmark: Any, device: str) -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, SCALE.classes, size=SCALE.train_rows)
    features = rng.standard_normal((SCALE.train_rows, SCALE.feature_dim), dtype=np.float32).astype(np.float16)
    spec = ProbeSpec(optimizer="sgd", epochs=SCALE.probe_epochs, lr=0.1, batch_size=256, normalize="none")

    def fit() -> None:
        fit_probe(features, targets, SCALE.classes, spec, device=device)
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.pedantic(fit, rounds=2, warmup_rounds=0, iterations=1)
    per_epoch = benchmark.stats.stats.median / SCALE.probe_epochs
    benchmark.extra_info.update(
        rows=SCALE.train_rows,
        dim=SCALE.feature_dim,
        epochs=SCALE.probe_epochs,
        seconds_per_epoch=round(per_epoch, 3),
        seconds_for_100_epochs=round(100 * per_epoch, 1),
    )
