"""A method's `features` / `knn_features` tables: parsed as data, errors naming file, key, method and values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.parse import parse_suite
from pytest_ssllottery.suite.spec import FeatureSpec

PATH = Path("/suites/vit.toml")
VIT = "timm:vit_small_patch16_224"


def suite(method: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    head = {"name": "vit", "reference": "val", "train": "train", "num_classes": 3}
    return {
        "suite": head | ({"extra_protocols": list(extra)} if extra else {}),
        "datasets": [
            {"name": "train", "loader": "npz", "role": "train"},
            {"name": "val", "loader": "npz", "location": "val.npz"},
        ],
        "methods": [{"name": "dino", "arch": VIT, "checkpoint": "d.pth"} | method],
    }


def test_absent_features_mean_the_pooled_feature() -> None:
    method = parse_suite(suite({}), PATH).method("dino")
    assert method.features is None
    assert method.knn_features is None


def test_features_and_defaults() -> None:
    table = {"features": {"cls_blocks": 4}, "knn_features": {"patch_mean": True, "cls_blocks": 0}}
    method = parse_suite(suite(table), PATH).method("dino")
    assert method.features == FeatureSpec(cls_blocks=4, patch_mean=False, norm="final", order="concat")
    assert method.knn_features == FeatureSpec(cls_blocks=0, patch_mean=True)
    assert method.features.dim(384) == 1536
    assert method.features.as_dict() == {"cls_blocks": 4, "patch_mean": False, "norm": "final", "order": "concat"}


def test_knn_variant_takes_knn_features_and_the_knn_number() -> None:
    table = {
        "features": {"cls_blocks": 4},
        "knn_features": {"cls_blocks": 1},
        "reported_top1": 77.0,
        "reported_knn_top1": 74.5,
    }
    parsed = parse_suite(suite(table, ("knn",)), PATH)
    variant = parsed.method("dino@knn")
    assert variant.features == FeatureSpec(cls_blocks=1)
    assert variant.reported_top1 == 74.5
    assert parsed.method("dino").features == FeatureSpec(cls_blocks=4)
    plain = parse_suite(suite({"features": {"cls_blocks": 2}, "reported_top1": 70.0}, ("knn",)), PATH)
    assert plain.method("dino@knn").features == FeatureSpec(cls_blocks=2)  # no knn_features: the same features
    assert plain.method("dino@knn").reported_top1 is None  # a linear number is not a k-NN number


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            {"cls_block": 4},
            r"unknown key `methods\[0\].features.cls_block`; expected one of: cls_blocks, norm, order, patch_mean\..*"
            r"cls_blocks.*\(method 'dino'\)",
        ),
        (
            {"cls_blocks": -1},
            r"key `methods\[0\].features.cls_blocks`: expected an integer >= 0, found -1 \(int\) \(method 'dino'\)",
        ),
        ({"norm": "layer"}, r"key `methods\[0\].features.norm`: expected one of 'final', 'none', found 'layer'"),
        ({"patch_mean": "yes"}, r"key `methods\[0\].features.patch_mean`: expected true or false, found 'yes'"),
        (
            {"cls_blocks": 0},
            r"key `methods\[0\].features.cls_blocks`: expected at least one token: cls_blocks >= 1, or patch_mean "
            r"= true, found 0",
        ),
        (
            {"cls_blocks": 4, "order": "interleave"},
            r"key `methods\[0\].features.order`: expected 'concat', or 'interleave' only with cls_blocks = 1 and "
            r"patch_mean = true .*found 'interleave' \(str\) \(method 'dino'\)",
        ),
    ],
)
def test_bad_features_name_file_key_method_and_expectation(features: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        parse_suite(suite({"features": features}), PATH)
    assert str(info.value).startswith(f"{PATH}: ")


def test_token_features_need_a_timm_arch() -> None:
    with pytest.raises(SpecError) as info:
        parse_suite(suite({"arch": "resnet50", "knn_features": {"cls_blocks": 1}}), PATH)
    message = str(info.value)
    assert "key `methods[0].knn_features`: token features need a timm Vision Transformer arch" in message
    assert "found arch 'resnet50'; remove `knn_features` to use the architecture's pooled feature (method 'dino')" in (
        message
    )


def test_features_must_be_a_table() -> None:
    with pytest.raises(SpecError, match=r"key `methods\[0\].features`: expected a table, found 4"):
        parse_suite(suite({"features": 4}), PATH)
