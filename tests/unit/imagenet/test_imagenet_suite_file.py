"""The bundled imagenet-variants suite: what it promises, checked against the file itself."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fabricate_imagenet import LAYOUTS

from pytest_ssllottery.datasets.imagenet_classes import read_class_list
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import resolve_resource, resolve_suite

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PAPER_TWELVE = {
    "dino", "swav", "moco_v2", "barlow_twins", "vicreg", "byol", "obow", "deepcluster_v2", "simsiam", "simclr",
    "pcl_v2", "sela_v2",
}  # fmt: skip
REPORTED = {
    "dino": 75.3, "swav": 75.3, "moco_v2": 71.1, "barlow_twins": 73.5, "vicreg": 73.2, "byol": 74.3, "obow": 73.8,
    "deepcluster_v2": 75.2, "simsiam": 68.1, "simclr": 71.7, "pcl_v2": 67.6, "sela_v2": 71.8, "moco_v3": 74.6,
}  # fmt: skip


@pytest.fixture(scope="module")
def path() -> Path:
    return resolve_suite("imagenet-variants")


@pytest.fixture(scope="module")
def raw(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def test_found_by_name_and_valid(path: Path) -> None:
    suite = load_suite(path)
    assert suite.name == "imagenet-variants"
    assert suite.markers == ("gpu",)
    assert suite.num_classes == 1000
    assert suite.train == "train"
    assert suite.reference == "val"
    assert [d.name for d in suite.datasets] == ["train", "val", "real", "v2", "rendition", "sketch", "adversarial"]
    assert suite.aggregate_weights == "images"
    assert {m.name for m in suite.methods} == PAPER_TWELVE | {"moco_v3"}


def test_datasets_and_their_published_sizes(path: Path) -> None:
    suite = load_suite(path)
    kinds = {d.name: (d.loader, d.contract, d.options.get("expected_count")) for d in suite.datasets}
    assert kinds == {
        "train": ("imagenet-train", "full", 1_281_167),
        "val": ("imagenet-val", "full", 50_000),
        "real": ("imagenet-real", "multilabel", 46_837),
        "v2": ("imagenet-v2", "full", 10_000),
        "rendition": ("imagenet-r", "subset", 30_000),
        "sketch": ("imagenet-sketch", "full", 50_889),
        "adversarial": ("imagenet-a", "subset", 7_500),
    }
    assert suite.dataset("v2").options["variant"] == "matched-frequency"
    for name in ("rendition", "adversarial"):
        spec = suite.dataset(name)
        assert spec.classes_file is not None
        assert spec.classes_file.startswith("package:timm/")
        assert len(read_class_list(resolve_resource(spec.classes_file, path.parent), name)) == 200


def test_methods_document_their_release(raw: dict, path: Path) -> None:
    suite = load_suite(path)
    for table, method in zip(raw["methods"], suite.methods, strict=True):
        assert method.arch == "resnet50"
        assert method.source_url
        assert method.source_url.startswith("https://")
        assert table["file_name"]
        assert table["description"]
        assert table["notes"]
        assert method.layout in LAYOUTS, f"{method.name}: layout {method.layout!r} has no fabricated test"
        assert method.reported_top1 == REPORTED[method.name]
        assert not Path(method.checkpoint).is_absolute()
        assert method.checkpoint.startswith(f"{method.name}/")
        if method.sha256 is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", method.sha256)
        assert method.probe.kind == "linear"
        assert method.probe.optimizer == ("lars" if method.name == "simsiam" else "sgd")  # SimSiam: LARS
        assert method.probe.normalize == "none"
        assert method.probe.momentum == 0.9
        assert method.probe.train_per_class == 0
        assert set(table["probe"]) >= {"lr", "batch_size", "epochs", "schedule", "weight_decay", "nesterov"}


def test_official_protocol_details(path: Path) -> None:
    suite = load_suite(path)
    simclr = suite.method("simclr")
    assert simclr.preprocessing.mean is None
    assert simclr.preprocessing.std is None
    for name in ("dino", "byol", "simclr"):
        assert suite.method(name).preprocessing.interpolation == "bicubic"
    assert suite.method("moco_v2").preprocessing.mean == (0.485, 0.456, 0.406)
    assert suite.method("swav").preprocessing.std == (0.228, 0.224, 0.225)
    moco = suite.method("moco_v2").probe
    assert (moco.lr, moco.batch_size, moco.schedule, moco.milestones) == (30.0, 256, "step", (60, 80))
    assert suite.method("pcl_v2").probe.lr == 5.0
    assert suite.method("vicreg").probe.lr == 0.02
    byol = suite.method("byol").probe
    assert byol.nesterov
    assert byol.epochs == 80
    assert suite.method("vicreg").sha256 == "c843e7652491ff2f712734619fd74d85e5e92ac902615665ad3fd50dc6ada591"
    heads = {m.name: m.head_checkpoint for m in suite.methods if m.head_checkpoint}
    assert set(heads) == {"dino", "swav", "simsiam", "moco_v3"}
