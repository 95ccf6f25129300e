"""The stratified train subset (``probe.train_per_class``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.compute.engine import stratified_subset


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=80), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_subset_takes_min_of_per_class_and_class_size_from_each_class(
    labels: list[int], per_class: int, seed: int
) -> None:
    targets = np.asarray(labels, dtype=np.int64)
    chosen = stratified_subset(targets, per_class, seed)
    sizes = Counter(labels)
    picked = Counter(targets[chosen].tolist())
    assert picked == {label: min(per_class, size) for label, size in sizes.items()}
    assert len(set(chosen.tolist())) == len(chosen)
    assert chosen.tolist() == sorted(chosen.tolist())
    assert np.issubdtype(chosen.dtype, np.integer)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_subset_is_deterministic_for_a_seed(labels: list[int], per_class: int, seed: int) -> None:
    targets = np.asarray(labels)
    assert stratified_subset(targets, per_class, seed).tolist() == stratified_subset(targets, per_class, seed).tolist()


def test_subset_depends_on_the_seed() -> None:
    targets = np.repeat(np.arange(3), 50)
    draws = {tuple(stratified_subset(targets, 5, seed).tolist()) for seed in range(5)}
    assert len(draws) == 5


def test_classes_with_fewer_members_are_taken_whole() -> None:
    targets = np.array([0, 1, 1, 2, 2, 2, 2, 2, 2])
    chosen = stratified_subset(targets, 3, seed=0)
    assert {0, 1, 2} <= set(chosen.tolist())
    assert Counter(targets[chosen].tolist()) == {0: 1, 1: 2, 2: 3}


def test_empty_targets_give_an_empty_index_array() -> None:
    chosen = stratified_subset(np.zeros(0, dtype=np.int64), 5, seed=0)
    assert chosen.shape == (0,)
    assert np.issubdtype(chosen.dtype, np.integer)
