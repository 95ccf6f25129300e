from __future__ import annotations

from pathlib import Path

import pytest
from fabricate_imagenet import dataset_spec, load_context, v2_folders, wnid_folders

from pytest_ssllottery.datasets import load_dataset
from pytest_ssllottery.errors import DatasetError, SpecError

MATCHED = "imagenetv2-matched-frequency-format-val"
CLASSES = [0, 1, 2, 10, 100, 999]  # as text: "0" < "1" < "10" < "100" < "2" < "999"


def v2_spec(location: str = "imagenetv2", **options: object) -> object:
    return dataset_spec("v2", "imagenet-v2", location, expected_count=0, require_all_classes=False, **options)


def test_folders_are_class_indices_sorted_numerically(tmp_path: Path) -> None:
    v2_folders(tmp_path / "imagenetv2" / MATCHED, CLASSES, 2)
    data = load_dataset(v2_spec(), load_context(tmp_path))
    assert data.labels.targets.tolist() == [c for c in CLASSES for _ in range(2)]
    folders = [f.split("/")[0] for f in data.images.files]  # type: ignore[union-attr]
    assert folders == [str(c) for c in CLASSES for _ in range(2)]
    assert all(f.endswith(".jpeg") for f in data.images.files)  # type: ignore[union-attr]


def test_label_is_the_folder_number_not_its_text_rank(tmp_path: Path) -> None:
    written = v2_folders(tmp_path / "imagenetv2" / MATCHED, CLASSES, 1)
    data = load_dataset(v2_spec(), load_context(tmp_path))
    by_file = dict(zip(data.images.files, data.labels.targets.tolist(), strict=True))  # type: ignore[union-attr]
    assert by_file == dict(written)
    assert by_file[next(f for f, c in written if c == 2)] == 2  # ImageFolder would say 4


@pytest.mark.parametrize(
    ("variant", "folder"),
    [
        ("threshold-0.7", "imagenetv2-threshold0.7-format-val"),
        ("threshold-0.7", "imagenetv2-threshold-0.7-format-val"),
        ("top-images", "imagenetv2-top-images-format-val"),
        ("matched-frequency", "ImageNetV2-matched-frequency"),
    ],
)
def test_variant_option_picks_the_folder(tmp_path: Path, variant: str, folder: str) -> None:
    decoy = MATCHED if variant != "matched-frequency" else "imagenetv2-top-images-format-val"
    v2_folders(tmp_path / "imagenetv2" / decoy, [0], 1)
    v2_folders(tmp_path / "imagenetv2" / folder, [5, 6], 1)
    data = load_dataset(v2_spec(variant=variant), load_context(tmp_path))
    assert data.labels.targets.tolist() == [5, 6]


def test_location_may_be_the_variant_folder_itself(tmp_path: Path) -> None:
    v2_folders(tmp_path / "v2" / "renamed", [3], 2)
    data = load_dataset(v2_spec(location="v2/renamed"), load_context(tmp_path))
    assert data.labels.targets.tolist() == [3, 3]
    v2_folders(tmp_path / "imagenetv2" / "imagenetv2-top-images-format-val", [3], 1)
    override = load_context(tmp_path, v2=tmp_path / "imagenetv2" / "imagenetv2-top-images-format-val")
    with pytest.raises(DatasetError) as info:
        load_dataset(v2_spec(), override)
    message = str(info.value)
    assert "is the ImageNetV2 'top-images' test set, but options.variant is 'matched-frequency'" in message
    assert "--ssl-dataset-option " in message
    assert ".variant=top-images" in message


def test_missing_variant_folder_lists_what_is_there(tmp_path: Path) -> None:
    v2_folders(tmp_path / "imagenetv2" / "imagenetv2-threshold0.7-format-val", [0], 1)
    with pytest.raises(DatasetError) as info:
        load_dataset(v2_spec(), load_context(tmp_path))
    message = str(info.value)
    assert f"No folder '{MATCHED}' for options.variant = 'matched-frequency'" in message
    assert "It holds other variants (imagenetv2-threshold0.7-format-val)" in message
    assert "Found: 'imagenetv2-threshold0.7-format-val/' (1 entry)" in message


def test_non_numeric_folders(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "imagenetv2" / MATCHED, [0], 1)
    with pytest.raises(DatasetError, match=r"not class numbers 0..999: 'n01440764'.*use loader 'imagenet-folders'"):
        load_dataset(v2_spec(), load_context(tmp_path))
    v2_folders(tmp_path / "x" / "y", [0], 1)
    (tmp_path / "x" / "y" / "007").mkdir()
    with pytest.raises(DatasetError, match=r"not class numbers 0..999: '007'"):
        load_dataset(v2_spec(location="x/y"), load_context(tmp_path))


def test_all_classes_and_count_are_required_by_default(tmp_path: Path) -> None:
    v2_folders(tmp_path / "imagenetv2" / MATCHED, [0, 1], 1)
    spec = dataset_spec("v2", "imagenet-v2", "imagenetv2")
    with pytest.raises(DatasetError, match=r"has 2 of the 1000 class folders; missing '2', '3'"):
        load_dataset(spec, load_context(tmp_path))
    spec = dataset_spec("v2", "imagenet-v2", "imagenetv2", require_all_classes=False)
    with pytest.raises(DatasetError, match=r"found 2 ImageNetV2 matched-frequency images .* expected 10,000"):
        load_dataset(spec, load_context(tmp_path))


def test_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError, match=r"options.variant` must be one of 'matched-frequency', 'threshold-0.7', 'top-images'"
    ):
        load_dataset(v2_spec(variant="matched"), load_context(tmp_path))


def test_empty_class_folder_follows_the_same_rule_as_every_loader(tmp_path: Path) -> None:
    v2_folders(tmp_path / "imagenetv2" / MATCHED, range(1, 1000), 1)
    (tmp_path / "imagenetv2" / MATCHED / "0").mkdir()
    spec = dataset_spec("v2", "imagenet-v2", "imagenetv2", expected_count=0)
    with pytest.raises(DatasetError, match=r"class folders without images .*'0'.*v2.require_all_classes=false"):
        load_dataset(spec, load_context(tmp_path))
    relaxed = dataset_spec("v2", "imagenet-v2", "imagenetv2", expected_count=0, require_all_classes=False)
    assert len(load_dataset(relaxed, load_context(tmp_path))) == 999
