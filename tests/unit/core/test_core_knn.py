"""The weighted k-NN protocol against a brute-force numpy reference, and its label-space contracts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.compute.knn import KnnClassifier


def reference_votes(
    train: np.ndarray, targets: np.ndarray, queries: np.ndarray, classes: int, k: int, temperature: float
) -> np.ndarray:
    """DINO's weighted k-NN written out: cosine similarity to every train image, top k, exp(sim / T) votes."""
    a, q = train.astype(np.float64), queries.astype(np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    similarity = q @ a.T
    votes = np.zeros((len(queries), classes))
    for row in range(len(queries)):
        nearest = np.argsort(-similarity[row], kind="stable")[: min(k, len(train))]
        for index in nearest:
            votes[row, targets[index]] += np.exp(similarity[row, index] / temperature)
    return votes


def _data(seed: int, n: int = 90, q: int = 37, d: int = 8, classes: int = 5) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, d)) * 2
    train = (centres[targets] + rng.normal(size=(n, d))).astype(np.float32)
    query_targets = rng.integers(0, classes, size=q)
    queries = (centres[query_targets] + rng.normal(size=(q, d))).astype(np.float32)
    return train, targets, queries


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 30),
    train_chunk=st.integers(1, 100),
    query_chunk=st.integers(1, 50),
)
def test_chunked_votes_equal_the_brute_force_reference(seed: int, k: int, train_chunk: int, query_chunk: int) -> None:
    train, targets, queries = _data(seed)
    knn = KnnClassifier(train, targets, 5, k=k, temperature=0.07, train_chunk=train_chunk, query_chunk=query_chunk)
    ours = knn.logits(queries)
    expected = reference_votes(train, targets, queries, 5, k, 0.07)
    np.testing.assert_allclose(ours, expected, rtol=1e-4)
    np.testing.assert_array_equal(ours.argmax(axis=1), expected.argmax(axis=1))


def test_subset_datasets_draw_neighbours_from_their_classes_only() -> None:
    train, targets, queries = _data(1)
    knn = KnnClassifier(train, targets, 5, k=10, train_chunk=16)
    allowed = (1, 3)
    rows = np.isin(targets, allowed)
    ours = knn.logits(queries, classes=allowed)
    expected = reference_votes(train[rows], targets[rows], queries, 5, 10, 0.07)
    np.testing.assert_allclose(ours, expected, rtol=1e-4)
    assert np.all(ours[:, [0, 2, 4]] == 0)


def test_float16_memory_mapped_train_features(tmp_path: Path) -> None:
    train, targets, queries = _data(2)
    np.save(tmp_path / "train.npy", train.astype(np.float16))
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    ours = KnnClassifier(mapped, targets, 5, k=20).logits(queries)
    expected = reference_votes(train.astype(np.float16), targets, queries, 5, 20, 0.07)
    np.testing.assert_allclose(ours, expected, rtol=1e-4)


def test_no_train_image_of_the_classes_is_an_error() -> None:
    train, targets, queries = _data(3)
    with pytest.raises(ValueError, match="no train image"):
        KnnClassifier(train, targets, 7, k=5).logits(queries, classes=(6,))
