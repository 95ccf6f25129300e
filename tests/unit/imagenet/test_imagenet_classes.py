from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ssllottery.datasets.imagenet_classes import (
    A_INDICES_RESOURCE,
    R_INDICES_RESOURCE,
    imagenet_wnids,
    index_of,
    is_wnid,
    read_class_list,
)
from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.resources import resolve_resource


def test_wnids_are_timms_sorted_list_with_known_anchors() -> None:
    wnids = imagenet_wnids()
    assert len(wnids) == 1000
    assert list(wnids) == sorted(wnids)
    assert wnids[0] == "n01440764"  # tench
    assert index_of("n01751748") == 65  # sea snake: val_00000001
    assert index_of("n09193705") == 970  # alp: val_00000002
    assert index_of("n02105855") == 230  # Shetland sheepdog: val_00000003
    assert index_of("n99999999") is None
    assert is_wnid("n01440764")
    assert not is_wnid("01440764")
    assert not is_wnid("n0144076")


@pytest.mark.parametrize(
    ("resource", "first"),
    [
        (R_INDICES_RESOURCE, (1, 2, 4, 6, 8, 9, 11, 13, 22, 23)),
        (A_INDICES_RESOURCE, (6, 11, 13, 15, 17, 22, 23, 27, 30, 37)),
    ],
)
def test_timm_subset_lists(resource: str, first: tuple[int, ...]) -> None:
    classes = read_class_list(resolve_resource(resource, Path(".")), "x")
    assert len(classes) == 200
    assert classes[:10] == first


def test_r_and_a_share_86_classes() -> None:
    r = set(read_class_list(resolve_resource(R_INDICES_RESOURCE, Path(".")), "r"))
    a = set(read_class_list(resolve_resource(A_INDICES_RESOURCE, Path(".")), "a"))
    assert len(r & a) == 86


def test_class_list_accepts_wnids_and_indices(tmp_path: Path) -> None:
    path = tmp_path / "classes.txt"
    path.write_text("# comment\nn01751748\n3\n\n970\n3\n")
    assert read_class_list(path, "x") == (3, 65, 970)
    synsets = resolve_resource("package:timm/data/_info/imagenet_r_synsets.txt", Path("."))
    indices = resolve_resource(R_INDICES_RESOURCE, Path("."))
    assert read_class_list(synsets, "r") == read_class_list(indices, "r")


@pytest.mark.parametrize("line", ["1000", "n99999999", "tench"])
def test_class_list_rejects_bad_lines(tmp_path: Path, line: str) -> None:
    path = tmp_path / "classes.txt"
    path.write_text(f"1\n{line}\n")
    with pytest.raises(
        SpecError,
        match=rf"dataset 'x': classes_file .*classes.txt line 2: expected a class index 0..999 .*{line}",
    ):
        read_class_list(path, "x")


def test_class_list_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read classes_file"):
        read_class_list(tmp_path / "nope.txt", "x")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(SpecError, match="lists no classes"):
        read_class_list(tmp_path / "empty.txt", "x")
