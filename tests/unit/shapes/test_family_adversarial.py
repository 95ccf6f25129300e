"""The adversarial split: filtering against a reference classifier, its cache, the shipped reference."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.errors import DatasetError
from pytest_ssllottery.shapes import adversarial as adv
from pytest_ssllottery.shapes import family as fam
from pytest_ssllottery.shapes.generate import generate
from pytest_ssllottery.shapes.splits import ADVERSARIAL_CLASSES, render_photo_chunk

SCALE = 0.1  # target 60: 10 per class


def _polar_spectrum(images: np.ndarray) -> np.ndarray:
    """Rotation-invariant silhouette features.

    Foreground = distance from the border's median colour; sample it on 10 circles around its centroid
    (radii scaled by its size) at 32 angles; keep the magnitudes of the first 7 angular harmonics.
    """
    x = images.astype(np.float64)
    n = len(x)
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    fg = np.abs(x - np.median(border, axis=1)[:, None, None, :]).sum(-1)
    fg = np.clip(fg / (fg.max(axis=(1, 2), keepdims=True) + 1e-9) * 2 - 0.5, 0, 1)
    ys, xs = np.mgrid[0:32, 0:32] + 0.5
    mass = fg.sum(axis=(1, 2)) + 1e-9
    cy, cx = (fg * ys).sum(axis=(1, 2)) / mass, (fg * xs).sum(axis=(1, 2)) / mass
    rings = np.sqrt(mass / np.pi)[:, None, None] * np.linspace(0.15, 1.6, 10)[None, :, None]
    angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)[None, None, :]
    iy = np.clip(np.floor(cy[:, None, None] + rings * np.sin(angles)).astype(int), 0, 31)
    ix = np.clip(np.floor(cx[:, None, None] + rings * np.cos(angles)).astype(int), 0, 31)
    polar = fg[np.arange(n)[:, None, None], iy, ix]
    return (np.abs(np.fft.rfft(polar, axis=2))[:, :, :7] / 32).reshape(n, -1)


class TemplateReference:
    """A small deterministic classifier fitted in the test: nearest class mean of standardised features."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        features = _polar_spectrum(images)
        self.mean, self.std = features.mean(axis=0), features.std(axis=0) + 1e-6
        z = (features - self.mean) / self.std
        self.templates = np.stack([z[labels == c].mean(axis=0) for c in range(10)])
        self.calls = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        z = (_polar_spectrum(images) - self.mean) / self.std
        return -0.05 * ((z[:, None, :] - self.templates[None]) ** 2).sum(axis=-1)


@pytest.fixture(scope="module")
def reference() -> TemplateReference:
    chunk = render_photo_chunk(11, "train", 0, 400)
    return TemplateReference(chunk.images, np.asarray([r.true_class for r in chunk.records]))


@pytest.fixture(scope="module")
def filtered(reference: TemplateReference) -> tuple[fam.ShapesSplit, adv.FilterStats]:
    generated = generate(0, ["adversarial"], reference, scale=SCALE, workers=1)
    assert generated.filter_stats is not None
    return generated.splits["adversarial"], generated.filter_stats


def test_reference_is_a_real_classifier(reference: TemplateReference) -> None:
    """The filter is only meaningful if the reference is right on clean photos well above chance."""
    chunk = render_photo_chunk(12, "val", 0, 200)
    truth = np.asarray([r.true_class for r in chunk.records])
    accuracy = (reference(chunk.images).argmax(axis=1) == truth).mean()
    assert accuracy > 0.6


def test_every_kept_image_fools_the_reference_by_the_margin(
    filtered: tuple[fam.ShapesSplit, adv.FilterStats], reference: TemplateReference
) -> None:
    split, _ = filtered
    logits = reference(split.images)[:, list(ADVERSARIAL_CLASSES)]
    position = np.searchsorted(ADVERSARIAL_CLASSES, split.labels)
    rows = np.arange(len(split.labels))
    true = logits[rows, position]
    logits[rows, position] = -np.inf
    assert (logits.max(axis=1) - true >= adv.MARGIN).all()


def serial(seed: int, step: int = adv.CHUNK) -> adv.Renderer:
    """Render chunk specs in-process, re-chunked into pieces of ``step`` candidates."""

    def render(specs: list[adv.ChunkSpec]) -> Iterator[adv.CandidateChunk]:
        for class_id, start, stop in specs:
            for a in range(start, stop, step):
                yield adv.render_candidate_chunk(seed, class_id, a, min(a + step, stop))

    return render


def test_adversarial_split_shape_classes_and_quota(filtered: tuple[fam.ShapesSplit, adv.FilterStats]) -> None:
    split, stats = filtered
    assert split.contract == "subset"
    assert split.classes == ADVERSARIAL_CLASSES
    assert stats.quota == 10
    counts = Counter(split.labels.tolist())
    assert set(counts) <= set(ADVERSARIAL_CLASSES)
    assert split.images.shape == (stats.kept, 32, 32, 3)
    for class_id, per in stats.per_class.items():
        assert counts.get(class_id, 0) == per.kept <= 10
        assert per.kept <= per.fooled <= per.valid <= per.candidates
        if per.kept < 10:  # only a class whose whole budget was examined may end short
            assert per.candidates == 10 * adv.BUDGET_PER_IMAGE
    assert sum(per.kept == 10 for per in stats.per_class.values()) >= 4
    assert 0.0 < stats.pass_rate < 1.0  # the filter really rejects some candidates


def test_adversarial_objects_stay_visible() -> None:
    """Candidates whose object fails the visibility rule never reach the filter."""
    chunk = adv.render_candidate_chunk(0, 8, 0, 60)
    assert 0 < len(chunk.positions) < 60
    assert len(chunk.images) == len(chunk.positions)
    assert chunk.class_id == 8


def test_adversarial_is_deterministic(
    filtered: tuple[fam.ShapesSplit, adv.FilterStats], reference: TemplateReference
) -> None:
    again = generate(0, ["adversarial"], reference, scale=SCALE, workers=1).splits["adversarial"]
    assert again.fingerprint() == filtered[0].fingerprint()


def test_membership_does_not_depend_on_chunks_or_rounds(
    filtered: tuple[fam.ShapesSplit, adv.FilterStats], reference: TemplateReference, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = adv._Stream.round_size
    monkeypatch.setattr(adv._Stream, "round_size", lambda self, q, b: min(7, original(self, q, b)))
    images, labels, _ = adv.filter_candidates(serial(0, step=3), reference, 60)
    assert images.tobytes() == filtered[0].images.tobytes()
    assert labels.tolist() == filtered[0].labels.tolist()


def test_fooled_uses_the_subset_and_the_margin() -> None:
    classes = (1, 3, 5)
    logits = np.zeros((4, 10))
    logits[0, [1, 3]] = [1.0, 1.6]  # true 1, other subset class 0.6 higher: fooled
    logits[1, [1, 3]] = [1.0, 1.4]  # only 0.4 higher: inside the margin, not fooled
    logits[2, [5, 0]] = [1.0, 9.0]  # class 0 is outside the subset: does not count
    logits[3, [3, 5]] = [2.0, 0.0]  # correct
    labels = np.array([1, 1, 5, 3])
    assert adv.fooled(logits, labels, classes, 0.5).tolist() == [True, False, False, False]
    assert adv.fooled(logits, labels, classes, 0.3).tolist() == [True, True, False, False]


def test_a_perfect_reference_keeps_nothing_and_exhausts_the_budget() -> None:
    def undecided(images: np.ndarray) -> np.ndarray:
        return np.zeros((len(images), 10))  # every margin is 0 < 0.5: nothing is fooled

    images, labels, stats = adv.filter_candidates(serial(0), undecided, 12)
    assert images.shape == (0, 32, 32, 3)
    assert labels.shape == (0,)
    assert stats.budget_exhausted
    assert stats.pass_rate == 0.0
    assert stats.candidates == 6 * 2 * adv.BUDGET_PER_IMAGE  # every class examined its whole budget


def test_a_biased_reference_fills_every_class_but_its_favourite() -> None:
    def biased(images: np.ndarray) -> np.ndarray:
        return np.tile(np.arange(10.0), (len(images), 1))  # class 8 has the top subset logit

    images, labels, stats = adv.filter_candidates(serial(0), biased, 12)
    assert Counter(labels.tolist()) == {0: 2, 1: 2, 3: 2, 6: 2, 7: 2}
    assert stats.per_class[8].kept == 0
    assert stats.per_class[8].candidates == 2 * adv.BUDGET_PER_IMAGE
    assert stats.per_class[0].candidates == adv.MIN_ROUND  # full after one round
    assert stats.budget_exhausted
    assert len(images) == 10


class NearTheMargin:
    """A reference whose float32 and float64 logits disagree on the side of the margin."""

    def __init__(self, precise_gap: float, fast_gap: float = 0.52) -> None:
        self.precise_gap, self.fast_gap = precise_gap, fast_gap
        self.precise_calls = 0

    def _logits(self, images: np.ndarray, gap: float) -> np.ndarray:
        logits = np.zeros((len(images), 10))
        logits[:, 9] = 5.0  # outside the subset: ignored
        logits[:, 8] = gap  # every other subset class trails class 8 by `gap`; arrows (8) are right
        return logits

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._logits(images, self.fast_gap)

    def precise(self, images: np.ndarray) -> np.ndarray:
        self.precise_calls += 1
        return self._logits(images, self.precise_gap)


@pytest.mark.parametrize(("precise_gap", "kept"), [(0.48, 0), (0.51, 10)])
def test_margins_near_the_threshold_are_decided_in_float64(precise_gap: float, kept: int) -> None:
    reference = NearTheMargin(precise_gap)
    _, labels, stats = adv.filter_candidates(serial(0), reference, 12)
    assert reference.precise_calls > 0
    assert len(labels) == kept
    assert stats.per_class[8].kept == 0


def test_margins_far_from_the_threshold_skip_the_float64_pass() -> None:
    reference = NearTheMargin(precise_gap=0.0, fast_gap=0.9)
    _, labels, _ = adv.filter_candidates(serial(0), reference, 12)
    assert reference.precise_calls == 0
    assert len(labels) == 10


def test_reference_with_a_wrong_output_shape_is_reported() -> None:
    with pytest.raises(DatasetError, match="logits of shape"):
        adv.filter_candidates(serial(0), lambda images: np.zeros((len(images), 3)), 6)


def test_adversarial_cache_is_keyed_by_the_reference_identity(
    tmp_path: Path, reference: TemplateReference, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(ref_id: str | None) -> dict[str, fam.ShapesSplit]:
        return fam.load_family(tmp_path, 0, reference, reference_id=ref_id, scale=0.02, workers=1)

    first = load("template-v1")
    calls = reference.calls
    second = load("template-v1")
    assert reference.calls == calls  # served from the cache
    assert second["adversarial"].fingerprint() == first["adversarial"].fingerprint()
    assert set(first) == set(fam.SPLITS)
    load("template-v2")
    assert reference.calls > calls  # another identity, another entry
    calls = reference.calls
    load(None)
    assert reference.calls > calls  # no identity: never cached
    folders = sorted(p.name for p in fam.cache_directory(tmp_path, 0, 0.02).glob("adversarial-*") if p.is_dir())
    assert len(folders) == 2


def test_default_reference_loads_a_shapes_resnet_checkpoint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from pytest_ssllottery.checkpoints.archs import ShapesResNet

    torch.manual_seed(0)
    path = tmp_path / "filter.pth"
    torch.save(ShapesResNet(10).state_dict(), path)
    ref = fam.default_reference(path)
    images = render_photo_chunk(0, "val", 0, 8).images
    images.flags.writeable = False  # as in a ShapesSplit: must not trigger torch's non-writable warning
    logits = ref(images)
    assert logits.shape == (8, 10)
    assert logits.dtype == np.float64
    assert np.array_equal(logits, ref(images))
    assert np.allclose(ref(images[:3]), logits[:3], atol=1e-4)  # batch composition barely matters
    assert np.allclose(ref.precise(images), logits, atol=1e-3)  # type: ignore[attr-defined]
    from pytest_ssllottery.shapes.reference import default_reference_id

    assert default_reference_id(path).startswith("filter-sha256:")
    with pytest.raises(DatasetError, match=r"shapes\.zoo"):
        fam.default_reference(tmp_path / "absent.pth")
