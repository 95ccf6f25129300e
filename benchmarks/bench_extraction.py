"""Feature extraction against the bare forward pass, on the shapes val split (2,000 images, 32 px).

    pytest benchmarks/bench_extraction.py --benchmark-only

Timed: ``extract_features`` (batching, preprocessing, forward, copy to numpy). In each round's setup the bare
forward pass over the same preprocessed batches is timed too, so both alternate; ``extra_info`` keeps the
ratio of medians (the extraction's overhead over the model itself).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.features import ExtractionSettings, extract_features
from pytest_ssllottery.compute.preprocessing import arrays_to_tensor
from pytest_ssllottery.datasets.sources import ArraySource

METHOD = "supervised"
BATCH = 256
ROUNDS = 7


def test_extraction_against_bare_forward(benchmark: Any, shapes_engine: Engine) -> None:
    method = shapes_engine.suite.method(METHOD)
    source = shapes_engine.dataset("val").images
    assert isinstance(source, ArraySource)
    model = shapes_engine.backbone(method).model.eval()
    pre = method.preprocessing
    batches = [arrays_to_tensor(source.images[i : i + BATCH], pre) for i in range(0, len(source), BATCH)]
    bare: list[float] = []

    def time_bare_forward() -> None:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                model(batch)
        bare.append(time.perf_counter() - start)

    settings = ExtractionSettings("cpu", BATCH, 0)
    found = benchmark.pedantic(
        extract_features, args=(model, source, pre, settings), setup=time_bare_forward, rounds=ROUNDS, iterations=1
    )
    assert found.features.shape[0] == len(source)
    bare_median = statistics.median(bare)
    benchmark.extra_info.update(
        images=len(source),
        bare_forward_median_s=round(bare_median, 4),
        ratio_extraction_vs_bare=round(benchmark.stats.stats.median / bare_median, 3),
        threads=torch.get_num_threads(),
    )
