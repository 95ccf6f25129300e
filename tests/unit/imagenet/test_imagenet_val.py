from __future__ import annotations

from pathlib import Path

import pytest
from fabricate_imagenet import (
    ALP,
    SEA_SNAKE,
    WNIDS,
    dataset_spec,
    devkit,
    devkit_ids,
    flat_val,
    folder_val,
    load_context,
    loc_solution,
    val_txt,
    write_image,
)

from pytest_ssllottery.datasets import load_dataset
from pytest_ssllottery.datasets.imagenet_devkit import read_devkit
from pytest_ssllottery.errors import DatasetError, SpecError

# val_00000001 is a sea snake (class 65, ILSVRC2012_ID 490), val_00000002 an alp (970), ...
LABELS = [SEA_SNAKE, ALP, 230, 0, 65, 999]


def val_spec(**options: object) -> object:
    return dataset_spec("val", "imagenet-val", "imagenet/val", expected_count=0, **options)


def test_devkit_maps_ilsvrc_ids_to_sorted_indices(tmp_path: Path) -> None:
    ids = devkit_ids()
    assert ids[WNIDS[SEA_SNAKE]] == 490
    assert ids[WNIDS[0]] != 1
    table = read_devkit(devkit(tmp_path / "ILSVRC2012_devkit_t12.tar.gz", LABELS))
    assert [table[n] for n in range(1, 7)] == LABELS


def test_flat_val_with_devkit_next_to_it(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    devkit(tmp_path / "imagenet" / "ILSVRC2012_devkit_t12.tar.gz", LABELS)
    data = load_dataset(val_spec(), load_context(tmp_path))
    assert data.images.files[0] == "ILSVRC2012_val_00000001.JPEG"  # type: ignore[union-attr]
    assert data.labels.targets.tolist() == LABELS
    assert data.labels.targets[0] == 65  # not 490 (the ILSVRC2012_ID) nor 489


def test_flat_val_with_extracted_devkit_folder_option(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    devkit(tmp_path / "meta" / "ILSVRC2012_devkit_t12", LABELS, folder=True)
    data = load_dataset(val_spec(devkit="meta/ILSVRC2012_devkit_t12"), load_context(tmp_path))
    assert data.labels.targets.tolist() == LABELS


def test_flat_val_with_val_txt_and_loc_solution(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    val_txt(tmp_path / "val.txt", LABELS)
    data = load_dataset(val_spec(ground_truth="val.txt"), load_context(tmp_path))
    assert data.labels.targets.tolist() == LABELS
    loc_solution(tmp_path / "LOC_val_solution.csv", LABELS)
    data = load_dataset(val_spec(ground_truth=str(tmp_path / "LOC_val_solution.csv")), load_context(tmp_path))
    assert data.labels.targets.tolist() == LABELS
    data = load_dataset(val_spec(), load_context(tmp_path))  # found in the data root
    assert data.labels.targets.tolist() == LABELS


def test_integer_ground_truth_is_ambiguous_unless_declared_sorted(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    val_txt(tmp_path / "caffe_val.txt", LABELS, integers=True)
    with pytest.raises(DatasetError) as info:
        load_dataset(val_spec(ground_truth="caffe_val.txt"), load_context(tmp_path))
    message = str(info.value)
    assert "caffe_val.txt line 1: the label '65' is an integer, which is ambiguous" in message
    assert "ILSVRC2012_ID" in message
    assert 'ground_truth_index = "sorted"' in message
    data = load_dataset(val_spec(ground_truth="caffe_val.txt", ground_truth_index="sorted"), load_context(tmp_path))
    assert data.labels.targets.tolist() == LABELS
    with pytest.raises(SpecError, match="ground_truth_index` must be one of 'sorted', 'wnid'"):
        load_dataset(val_spec(ground_truth_index="ilsvrc"), load_context(tmp_path))


def test_flat_val_without_label_source(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    with pytest.raises(DatasetError) as info:
        load_dataset(val_spec(), load_context(tmp_path))
    message = str(info.value)
    assert "holds flat val files, whose names carry no class" in message
    assert "ILSVRC2012_devkit_t12.tar.gz" in message
    assert "LOC_val_solution.csv" in message
    assert str(tmp_path / "imagenet") in message
    assert "options.devkit = PATH" in message
    assert "options.ground_truth = PATH" in message
    with pytest.raises(DatasetError, match=r"options.devkit = .*nope.tar.gz, but there is no such file"):
        load_dataset(val_spec(devkit="nope.tar.gz"), load_context(tmp_path))


def test_label_source_must_cover_every_file(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    val_txt(tmp_path / "val.txt", LABELS[:4])
    with pytest.raises(
        DatasetError, match=r"has no label for 'ILSVRC2012_val_00000005.JPEG', 'ILSVRC2012_val_00000006.JPEG'"
    ):
        load_dataset(val_spec(ground_truth="val.txt"), load_context(tmp_path))


def test_bad_ground_truth_lines(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS[:1])
    (tmp_path / "a.txt").write_text("ILSVRC2012_val_00000001.JPEG n99999999\n")
    with pytest.raises(DatasetError, match=r"a.txt line 1: expected an ImageNet-1k wnid"):
        load_dataset(val_spec(ground_truth="a.txt"), load_context(tmp_path))
    (tmp_path / "b.txt").write_text("val_1.JPEG n01440764\n")
    with pytest.raises(DatasetError, match=r"b.txt line 1: 'val_1.JPEG' is not a val file name"):
        load_dataset(val_spec(ground_truth="b.txt"), load_context(tmp_path))
    (tmp_path / "c.txt").write_text("ILSVRC2012_val_00000001.JPEG\n")
    with pytest.raises(DatasetError, match=r"c.txt line 1: expected 'ILSVRC2012_val_00000001.JPEG n01751748'"):
        load_dataset(val_spec(ground_truth="c.txt"), load_context(tmp_path))


def test_broken_devkits(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS[:1])
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(DatasetError, match=r"broken.tar.gz is not a readable tar archive"):
        load_dataset(val_spec(devkit="broken.tar.gz"), load_context(tmp_path))
    (tmp_path / "empty_devkit").mkdir()
    with pytest.raises(DatasetError, match=r"devkit folder .*empty_devkit: no data/meta.mat"):
        load_dataset(val_spec(devkit="empty_devkit"), load_context(tmp_path))


def test_folder_val_needs_no_devkit(tmp_path: Path) -> None:
    folder_val(tmp_path / "imagenet" / "val", LABELS)
    data = load_dataset(val_spec(require_all_classes=False), load_context(tmp_path))
    assert data.images.files[0] == "n01440764/ILSVRC2012_val_00000004.JPEG"  # type: ignore[union-attr]
    assert data.labels.targets.tolist() == sorted(LABELS)


def test_val_count_is_strict_by_default(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS)
    devkit(tmp_path / "imagenet" / "ILSVRC2012_devkit_t12.tar.gz", LABELS)
    spec = dataset_spec("val", "imagenet-val", "imagenet/val")
    with pytest.raises(DatasetError, match=r"found 6 val images under .*, expected 50,000.*expected_count=6"):
        load_dataset(spec, load_context(tmp_path))


def test_mixed_or_unknown_layouts(tmp_path: Path) -> None:
    flat_val(tmp_path / "imagenet" / "val", LABELS[:2])
    write_image(tmp_path / "imagenet" / "val" / WNIDS[0] / "ILSVRC2012_val_00000003.JPEG", 0, 1)
    with pytest.raises(DatasetError, match="It mixes 2 flat val files with 1 wnid folders"):
        load_dataset(val_spec(), load_context(tmp_path))
    write_image(tmp_path / "other" / "img_1.jpg", 0, 1)
    with pytest.raises(DatasetError) as info:
        load_dataset(dataset_spec("val", "imagenet-val", "other"), load_context(tmp_path))
    message = str(info.value)
    assert "No ILSVRC2012_val_XXXXXXXX.JPEG files and no wnid folders" in message
    assert "Found: 'img_1.jpg' (1 entry)" in message
    assert "either as 1000 wnid folders" in message
    assert "flat as extracted from ILSVRC2012_img_val.tar" in message
