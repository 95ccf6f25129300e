from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fabricate_imagenet import ALP, SEA_SNAKE, dataset_spec, devkit, flat_val, folder_val, load_context, real_json

from pytest_ssllottery.datasets import load_dataset
from pytest_ssllottery.datasets.imagenet_real import REAL_LABELS_RESOURCE, read_real_labels
from pytest_ssllottery.datasets.labels import correctness
from pytest_ssllottery.errors import DatasetError
from pytest_ssllottery.suite.resources import resolve_resource

LABELS = [SEA_SNAKE, ALP, 230, 0, 65, 999]
SETS = [[], [970, 795], [230, 231], [], [65], [999, 1, 2]]  # two empty sets: not scored


def real_spec(**options: object) -> object:
    return dataset_spec("real", "imagenet-real", "imagenet/val", "multilabel", labels="real.json", **options)


def test_timms_real_json_is_the_published_file() -> None:
    sets = read_real_labels(resolve_resource(REAL_LABELS_RESOURCE, Path(".")))
    assert len(sets) == 50_000
    assert sum(1 for s in sets if s) == 46_837
    assert sets[0] == frozenset()  # val_00000001 is not scored
    assert sets[1] == {970, 795}
    assert sets[2] == {230, 231}


@pytest.mark.parametrize("layout", ["flat", "folders"])
def test_real_from_either_val_layout(tmp_path: Path, layout: str) -> None:
    write = flat_val if layout == "flat" else folder_val
    write(tmp_path / "imagenet" / "val", LABELS)
    real_json(tmp_path / "real.json", SETS)
    spec = real_spec(expected_count=4, require_all_classes=False)
    data = load_dataset(spec, load_context(tmp_path))  # no devkit needed, even for the flat layout
    by_name = {Path(f).name: s for f, s in zip(data.images.files, data.labels.label_sets, strict=True)}  # type: ignore[union-attr, arg-type]
    assert by_name["ILSVRC2012_val_00000002.JPEG"] == {970, 795}
    assert by_name["ILSVRC2012_val_00000001.JPEG"] == frozenset()
    assert data.labels.scored_mask().sum() == 4
    predictions = np.array([min(s) if s else 0 for s in data.labels.label_sets])  # type: ignore[union-attr]
    hits = correctness(predictions, data.labels)
    assert hits.size == 4
    assert hits.all()
    if layout == "flat":
        assert data.labels.targets.tolist() == [-1] * 6
    else:
        assert sorted(data.labels.targets.tolist()) == sorted(LABELS)


def test_real_and_val_share_images_and_features_key(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    devkit(tmp_path / "imagenet" / "ILSVRC2012_devkit_t12.tar.gz", LABELS)
    real_json(tmp_path / "real.json", SETS)
    val = load_dataset(dataset_spec("val", "imagenet-val", "imagenet/val", expected_count=0), load_context(tmp_path))
    real = load_dataset(real_spec(expected_count=0), load_context(tmp_path))
    assert real.images.fingerprint() == val.images.fingerprint()


def test_real_scored_count_is_strict_by_default(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    real_json(tmp_path / "real.json", SETS)
    with pytest.raises(DatasetError) as info:
        load_dataset(real_spec(), load_context(tmp_path))
    message = str(info.value)
    assert "found 4 scored ReaL images (non-empty label sets)" in message
    assert "expected 46,837" in message
    assert "--ssl-dataset-option " in message
    assert ".expected_count=4" in message


def test_real_labels_must_cover_the_files(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    real_json(tmp_path / "real.json", SETS[:3])
    with pytest.raises(
        DatasetError, match=r"real.json has 3 entries, so it has no label set for 'ILSVRC2012_val_00000004.JPEG'"
    ):
        load_dataset(real_spec(expected_count=0), load_context(tmp_path))


def test_real_needs_val_file_names(tmp_path: Path) -> None:
    folder_val(tmp_path / "imagenet" / "val", LABELS[:1])
    renamed = tmp_path / "imagenet" / "val" / "n01751748" / "sea_snake.JPEG"
    next((tmp_path / "imagenet" / "val" / "n01751748").iterdir()).rename(renamed)
    real_json(tmp_path / "real.json", SETS)
    with pytest.raises(
        DatasetError, match=r"val images not named ILSVRC2012_val_XXXXXXXX.JPEG: 'n01751748/sea_snake.JPEG'"
    ):
        load_dataset(real_spec(expected_count=0, require_all_classes=False), load_context(tmp_path))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{}", "expected a JSON list of label lists"),
        ("[[1], [1000]]", "entry 1 \\(ILSVRC2012_val_00000002.JPEG\\)"),
        ("[[", "cannot read"),
    ],
)
def test_bad_real_json(tmp_path: Path, content: str, match: str) -> None:
    (tmp_path / "real.json").write_text(content)
    with pytest.raises(DatasetError, match=match):
        read_real_labels(tmp_path / "real.json")
