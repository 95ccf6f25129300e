"""Label-space contracts: predictions and per-image correctness against brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.datasets.labels import Labels, correctness, predict
from pytest_ssllottery.errors import SpecError


@st.composite
def scored_problems(draw: st.DrawFn) -> tuple[np.ndarray, Labels, np.ndarray | None]:
    """Random logits, labels under a random contract, and an optional readability mask."""
    num_classes = draw(st.integers(2, 8))
    n = draw(st.integers(0, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    logits = rng.normal(size=(n, num_classes))
    contract = draw(st.sampled_from(["full", "subset", "multilabel"]))
    targets = rng.integers(0, num_classes, size=n)
    if contract == "subset":
        classes = tuple(sorted(draw(st.sets(st.integers(0, num_classes - 1), min_size=1, max_size=num_classes))))
        targets = rng.choice(np.asarray(classes), size=n)
        labels = Labels("subset", num_classes, targets, classes=classes)
    elif contract == "multilabel":
        sets = tuple(
            frozenset(int(c) for c in np.flatnonzero(rng.random(num_classes) < rng.choice([0.0, 0.3, 0.6])))
            for _ in range(n)
        )
        labels = Labels("multilabel", num_classes, np.full(n, -1), label_sets=sets)
    else:
        labels = Labels("full", num_classes, targets)
    valid = None if draw(st.booleans()) else rng.random(n) < 0.8
    return logits, labels, valid


def brute_force_predictions(logits: np.ndarray, labels: Labels) -> list[int]:
    allowed = list(labels.classes) if labels.contract == "subset" else list(range(labels.num_classes))
    predictions = []
    for row in logits:
        best = allowed[0]
        for c in allowed:
            if row[c] > row[best]:
                best = c
        predictions.append(best)
    return predictions


def brute_force_correctness(predictions: list[int], labels: Labels, valid: np.ndarray | None) -> list[bool]:
    result = []
    for i, prediction in enumerate(predictions):
        if valid is not None and not valid[i]:
            continue
        if labels.contract == "multilabel":
            if not labels.label_sets[i]:
                continue
            result.append(prediction in labels.label_sets[i])
        else:
            result.append(prediction == int(labels.targets[i]))
    return result


@settings(max_examples=80, deadline=None)
@given(scored_problems())
def test_predict_matches_brute_force_argmax_under_each_contract(problem) -> None:
    logits, labels, _ = problem
    assert predict(logits, labels).tolist() == brute_force_predictions(logits, labels)


@settings(max_examples=80, deadline=None)
@given(scored_problems())
def test_correctness_matches_brute_force_loop(problem) -> None:
    logits, labels, valid = problem
    predictions = predict(logits, labels)
    found = correctness(predictions, labels, valid)
    assert found.dtype == bool
    assert found.tolist() == brute_force_correctness(predictions.tolist(), labels, valid)


def test_subset_prediction_ignores_a_larger_logit_outside_the_subset() -> None:
    labels = Labels("subset", 5, np.array([3, 1]), classes=(1, 3))
    logits = np.array([[0.0, 1.0, 0.0, 2.0, 9.0], [9.0, 3.0, 0.0, 2.0, 0.0]])
    assert predict(logits, labels).tolist() == [3, 1]
    assert correctness(predict(logits, labels), labels).tolist() == [True, True]


def test_multilabel_empty_sets_are_excluded_from_n() -> None:
    sets = (frozenset({0, 2}), frozenset(), frozenset({1}), frozenset())
    labels = Labels("multilabel", 3, np.array([0, -1, 1, -1]), label_sets=sets)
    found = correctness(np.array([2, 0, 0, 1]), labels)
    assert found.tolist() == [True, False]


def test_unreadable_images_are_excluded_like_empty_sets() -> None:
    labels = Labels("full", 3, np.array([0, 1, 2, 0]))
    valid = np.array([True, False, True, False])
    found = correctness(np.array([0, 1, 1, 0]), labels, valid)
    assert found.tolist() == [True, False]


def test_correctness_does_not_modify_the_valid_mask() -> None:
    labels = Labels("multilabel", 2, np.array([0, 1]), label_sets=(frozenset(), frozenset({1})))
    valid = np.array([True, True])
    correctness(np.array([0, 1]), labels, valid)
    assert valid.tolist() == [True, True]


def test_predict_rejects_logits_of_the_wrong_width() -> None:
    with pytest.raises(SpecError, match="do not match 4 classes"):
        predict(np.zeros((2, 3)), Labels("full", 4, np.array([0, 1])))


@pytest.mark.parametrize(
    "classes",
    [(2, 1), (1, 1, 3), (0, 4), (0, 7), ()],
    ids=["unsorted", "duplicate", "equal-to-num-classes", "above-num-classes", "empty"],
)
def test_invalid_subset_classes_raise_spec_error(classes: tuple[int, ...]) -> None:
    with pytest.raises(SpecError, match="subset"):
        Labels("subset", 4, np.array([0]), classes=classes)


def test_negative_subset_class_raises_spec_error() -> None:
    with pytest.raises(SpecError):
        Labels("subset", 4, np.array([2]), classes=(-1, 2))


def test_full_target_outside_the_classes_raises_spec_error() -> None:
    with pytest.raises(SpecError):
        Labels("full", 4, np.array([0, 4]))


def test_multilabel_without_label_sets_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="one label set per image"):
        Labels("multilabel", 3, np.array([0, 1]))


def test_multilabel_with_too_few_label_sets_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="one label set per image"):
        Labels("multilabel", 3, np.array([0, 1]), label_sets=(frozenset({0}),))


def test_unknown_contract_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="expected one of full, subset, multilabel"):
        Labels("topk", 3, np.array([0]))


def _variants() -> list[Labels]:
    sets = (frozenset({0, 1}), frozenset(), frozenset({2}))
    return [
        Labels("full", 4, np.array([0, 1, 2])),
        Labels("subset", 4, np.array([0, 1, 2]), classes=(0, 1, 2)),
        Labels("multilabel", 4, np.array([0, 1, 2]), label_sets=sets),
    ]


@pytest.mark.parametrize("labels", _variants(), ids=lambda labels: labels.contract)
def test_fingerprint_changes_when_any_target_changes(labels: Labels) -> None:
    before = labels.fingerprint()
    for i in range(len(labels)):
        targets = labels.targets.copy()
        targets[i] = (targets[i] + 1) % 3
        changed = Labels(labels.contract, labels.num_classes, targets, labels.label_sets, labels.classes)
        assert changed.fingerprint() != before


def test_fingerprint_changes_when_any_label_set_changes() -> None:
    labels = _variants()[2]
    assert labels.label_sets is not None
    before = labels.fingerprint()
    for i in range(len(labels)):
        sets = list(labels.label_sets)
        sets[i] = sets[i] ^ {3}
        changed = Labels("multilabel", 4, labels.targets, tuple(sets))
        assert changed.fingerprint() != before


def test_fingerprint_changes_with_subset_classes_contract_and_width() -> None:
    full, subset, _ = _variants()
    fingerprints = {
        full.fingerprint(),
        subset.fingerprint(),
        Labels("subset", 4, subset.targets, classes=(0, 1, 2, 3)).fingerprint(),
        Labels("full", 5, full.targets).fingerprint(),
    }
    assert len(fingerprints) == 4


def test_fingerprint_is_stable_for_equal_content() -> None:
    sets = (frozenset({1, 0}), frozenset(), frozenset({2}))
    first = Labels("multilabel", 4, np.array([0, 1, 2], dtype=np.int32), label_sets=sets)
    rebuilt = tuple(frozenset(sorted(s, reverse=True)) for s in sets)
    second = Labels("multilabel", 4, np.array([0, 1, 2], dtype=np.int64), label_sets=rebuilt)
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() == first.fingerprint()


def test_subset_keeps_contract_and_reorders_targets_and_sets() -> None:
    sets = (frozenset({0}), frozenset({1, 2}), frozenset(), frozenset({3}))
    labels = Labels("multilabel", 4, np.array([0, 1, -1, 3]), label_sets=sets)
    picked = labels.subset(np.array([3, 1]))
    assert picked.contract == "multilabel"
    assert picked.num_classes == 4
    assert picked.targets.tolist() == [3, 1]
    assert picked.label_sets == (frozenset({3}), frozenset({1, 2}))


def test_subset_of_a_subset_contract_keeps_its_classes() -> None:
    labels = Labels("subset", 6, np.array([1, 4, 4, 1]), classes=(1, 4))
    picked = labels.subset(np.array([2, 0]))
    assert picked.classes == (1, 4)
    assert picked.targets.tolist() == [4, 1]


@settings(max_examples=60, deadline=None)
@given(scored_problems(), st.data())
def test_correctness_of_a_subset_equals_the_subset_of_correctness(problem, data: st.DataObject) -> None:
    logits, labels, _ = problem
    indices = np.array(
        data.draw(st.lists(st.integers(0, max(len(labels) - 1, 0)), max_size=len(labels), unique=True))
        if len(labels)
        else [],
        dtype=np.int64,
    )
    whole = correctness(predict(logits, labels), labels, np.ones(len(labels), dtype=bool))
    scored = labels.scored_mask()
    per_image = np.full(len(labels), -1)
    per_image[scored] = whole
    part = labels.subset(indices)
    found = correctness(predict(logits[indices], part), part)
    assert found.tolist() == [bool(per_image[i]) for i in indices if scored[i]]
