"""The bundled imagenet-variants suite end to end, on a fabricated data root.

The test suite is derived from the bundled TOML, not rewritten: every dataset, loader, location, contract,
class list, method, layout, preprocessing and probe protocol comes from the real file. Only what cannot run
on two CPU cores in a test is changed: the arch (``shapes_resnet`` with torchvision key names, so each
checkpoint is fabricated in the method's official ``layout``), the image size (16 px), the count checks
(off: the data is tiny), ReaL's labels (a fabricated real.json), a 3-per-class train subset and 10 probe
epochs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from fabricate_imagenet import (
    backbone_state,
    devkit,
    flat_val,
    official_head,
    real_json,
    save_checkpoint,
    v2_folders,
    wnid_folders,
    write_corrupt,
)

# Imported before the in-process runs, which restore sys.modules afterwards (see the root conftest).
from pytest_ssllottery.suite.resources import resolve_suite

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.slow

CLASSES = (1, 6, 11, 13)  # all four are ImageNet-R classes; 6, 11 and 13 are ImageNet-A classes
A_CLASSES = (6, 11, 13)
VAL_LABELS = [13, 1, 6, 11, 6, 1, 13, 11]  # val_00000001 … val_00000008
REAL_SETS = [[], [1], [6, 5], [11], [], [1, 2], [13], [11, 12]]  # two empty sets: 6 scored
HEAD_LAYOUTS = {"dino": "dino", "swav": "swav", "simsiam": "lincls", "moco_v3": "lincls"}
EVAL = ("val", "real", "v2", "rendition", "sketch", "adversarial")


def toml_value(value: Any) -> str:
    """A TOML literal for a str, bool, number, list or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def dump_toml(data: dict[str, Any]) -> str:
    """Enough of a TOML writer for a suite file: top-level keys, tables, arrays of tables."""
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += [f"[{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    for name, tables in data.items():
        if isinstance(tables, list) and tables and isinstance(tables[0], dict):
            for table in tables:
                lines += [f"[[{name}]]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def derive_suite(root: Path) -> tuple[Path, dict[str, Any]]:
    """The bundled suite, made runnable on tiny fabricated data under ``root/data``."""
    data = tomllib.loads(resolve_suite("imagenet-variants").read_text())
    data["preprocessing"] |= {"resize": 16, "crop": 16}
    data["suite"]["bootstrap_resamples"] = 50
    for dataset in data["datasets"]:
        dataset["options"] = dataset.get("options", {}) | {"expected_count": 0, "require_all_classes": False}
        if dataset["loader"] == "imagenet-real":
            dataset["options"]["labels"] = "real.json"
    for method in data["methods"]:
        method["arch"] = "shapes_resnet"
        method.pop("sha256", None)  # fabricated files have other hashes
        method["probe"] = method.get("probe", {}) | {"train_per_class": 3, "epochs": 10}
        if method["name"] in HEAD_LAYOUTS:
            method["probe"]["kind"] = "official-head"
    path = root / "imagenet-variants.toml"
    path.write_text(dump_toml(data))
    return path, data


def fabricate_data(root: Path, suite: dict[str, Any]) -> None:
    """Every dataset of the suite in its distributed layout, and every checkpoint in its official layout."""
    data = root / "data"
    wnid_folders(data / "imagenet" / "train", CLASSES, 4, seed=1)
    flat_val(data / "imagenet" / "val", VAL_LABELS)
    devkit(data / "imagenet" / "ILSVRC2012_devkit_t12.tar.gz", VAL_LABELS)
    real_json(data / "real.json", REAL_SETS)
    v2_folders(data / "imagenetv2" / "imagenetv2-matched-frequency-format-val", CLASSES, 2)
    wnid_folders(data / "imagenet-r", CLASSES, 2, name="{k}.jpg", seed=2)
    wnid_folders(data / "sketch", CLASSES, 2, seed=3)
    write_corrupt(data / "sketch" / "n01443537" / "n01443537_truncated.JPEG")
    wnid_folders(data / "imagenet-a", A_CLASSES, 2, name="{k}.jpg", seed=4)
    for seed, method in enumerate(suite["methods"]):
        state = backbone_state(100 + seed, "shapes_resnet")
        save_checkpoint(data / "checkpoints" / method["checkpoint"], state, method["layout"])
        if method["name"] in HEAD_LAYOUTS:
            weight, bias = torch.randn(1000, 64), torch.randn(1000)
            official_head(data / "checkpoints" / method["head_checkpoint"], weight, bias, HEAD_LAYOUTS[method["name"]])


@pytest.fixture
def derived(pytester: pytest.Pytester) -> tuple[Path, dict[str, Any]]:
    path, suite = derive_suite(pytester.path)
    fabricate_data(pytester.path, suite)
    return path, suite


def run(pytester: pytest.Pytester, suite: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--ssl-suite",
        str(suite),
        "--ssl-data-root",
        "data",
        "--ssl-device",
        "cpu",
        "--ssl-workers",
        "0",
        "-p",
        "no:cacheprovider",
        *args,
    )


def test_collects_every_method_and_dataset_with_the_gpu_marker(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    path, suite = derived
    result = run(pytester, path, "--collect-only", "-q", "-m", "gpu")
    names = [m["name"] for m in suite["methods"]]
    result.stdout.fnmatch_lines([f"imagenet-variants::{n}::{d}" for n in names[:1] for d in EVAL])
    result.stdout.fnmatch_lines([f"{len(names) * (len(EVAL) + 1) + 1} tests collected*"])


def test_whole_suite_runs_end_to_end(pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]) -> None:
    path, suite = derived
    names = [m["name"] for m in suite["methods"]]
    result = run(pytester, path, "--ssl-skip-corrupt", "--ssl-update-baselines", "--ssl-report-json", "report.json")
    result.assert_outcomes(passed=len(names) * (len(EVAL) + 1) + 1)
    baseline = json.loads((pytester.path / "baselines" / "imagenet-variants.json").read_text())
    cells = baseline["cells"]
    assert sorted(cells) == sorted(f"{m}::{d}" for m in names for d in EVAL)
    scored = {"val": 8, "real": 6, "v2": 8, "rendition": 8, "sketch": 8, "adversarial": 6}
    for name in names:
        for dataset, n in scored.items():
            assert cells[f"{name}::{dataset}"]["n"] == n, (name, dataset)
        assert cells[f"{name}::sketch"]["skipped"] == 1  # the truncated JPEG, counted
        assert cells[f"{name}::val"]["skipped"] == 0
    assert sorted(baseline["aggregates"]) == sorted(names)
    assert baseline["aggregates"]["dino"]["n"] == [8, 6, 8, 8, 8, 6]
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["schema_version"] >= 1
    # ReaL is the val images under other labels: its features come from val's cache entry, so each method has
    # one entry per image set (train subset, val = ReaL, V2, R, Sketch, A); official heads need no train features.
    features = list((pytester.path / ".ssl_cache" / "features").rglob("*.npz"))
    assert len(features) == len(names) * 6 - len(HEAD_LAYOUTS)
    again = run(pytester, path, "--ssl-skip-corrupt")
    again.assert_outcomes(passed=len(names) * (len(EVAL) + 1) + 1)


def test_corrupt_image_fails_its_item_without_the_flag(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = derived
    result = run(pytester, path, "--ssl-update-baselines", "-k", "dino and sketch")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot decode image *n01443537_truncated.JPEG*--ssl-skip-corrupt*"])


def test_missing_dataset_says_where_it_looked(pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]) -> None:
    path, _ = derived
    result = run(pytester, path, "--ssl-update-baselines", "-k", "dino and v2", "--ssl-dataset-path", "v2=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dataset 'v2': nothing at *nowhere*"])


def test_missing_data_root_is_one_usage_error_not_one_failure_per_item(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = derived
    result = pytester.runpytest("--ssl-suite", str(path), "--ssl-device", "cpu", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*suite 'imagenet-variants' reads its datasets under a data root, and none was given: pass --ssl-data-root*"]
    )
    assert "FAILED" not in result.stdout.str()
    assert "DatasetError" not in result.stdout.str()


def test_official_head_is_recorded_in_the_provenance(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    from pytest_ssllottery.checkpoints.io import sha256_of

    path, suite = derived
    run(pytester, path, "--ssl-update-baselines", "-k", "dino and val").assert_outcomes(passed=1)
    head = next(m for m in suite["methods"] if m["name"] == "dino")["head_checkpoint"]
    cells = json.loads((pytester.path / "baselines" / "imagenet-variants.json").read_text())["cells"]
    assert cells["dino::val"]["provenance"]["head_checkpoint_sha256"] == sha256_of(
        pytester.path / "data" / "checkpoints" / head
    )


def test_official_head_override_without_heads_is_one_usage_error(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    path, suite = derived
    headless = [m["name"] for m in suite["methods"] if not m.get("head_checkpoint")]
    result = run(pytester, path, "--ssl-probe", "kind=official-head")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*probe kind 'official-head' needs the released linear head*{', '.join(headless)} of suite*"]
    )
    assert "FAILED" not in result.stdout.str()
    run(pytester, path, "--ssl-probe", "kind=official-head", "--ssl-update-baselines", "-k", "swav and val")


def test_one_decode_feeds_every_planned_method_of_a_geometry(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from pytest_ssllottery.compute.engine import Engine
    from pytest_ssllottery.compute.prepare import prepare_suite
    from pytest_ssllottery.compute.preprocessing import geometry
    from pytest_ssllottery.datasets.sources import FileSource
    from pytest_ssllottery.suite.settings import RunSettings

    path, _ = derived
    suite = prepare_suite(path)

    def engine(cache: str) -> Engine:
        settings = RunSettings(cache_dir=pytester.path / cache, data_root=pytester.path / "data", skip_corrupt=True)
        return Engine(suite, settings)

    decodes: list[str] = []
    original = FileSource.open

    def counted(self: FileSource, index: int):  # type: ignore[no-untyped-def]
        decodes.append(self.files[index])
        return original(self, index)

    monkeypatch.setattr(FileSource, "open", counted)
    grouped = engine("grouped")
    grouped.plan([m.name for m in suite.methods])
    moco = suite.method("moco_v2")
    v2 = grouped.dataset("v2")
    decodes.clear()
    grouped.features(moco, v2)
    assert len(decodes) == len(v2)  # one pass over V2 ...
    peers = [m for m in suite.methods if geometry(m.preprocessing) == geometry(moco.preprocessing)]
    assert len(peers) > 2
    for method in peers:  # ... stored every bilinear method's features (SwAV's other std included)
        assert grouped.cache.has("features", grouped.feature_key(method, v2)), method.name
    dino = suite.method("dino")
    assert not grouped.cache.has("features", grouped.feature_key(dino, v2))  # bicubic: its own decode

    alone = engine("alone")  # no plan: one decode per method, the same numbers
    for method in (moco, suite.method("swav")):
        np.testing.assert_array_equal(
            alone.features(method, alone.dataset("v2"))[0].features, grouped.features(method, v2)[0].features
        )


def test_a_decode_pass_computes_each_distinct_entry_once(
    pytester: pytest.Pytester, derived: tuple[Path, dict[str, Any]]
) -> None:
    """A method and its @knn variant read the same features: one pass computes them once, also on train."""
    from dataclasses import replace

    from pytest_ssllottery.compute.engine import Engine
    from pytest_ssllottery.compute.prepare import prepare_suite
    from pytest_ssllottery.compute.preprocessing import geometry
    from pytest_ssllottery.suite.parse import protocol_variants
    from pytest_ssllottery.suite.settings import RunSettings

    path, _ = derived
    base = prepare_suite(path)
    suite = replace(base, methods=base.methods + protocol_variants(base.methods, ("knn",)))
    settings = RunSettings(cache_dir=pytester.path / "cache", data_root=pytester.path / "data", skip_corrupt=True)
    engine = Engine(suite, settings)
    engine.plan([m.name for m in suite.methods])
    moco = suite.method("moco_v2")
    for dataset in (engine.dataset("v2"), engine.train_dataset(moco)):
        peers = engine.decode_peers(moco, dataset)
        keys = [engine.feature_key(m, dataset) for m in peers]
        assert len(keys) == len(set(keys)), dataset.name
        assert engine.feature_key(moco, dataset) not in keys
        assert "moco_v2@knn" not in [m.name for m in peers]
        same_geometry = [m for m in suite.methods if geometry(m.preprocessing) == geometry(moco.preprocessing)]
        readers = [m for m in same_geometry if dataset.name != suite.train or m.probe.kind != "official-head"]
        expected = {
            engine.feature_key(m, dataset) for m in readers if engine.train_dataset(m) is engine.train_dataset(moco)
        }
        assert {*keys, engine.feature_key(moco, dataset)} == expected, dataset.name
