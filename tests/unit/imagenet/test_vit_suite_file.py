"""The bundled imagenet-variants-vit suite: what it promises, checked against the file itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fabricate_vit import VIT_LAYOUTS

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import available_suites, resolve_suite
from pytest_ssllottery.suite.spec import FeatureSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# name: (linear top-1, k-NN top-1) as the official READMEs / CONFIG.md / FINETUNE.md tables report them
REPORTED = {
    "dino_vits16": (77.0, 74.5), "dino_vitb16": (78.2, 76.1), "mocov3_vits": (73.2, None),
    "mocov3_vitb": (76.7, None), "mae_vitb": (67.8, None), "ibot_vits16": (77.9, 75.2), "ibot_vitb16": (79.5, 77.1),
    "dinov2_vits14": (81.1, 79.0),
}  # fmt: skip
FEATURES = {
    "dino_vits16": FeatureSpec(cls_blocks=4),
    "dino_vitb16": FeatureSpec(cls_blocks=1, patch_mean=True, order="interleave"),
    "mocov3_vits": FeatureSpec(),
    "mocov3_vitb": FeatureSpec(),
    "mae_vitb": FeatureSpec(),
    "ibot_vits16": FeatureSpec(cls_blocks=4),
    "ibot_vitb16": FeatureSpec(cls_blocks=1, patch_mean=True),
    "dinov2_vits14": FeatureSpec(cls_blocks=1, patch_mean=True),
}


@pytest.fixture(scope="module")
def path() -> Path:
    return resolve_suite("imagenet-variants-vit")


@pytest.fixture(scope="module")
def raw(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def test_bundled_next_to_the_resnet_suite_with_the_same_datasets(path: Path) -> None:
    assert available_suites()["imagenet-variants-vit"] == path
    vit, resnet = load_suite(path), load_suite(resolve_suite("imagenet-variants"))
    assert vit.name == "imagenet-variants-vit"
    assert vit.datasets == resnet.datasets
    assert (vit.markers, vit.num_classes, vit.train, vit.reference) == (("gpu",), 1000, "train", "val")
    assert vit.extra_protocols == ("knn",)
    assert {m.name for m in vit.primary_methods} == set(REPORTED)


def test_methods_document_their_release(raw: dict, path: Path) -> None:
    suite = load_suite(path)
    for table, method in zip(raw["methods"], suite.primary_methods, strict=True):
        assert method.arch.startswith("timm:")
        assert method.source_url
        assert method.source_url.startswith("https://")
        assert method.source_url.endswith(table["file_name"])
        assert table["description"]
        assert table["notes"]
        assert method.layout in VIT_LAYOUTS, f"{method.name}: layout {method.layout!r} has no fabricated test"
        assert (method.reported_top1, method.reported_knn_top1) == REPORTED[method.name]
        assert method.checkpoint.startswith(f"{method.name}/")
        assert method.probe.kind == "linear"
        assert set(table["probe"]) >= {"lr", "batch_size", "epochs", "schedule", "weight_decay", "nesterov"}
        assert method.features == FEATURES[method.name], method.name


def test_knn_variants_read_the_final_cls_token_and_report_the_knn_number(path: Path) -> None:
    suite = load_suite(path)
    for method in suite.primary_methods:
        variant = suite.method(f"{method.name}@knn")
        assert variant.probe.kind == "knn"
        assert (variant.probe.k, variant.probe.temperature) == (20, 0.07)
        assert variant.features == FeatureSpec(cls_blocks=1)
        assert variant.reported_top1 == method.reported_knn_top1


def test_official_protocol_details(path: Path) -> None:
    suite = load_suite(path)
    assert suite.method("mocov3_vits").arch == "timm:vit_small_patch16_224(num_heads=12)"
    assert get_architecture(suite.method("mocov3_vits").arch).build().blocks[0].attn.num_heads == 12
    assert suite.method("dinov2_vits14").arch == "timm:vit_small_patch14_dinov2(img_size=224)"
    moco = suite.method("mocov3_vitb").probe
    assert (moco.lr, moco.batch_size, moco.epochs, moco.weight_decay) == (12.0, 1024, 90, 0.0)
    mae = suite.method("mae_vitb").probe
    assert (mae.optimizer, mae.lr, mae.batch_size, mae.normalize) == ("lars", 6.4, 16384, "standardize")
    assert suite.method("dinov2_vits14").probe.epochs == 10
    for name in ("dino_vits16", "dino_vitb16", "mae_vitb", "ibot_vits16", "ibot_vitb16", "dinov2_vits14"):
        assert suite.method(name).preprocessing.interpolation == "bicubic"
    heads = {m.name for m in suite.primary_methods if m.head_checkpoint}
    assert heads == {"dino_vits16", "dino_vitb16", "mocov3_vits", "mocov3_vitb", "dinov2_vits14"}
