"""``probe.train_per_class``: N train images per class, stratified and seeded, on the ImageNet train loader."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fabricate_imagenet import wnid_folders

from pytest_ssllottery.compute.engine import Engine, stratified_subset
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import resolve_suite
from pytest_ssllottery.suite.settings import RunSettings


@pytest.fixture
def engine_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    wnid_folders(tmp_path / "imagenet" / "train", [0, 2], 5)
    wnid_folders(tmp_path / "imagenet" / "train", [1], 2)
    suite = load_suite(resolve_suite("imagenet-variants"))
    relaxed = replace(suite.dataset("train"), options={"expected_count": 12, "require_all_classes": False})
    suite = replace(suite, datasets=tuple(relaxed if d.name == "train" else d for d in suite.datasets))

    def make(per_class: int, seed: int) -> tuple[Engine, object]:
        method = suite.method("moco_v2")
        method = replace(method, probe=replace(method.probe, train_per_class=per_class, seed=seed))
        engine = Engine(replace(suite, methods=(method,)), RunSettings(data_root=tmp_path, cache_dir=tmp_path / "c"))
        return engine, method

    return make


def test_stratified_seeded_subset(engine_for) -> None:  # type: ignore[no-untyped-def]
    engine, method = engine_for(3, 0)
    full = engine.dataset("train")
    subset = engine.train_dataset(method)
    assert Counter(subset.labels.targets.tolist()) == {0: 3, 1: 2, 2: 3}  # class 1 has only 2 images
    assert set(subset.images.files) <= set(full.images.files)
    order = [full.images.files.index(f) for f in subset.images.files]
    assert order == sorted(order)  # dataset order is kept
    again = engine_for(3, 0)[0].train_dataset(method)
    assert again.images.files == subset.images.files
    other = engine_for(3, 1)
    assert other[0].train_dataset(other[1]).images.files != subset.images.files


def test_zero_means_the_whole_split(engine_for) -> None:  # type: ignore[no-untyped-def]
    engine, method = engine_for(0, 0)
    assert len(engine.train_dataset(method)) == 12


def test_stratified_subset_function() -> None:
    targets = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    chosen = stratified_subset(targets, 2, seed=5)
    assert Counter(targets[chosen].tolist()) == {0: 2, 1: 2, 2: 2}
    assert np.all(np.diff(chosen) > 0)
    assert np.array_equal(chosen, stratified_subset(targets, 2, seed=5))
