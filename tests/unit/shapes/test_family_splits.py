"""The shapes family's reference-independent splits: determinism, sizes, labels, ReaL sets, styles."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pytest_ssllottery.errors import DatasetError
from pytest_ssllottery.shapes import splits as recipes
from pytest_ssllottery.shapes.classes import CLASS_NAMES, class_contours, place, shape_area
from pytest_ssllottery.shapes.family import ADVERSARIAL_CLASSES, RENDITION_CLASSES, SPLITS, ShapesSplit
from pytest_ssllottery.shapes.generate import generate
from pytest_ssllottery.shapes.photo import Hidden
from pytest_ssllottery.shapes.raster import fill_coverage
from pytest_ssllottery.shapes.styles import RENDITION_STYLES
from pytest_ssllottery.shapes.visibility import measure

BASE = ("train", "val", "real", "v2", "rendition", "sketch")
SCALE = 0.06  # train 300, val/v2/sketch 120, rendition 72 (3 per class and style)


@pytest.fixture(scope="module")
def family() -> dict[str, ShapesSplit]:
    return generate(0, BASE, None, scale=SCALE, workers=1).splits


@pytest.fixture(scope="module")
def val_records() -> tuple[recipes.PhotoRecord, ...]:
    """Enough val records to check the recipe's rates (1000 images, about a second)."""
    return recipes.render_photo_chunk(0, "val", 0, 1000).records


def test_same_seed_gives_identical_bytes_and_another_seed_differs(family: dict[str, ShapesSplit]) -> None:
    """Image i depends only on (seed, split, i): a smaller run reproduces a prefix of the fixture."""
    again = generate(0, BASE, None, scale=0.02, workers=1).splits
    other = generate(1, BASE, None, scale=0.02, workers=1).splits
    for name in BASE:
        n = len(again[name].labels)
        assert again[name].images.tobytes() == family[name].images[:n].tobytes(), name
        assert np.array_equal(again[name].labels, family[name].labels[:n]), name
        assert not np.array_equal(other[name].images, family[name].images[:n]), name
    assert again["real"].label_sets == family["real"].label_sets[: len(again["real"].labels)]  # type: ignore[index]


def test_same_seed_gives_the_same_fingerprint() -> None:
    a = generate(3, ("v2",), None, scale=0.01, workers=1).splits["v2"]
    b = generate(3, ("v2",), None, scale=0.01, workers=1).splits["v2"]
    assert a.fingerprint() == b.fingerprint()


@pytest.mark.parametrize("method", ["auto", "spawn"])
def test_worker_count_does_not_change_bytes(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """``auto`` forks when this process is single-threaded (run alone) and spawns otherwise."""
    if method == "spawn":
        monkeypatch.setattr("pytest_ssllottery.shapes.generate.start_method", lambda: "spawn")
    monkeypatch.setattr("pytest_ssllottery.shapes.generate.CHUNK", 7)  # several chunks per split and worker
    one = generate(5, ("val", "sketch"), None, scale=0.02, workers=1).splits
    two = generate(5, ("val", "sketch"), None, scale=0.02, workers=2).splits
    assert [s.fingerprint() for s in one.values()] == [s.fingerprint() for s in two.values()]


def test_split_names_and_class_lists() -> None:
    assert SPLITS == ("train", "val", "real", "v2", "rendition", "sketch", "adversarial")
    assert len(CLASS_NAMES) == 10
    assert len(set(CLASS_NAMES)) == 10
    assert len(RENDITION_CLASSES) == len(ADVERSARIAL_CLASSES) == 6
    assert RENDITION_CLASSES != ADVERSARIAL_CLASSES
    assert len(set(RENDITION_CLASSES) & set(ADVERSARIAL_CLASSES)) == 3  # as IN-R and IN-A share 86 of 200
    assert list(RENDITION_CLASSES) == sorted(RENDITION_CLASSES)


@pytest.mark.parametrize(
    ("name", "size"), [("train", 300), ("val", 120), ("real", 120), ("v2", 120), ("rendition", 72), ("sketch", 120)]
)
def test_sizes_dtypes_and_label_ranges(family: dict[str, ShapesSplit], name: str, size: int) -> None:
    split = family[name]
    assert split.name == name
    assert split.images.shape == (size, 32, 32, 3)
    assert split.images.dtype == np.uint8
    assert split.images.flags.c_contiguous
    assert split.labels.dtype == np.int64
    assert split.labels.shape == (size,)
    assert set(split.labels.tolist()) <= set(split.classes)
    assert not split.images.flags.writeable


def test_shipped_sizes_are_whole_class_blocks() -> None:
    assert recipes.split_size("train") == 5000
    assert recipes.split_size("val") == recipes.split_size("v2") == recipes.split_size("sketch") == 2000
    assert recipes.split_size("rendition") == 1200
    assert recipes.split_size("adversarial") == 600
    assert recipes.split_size("rendition", 0.01) == 24  # never below one image per class and style
    assert recipes.split_size("adversarial", 0.01) == 6


@pytest.mark.parametrize("name", ["train", "val", "real", "v2", "sketch"])
def test_full_splits_are_exactly_balanced(family: dict[str, ShapesSplit], name: str) -> None:
    """Labels are the class each image was collected for; annotation errors change the content instead."""
    per_class = len(family[name].labels) // 10
    assert Counter(family[name].labels.tolist()) == dict.fromkeys(range(10), per_class)


def test_contracts_and_scored_classes(family: dict[str, ShapesSplit]) -> None:
    expected = {
        "train": "full",
        "val": "full",
        "real": "multilabel",
        "v2": "full",
        "rendition": "subset",
        "sketch": "full",
    }
    for name, contract in expected.items():
        assert family[name].contract == contract
        assert (family[name].label_sets is not None) == (name == "real")
    assert family["rendition"].classes == RENDITION_CLASSES
    assert family["sketch"].classes == tuple(range(10))


def test_rendition_covers_its_subset_in_every_style(family: dict[str, ShapesSplit]) -> None:
    split = family["rendition"]
    assert Counter(split.labels.tolist()) == dict.fromkeys(RENDITION_CLASSES, 12)
    styles = Counter(recipes.rendition_label(i) for i in range(len(split.labels)))
    assert set(styles.values()) == {3}
    assert {s for _, s in styles} == set(RENDITION_STYLES)
    assert [recipes.rendition_label(i)[0] for i in range(len(split.labels))] == split.labels.tolist()


def test_train_and_val_are_independent_draws(family: dict[str, ShapesSplit]) -> None:
    train = {bytes(img) for img in family["train"].images}
    assert not any(bytes(img) in train for img in family["val"].images)


def test_real_has_the_val_bytes_and_the_val_labels(family: dict[str, ShapesSplit]) -> None:
    val, real = family["val"], family["real"]
    assert real.images.tobytes() == val.images.tobytes()
    assert np.array_equal(real.labels, val.labels)
    assert real.label_sets is not None
    assert all(s <= set(range(10)) for s in real.label_sets)


def test_real_sets_match_the_recipe_records(family: dict[str, ShapesSplit]) -> None:
    records = recipes.render_photo_chunk(0, "val", 0, 120).records
    real = family["real"]
    assert real.label_sets == tuple(r.label_set for r in records)
    assert real.labels.tolist() == [r.label for r in records]


def test_real_sets_contain_the_val_label_except_errors_and_empty_sets(
    val_records: tuple[recipes.PhotoRecord, ...],
) -> None:
    for r in val_records:
        if not r.label_set:
            assert r.hidden is not None
            assert r.label == r.true_class  # nothing recognisable, but collected for its class
        elif r.error:
            assert r.label not in r.label_set
            assert r.true_class in r.label_set
        else:
            assert r.label == r.true_class
            assert r.label in r.label_set
        if r.hidden is None:
            assert r.true_class in r.label_set
        if r.second is not None:
            assert r.second not in (r.true_class, r.label)
            assert r.label_set <= {r.true_class, r.second}


def test_rates_of_empty_multilabel_and_wrong_labels(val_records: tuple[recipes.PhotoRecord, ...]) -> None:
    n = len(val_records)
    empty = sum(not r.label_set for r in val_records) / n
    multi = sum(len(r.label_set) >= 2 for r in val_records) / n
    errors = sum(r.error for r in val_records) / n
    seconds_hidden = sum(r.second is not None and r.second not in r.label_set for r in val_records)
    assert 0.03 <= empty <= 0.09  # ReaL: 3,163 of 50,000 (6.3 %) empty
    assert 0.08 <= multi <= 0.22  # ReaL: 7,443 of 46,837 (16 %) with two labels or more
    assert 0.01 <= errors <= 0.05  # simulated annotation errors, 3 % by design
    assert seconds_hidden > 0  # some second objects are too small or faint to count
    assert {r.hidden for r in val_records if r.hidden} == set(Hidden)


def test_v2_repeats_the_val_recipe() -> None:
    """ImageNetV2 repeated the collection pipeline: the same kinds of images, only the style shifts."""
    records = recipes.render_photo_chunk(0, "v2", 0, 300).records
    assert any(r.hidden for r in records)
    assert any(r.error for r in records)
    assert any(len(r.label_set) == 2 for r in records)
    assert [r.label for r in records] == [i % 10 for i in range(300)]


def test_v2_is_shifted_from_val(family: dict[str, ShapesSplit]) -> None:
    """V2's palette is duller: lower mean saturation over the images."""

    def saturation(images: np.ndarray) -> float:
        x = images.astype(np.float64)
        return float(((x.max(-1) - x.min(-1)) / np.maximum(x.max(-1), 1)).mean())

    big = generate(2, ("val", "v2"), None, scale=0.1, workers=1).splits
    assert saturation(big["v2"].images) < saturation(big["val"].images) - 0.02


def test_sketch_is_dark_lines_on_white(family: dict[str, ShapesSplit]) -> None:
    images = family["sketch"].images.astype(np.int16)
    assert np.array_equal(images[..., 0], images[..., 1])
    assert np.array_equal(images[..., 0], images[..., 2])
    gray = images[..., 0]
    assert (gray >= 225).mean(axis=(1, 2)).min() >= 0.6  # mostly paper
    assert gray.min(axis=(1, 2)).max() <= 110  # every image has dark strokes
    assert (gray < 128).mean(axis=(1, 2)).max() <= 0.3  # lines, not filled shapes


def test_photo_images_are_colourful_and_vary() -> None:
    chunk = recipes.render_photo_chunk(0, "train", 0, 50)
    std = chunk.images.reshape(50, -1, 3).astype(np.float64).std(axis=1).sum(axis=1)
    assert (std > 5).mean() >= 0.9  # shapes on backgrounds, not blank frames
    assert len({bytes(im) for im in chunk.images}) == 50


def test_every_class_outline_is_distinct_and_in_the_unit_disc() -> None:
    areas = []
    for class_id in range(10):
        contours = class_contours(class_id)
        for contour in contours:
            assert np.abs(contour.points).max() <= 1.0 + 1e-9
        areas.append(shape_area(contours))
        placed = place(contours, (16.0, 16.0), 12.0, 0.3)
        assert fill_coverage(placed).sum() == pytest.approx(shape_area(placed), rel=0.05)  # PIL fills boundary pixels
    assert min(areas) > 0.5  # ring area = pi (0.95^2 - 0.55^2) ~ 1.88; arrow is the thinnest


def test_visibility_rule_on_synthetic_objects() -> None:
    contours = place(class_contours(0), (16.0, 16.0), 8.0, 0.0)
    alpha = fill_coverage(contours)
    area = shape_area(contours)
    background = np.full((32, 32, 3), 100.0, np.float32)

    def image(level: float) -> np.ndarray:
        return (background + (level - 100.0) * alpha[..., None]).astype(np.float32)

    assert measure(image(200.0), alpha, alpha, area).visible
    faint = measure(image(110.0), alpha, alpha, area)
    assert not faint.visible
    assert faint.contrast < 0.12
    occluded = alpha.copy()
    occluded[:, :20] = 0
    assert not measure(image(200.0), occluded, alpha, area).visible  # more than half covered
    assert not measure(image(200.0), alpha, alpha, area * 3).visible  # mostly outside the frame
    tiny = fill_coverage(place(class_contours(0), (16.0, 16.0), 2.0, 0.0))
    assert not measure(image(200.0), tiny, tiny, shape_area(place(class_contours(0), (0, 0), 2.0, 0.0))).visible


def test_generate_rejects_unknown_split_names() -> None:
    with pytest.raises(DatasetError, match=r"'sketchy'.*train, val, real, v2, rendition, sketch, adversarial"):
        generate(0, ("sketchy",), None, scale=0.01, workers=1)


def test_malformed_split_is_rejected() -> None:
    images = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(DatasetError, match="labels outside"):
        ShapesSplit("x", images, np.array([0, 10], np.int64), None, tuple(range(10)), "full")
    with pytest.raises(DatasetError, match="label_sets"):
        ShapesSplit("x", images, np.array([0, 1], np.int64), None, tuple(range(10)), "multilabel")
    with pytest.raises(DatasetError, match="images"):
        ShapesSplit("x", images[:, :16], np.array([0, 1], np.int64), None, tuple(range(10)), "full")


def test_fingerprint_covers_labels_sets_classes_and_contract() -> None:
    images = np.zeros((2, 32, 32, 3), np.uint8)
    base = ShapesSplit(
        "x", images.copy(), np.array([0, 1], np.int64), (frozenset({0}), frozenset()), (0, 1), "multilabel"
    )
    variants = [
        ShapesSplit("x", images.copy(), np.array([0, 2], np.int64), base.label_sets, (0, 1), "multilabel"),
        ShapesSplit("x", images.copy(), base.labels.copy(), (frozenset({0, 1}), frozenset()), (0, 1), "multilabel"),
        ShapesSplit("x", images.copy(), base.labels.copy(), base.label_sets, (0, 1, 2), "multilabel"),
        ShapesSplit("x", images.copy(), base.labels.copy(), None, (0, 1), "full"),
    ]
    pixel = images.copy()
    pixel[1, 5, 5, 2] = 1
    variants.append(ShapesSplit("x", pixel, base.labels.copy(), base.label_sets, (0, 1), "multilabel"))
    prints = {v.fingerprint() for v in variants}
    assert len(prints) == len(variants)
    assert base.fingerprint() not in prints
