from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fabricate_imagenet import WNIDS, dataset_spec, load_context, wnid_folders, write_image

from pytest_ssllottery.datasets import load_dataset, loader_kinds
from pytest_ssllottery.datasets.labels import predict
from pytest_ssllottery.datasets.sources import FileSource
from pytest_ssllottery.errors import DatasetError, SpecError

R_FILE = "package:timm/data/_info/imagenet_r_indices.txt"
A_FILE = "package:timm/data/_info/imagenet_a_indices.txt"


def test_imagenet_kinds_are_registered() -> None:
    kinds = loader_kinds()
    for kind in ("imagenet-train", "imagenet-val", "imagenet-real", "imagenet-v2", "imagenet-r", "imagenet-a"):
        assert kind in kinds
    assert "imagenet-sketch" in kinds
    assert "imagenet-folders" in kinds


def test_train_labels_are_sorted_wnid_indices(tmp_path: Path) -> None:
    written = wnid_folders(tmp_path / "train", [970, 0, 65], 2)
    spec = dataset_spec("train", "imagenet-train", "train", expected_count=0, require_all_classes=False)
    data = load_dataset(spec, load_context(tmp_path))
    assert isinstance(data.images, FileSource)
    assert list(data.images.files) == [path for path, _ in written]
    assert data.images.files[0] == "n01440764/n01440764_0.JPEG"
    assert data.labels.targets.tolist() == [0, 0, 65, 65, 970, 970]
    assert data.labels.contract == "full"
    assert data.labels.num_classes == 1000
    assert data.images.sizes == tuple((tmp_path / "train" / f).stat().st_size for f in data.images.files)


def test_hidden_and_non_image_files_are_ignored(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "sketch", [5], 2)
    (tmp_path / "sketch" / WNIDS[5] / ".DS_Store").write_bytes(b"x")
    (tmp_path / "sketch" / WNIDS[5] / "._n01440764_0.JPEG").write_bytes(b"x")
    (tmp_path / "sketch" / WNIDS[5] / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "sketch" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "sketch" / "README.txt").write_text("readme")
    write_image(tmp_path / "sketch" / WNIDS[5] / "extra.png", 5, 1)
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch", expected_count=3, require_all_classes=False)
    data = load_dataset(spec, load_context(tmp_path))
    assert len(data) == 3


def test_sketch_requires_all_1000_folders_by_default(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "sketch", [0, 1], 1)
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch", expected_count=0)
    with pytest.raises(DatasetError) as info:
        load_dataset(spec, load_context(tmp_path))
    message = str(info.value)
    assert "dataset 'sketch'" in message
    assert "has 2 of the 1000 class folders of ImageNet-Sketch" in message
    assert "'n01484850'" in message  # the first missing wnid
    assert ".require_all_classes=false" in message


def test_published_count_is_enforced_and_relaxable(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "sketch", [0, 1], 2)
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch", require_all_classes=False)
    with pytest.raises(DatasetError) as info:
        load_dataset(spec, load_context(tmp_path))
    message = str(info.value)
    assert "found 4 images under" in message
    assert "expected 50,889" in message
    assert "--ssl-dataset-option " in message
    assert ".expected_count=4" in message
    assert "0 turns the check off" in message
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch", require_all_classes=False, expected_count=4)
    assert len(load_dataset(spec, load_context(tmp_path))) == 4


@pytest.mark.parametrize(
    ("loader", "published"), [("imagenet-train", "1,281,167"), ("imagenet-r", "30,000"), ("imagenet-a", "7,500")]
)
def test_each_kind_has_its_published_size(tmp_path: Path, loader: str, published: str) -> None:
    wnid_folders(tmp_path / "data", [6, 11], 1)
    contract = "full" if loader == "imagenet-train" else "subset"
    spec = dataset_spec("d", loader, "data", contract=contract, require_all_classes=False)
    with pytest.raises(DatasetError, match=f"expected {published}"):
        load_dataset(spec, load_context(tmp_path))


def test_rendition_is_a_subset_of_timms_200_classes(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "imagenet-r", [1, 6, 13], 2, name="{k}.jpg")
    spec = dataset_spec(
        "rendition", "imagenet-r", "imagenet-r", "subset", R_FILE, expected_count=0, require_all_classes=False
    )
    data = load_dataset(spec, load_context(tmp_path))
    assert data.labels.contract == "subset"
    assert data.labels.classes is not None
    assert len(data.labels.classes) == 200
    assert data.labels.classes[:4] == (1, 2, 4, 6)
    assert data.labels.targets.tolist() == [1, 1, 6, 6, 13, 13]
    logits = np.zeros((6, 1000))
    logits[:, 0] = 10.0  # class 0 (tench) is not an ImageNet-R class: the restriction must ignore it
    logits[:, 13] = 5.0
    assert predict(logits, data.labels).tolist() == [13] * 6


def test_rendition_defaults_to_timms_list(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "imagenet-a", [6], 1)
    spec = dataset_spec(
        "adversarial", "imagenet-a", "imagenet-a", "subset", expected_count=0, require_all_classes=False
    )
    data = load_dataset(spec, load_context(tmp_path))
    assert data.labels.classes is not None
    assert data.labels.classes[:3] == (6, 11, 13)


def test_subset_folders_must_be_the_listed_wnids(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "imagenet-a", [6, 0], 1)  # class 0 (tench) is not an ImageNet-A class
    spec = dataset_spec("adversarial", "imagenet-a", "imagenet-a", "subset", A_FILE, expected_count=0)
    with pytest.raises(DatasetError) as info:
        load_dataset(spec, load_context(tmp_path))
    message = str(info.value)
    assert "dataset 'adversarial'" in message
    assert "1 ImageNet-1k wnids outside the 200 classes of ImageNet-A" in message
    assert "'n01440764'" in message
    assert "imagenet_a_indices.txt" in message


def test_subset_must_have_200_classes(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "imagenet-r", [1], 1)
    from dataclasses import replace

    spec = replace(dataset_spec("rendition", "imagenet-r", "imagenet-r", "subset"), classes=(1, 2, 3))
    with pytest.raises(SpecError, match="scored over its 200 classes, but the class list has 3"):
        load_dataset(spec, load_context(tmp_path))


def test_generic_folders_with_custom_subset(tmp_path: Path) -> None:
    from dataclasses import replace

    wnid_folders(tmp_path / "imagenet-200-val", [1, 2], 1)
    spec = replace(dataset_spec("in200", "imagenet-folders", "imagenet-200-val", "subset"), classes=(2, 1, 4))
    with pytest.raises(DatasetError, match=r"has 2 of the 3 class folders of the subset \(`classes` in the suite\)"):
        load_dataset(spec, load_context(tmp_path))
    wnid_folders(tmp_path / "imagenet-200-val", [4], 1)
    data = load_dataset(spec, load_context(tmp_path))
    assert data.labels.classes == (1, 2, 4)
    assert data.labels.targets.tolist() == [1, 2, 4]
    spec = dataset_spec("in200", "imagenet-folders", "imagenet-200-val", "subset")
    with pytest.raises(SpecError, match="contract = 'subset' needs `classes` or `classes_file`"):
        load_dataset(spec, load_context(tmp_path))


def test_missing_root_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet-r").mkdir()
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch")
    with pytest.raises(DatasetError) as info:
        load_dataset(spec, load_context(tmp_path))
    message = str(info.value)
    assert f"dataset 'sketch': no folder at {tmp_path / 'sketch'}" in message
    assert f"location 'sketch' under the data root {tmp_path}" in message
    assert "'imagenet/', 'imagenet-r/'" in message  # what the parent holds
    assert "1000 wnid folders as unzipped from ImageNet-Sketch.zip" in message
    assert "--ssl-dataset-path sketch=" in message


def test_root_that_is_a_file_is_an_archive_to_extract(tmp_path: Path) -> None:
    (tmp_path / "imagenet-r").write_bytes(b"tar")
    spec = dataset_spec("rendition", "imagenet-r", "imagenet-r", "subset")
    with pytest.raises(DatasetError, match=r"imagenet-r is a file, not a folder .*extract the archive first"):
        load_dataset(spec, load_context(tmp_path))


def test_missing_override_root_names_the_flag(tmp_path: Path) -> None:
    spec = dataset_spec("sketch", "imagenet-sketch", "sketch")
    with pytest.raises(DatasetError, match=r"given by --ssl-dataset-path sketch=\.\.\."):
        load_dataset(spec, load_context(tmp_path, sketch=tmp_path / "elsewhere"))


def test_nested_root_and_tar_hints(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "download" / "sketch", [0], 1)
    spec = dataset_spec("sketch", "imagenet-sketch", "download")
    with pytest.raises(DatasetError) as info:
        load_dataset(spec, load_context(tmp_path))
    message = str(info.value)
    assert "does not have the expected layout" in message
    assert "Found: 'sketch/' (1 entry)" in message
    assert f"maybe the dataset is at {tmp_path / 'download' / 'sketch'}" in message
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "n01440764.tar").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"\.tar archives .*extract them first"):
        load_dataset(dataset_spec("train", "imagenet-train", "train"), load_context(tmp_path))


def test_numeric_folders_point_to_the_v2_loader(tmp_path: Path) -> None:
    for k in ("0", "1"):
        write_image(tmp_path / "v2" / k / "a.jpeg", int(k), 0)
    with pytest.raises(DatasetError, match="ImageNetV2 layout \\(loader imagenet-v2\\)"):
        load_dataset(dataset_spec("sketch", "imagenet-sketch", "v2"), load_context(tmp_path))


def test_empty_class_folder_is_an_incomplete_extraction(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "train", [0], 1)
    (tmp_path / "train" / WNIDS[1]).mkdir()
    spec = dataset_spec("train", "imagenet-train", "train", expected_count=0)
    from dataclasses import replace

    with pytest.raises(DatasetError, match="has 2 of the 1000 class folders"):
        load_dataset(spec, load_context(tmp_path))
    all_there = replace(spec, options={"expected_count": 0})
    for index in range(2, 1000):
        (tmp_path / "train" / WNIDS[index]).mkdir()
    with pytest.raises(DatasetError, match=r"class folders without images .*'n01443537'"):
        load_dataset(all_there, load_context(tmp_path))


def test_empty_rendition_folder_says_how_to_score_the_others(tmp_path: Path) -> None:
    from pytest_ssllottery.datasets.imagenet_classes import R_INDICES_RESOURCE, read_class_list
    from pytest_ssllottery.suite.resources import resolve_resource

    classes = read_class_list(resolve_resource(R_INDICES_RESOURCE, tmp_path), "r")
    wnid_folders(tmp_path / "imagenet-r", classes[1:], 1)
    (tmp_path / "imagenet-r" / WNIDS[classes[0]]).mkdir()
    spec = dataset_spec("rendition", "imagenet-r", "imagenet-r", contract="subset", expected_count=0)
    with pytest.raises(DatasetError, match=r"without images .*rendition.require_all_classes=false"):
        load_dataset(spec, load_context(tmp_path))
    relaxed = dataset_spec(
        "rendition", "imagenet-r", "imagenet-r", contract="subset", expected_count=0, require_all_classes=False
    )
    assert len(load_dataset(relaxed, load_context(tmp_path))) == 199


def test_spec_errors(tmp_path: Path) -> None:
    wnid_folders(tmp_path / "train", [0], 1)
    with pytest.raises(SpecError, match=r"unknown option `options.expected` for loader 'imagenet-train'"):
        load_dataset(dataset_spec("train", "imagenet-train", "train", expected=3), load_context(tmp_path))
    with pytest.raises(SpecError, match=r"`options.expected_count` must be an integer >= 0, found '3'"):
        load_dataset(dataset_spec("train", "imagenet-train", "train", expected_count="3"), load_context(tmp_path))
    with pytest.raises(SpecError, match="scored with contract = 'subset', but the suite declares contract = 'full'"):
        load_dataset(dataset_spec("r", "imagenet-r", "train"), load_context(tmp_path))
    with pytest.raises(SpecError, match="set \\[suite\\] num_classes = 1000"):
        load_dataset(dataset_spec("train", "imagenet-train", "train"), load_context(tmp_path, num_classes=10))
