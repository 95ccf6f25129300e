"""Suite files: parsing into dataclasses, overrides, and schema errors naming file, key, expected and found."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.parse import load_suite, parse_suite
from pytest_ssllottery.suite.spec import (
    AggregateGate,
    DatasetSpec,
    GateSpec,
    MethodSpec,
    Preprocessing,
    ProbeSpec,
    RankingGate,
)

PATH = Path("/suites/demo.toml")


def full_suite() -> dict[str, Any]:
    """A suite that sets every table, with per-method overrides."""
    return {
        "schema_version": 1,
        "suite": {
            "name": "demo",
            "description": "a demo",
            "reference": "val",
            "train": "train",
            "num_classes": 10,
            "markers": ["gpu"],
            "bootstrap_resamples": 200,
        },
        "preprocessing": {
            "resize": 36,
            "crop": 32,
            "interpolation": "bicubic",
            "mean": [0.5, 0.5, 0.5],
            "std": [0.25, 0.25, 0.25],
        },
        "probe": {
            "optimizer": "sgd",
            "epochs": 30,
            "lr": 0.3,
            "weight_decay": 1e-6,
            "batch_size": 64,
            "schedule": "step",
            "milestones": [10, 20],
            "seed": 3,
        },
        "gate": {
            "margin": 0.5,
            "sampling_factor": 3,
            "mode": "significant",
            "alpha": 0.01,
            "aggregate": {"weighted_average_min": 40, "geometric_mean_min": 30.5},
            "ranking": {"min_kendall_tau": 0.2, "max_lottery_pairs": 3},
        },
        "aggregate": {"datasets": ["val", "shifted"], "weights": "equal"},
        "datasets": [
            {"name": "train", "loader": "npz", "location": "train.npz", "role": "train"},
            {"name": "val", "loader": "npz", "location": "val.npz"},
            {
                "name": "shifted",
                "loader": "npz",
                "location": "shifted.npz",
                "contract": "subset",
                "classes": [0, 2, 5],
                "options": {"split": "a"},
            },
            {"name": "real", "loader": "npz", "location": "real.npz", "contract": "multilabel"},
        ],
        "methods": [
            {"name": "alpha", "arch": "shapes_resnet", "checkpoint": "a.pth"},
            {
                "name": "beta",
                "arch": "shapes_resnet",
                "checkpoint": "b.pth",
                "sha256": "ab" * 32,
                "layout": "moco",
                "source_url": "https://example.org/b.pth",
                "reported_top1": 71.1,
                "preprocessing": {"crop": 28, "normalize": False},
                "probe": {"lr": 0.1, "epochs": 5},
            },
            {
                "name": "gamma",
                "arch": "shapes_resnet",
                "checkpoint": "c.pth",
                "probe": {"kind": "official-head"},
                "head_checkpoint": "head.pth",
                "preprocessing": {"mean": [0.1, 0.2, 0.3]},
            },
        ],
    }


def minimal_suite() -> dict[str, Any]:
    return {
        "suite": {"name": "mini", "reference": "val", "train": "train", "num_classes": 3},
        "datasets": [
            {"name": "train", "loader": "npz", "role": "train"},
            {"name": "val", "loader": "npz", "location": "val.npz"},
            {"name": "other", "loader": "npz", "location": "other.npz"},
        ],
        "methods": [{"name": "m", "arch": "shapes_resnet", "checkpoint": "m.pth"}],
    }


def test_full_suite_parses_suite_level_settings() -> None:
    suite = parse_suite(full_suite(), PATH)
    assert (suite.name, suite.path, suite.description) == ("demo", PATH, "a demo")
    assert (suite.reference, suite.train, suite.num_classes) == ("val", "train", 10)
    assert suite.markers == ("gpu",)
    assert suite.bootstrap_resamples == 200
    assert suite.probe == ProbeSpec(
        optimizer="sgd",
        epochs=30,
        lr=0.3,
        weight_decay=1e-6,
        batch_size=64,
        schedule="step",
        milestones=(10, 20),
        seed=3,
    )
    assert suite.gate == GateSpec(
        margin=0.5,
        sampling_factor=3.0,
        mode="significant",
        alpha=0.01,
        aggregate=AggregateGate(weighted_average_min=40.0, geometric_mean_min=30.5),
        ranking=RankingGate(min_kendall_tau=0.2, max_lottery_pairs=3),
    )
    assert suite.aggregate_datasets == ("val", "shifted")
    assert suite.aggregate_weights == "equal"


def test_full_suite_parses_datasets() -> None:
    suite = parse_suite(full_suite(), PATH)
    assert suite.datasets == (
        DatasetSpec("train", "npz", "train.npz", role="train"),
        DatasetSpec("val", "npz", "val.npz"),
        DatasetSpec("shifted", "npz", "shifted.npz", contract="subset", classes=(0, 2, 5), options={"split": "a"}),
        DatasetSpec("real", "npz", "real.npz", contract="multilabel"),
    )
    assert [d.name for d in suite.eval_datasets] == ["val", "shifted", "real"]
    assert suite.dataset("shifted").classes == (0, 2, 5)


def test_method_without_overrides_inherits_suite_preprocessing_and_probe() -> None:
    suite = parse_suite(full_suite(), PATH)
    alpha = suite.method("alpha")
    assert alpha == MethodSpec(
        "alpha",
        "shapes_resnet",
        "a.pth",
        preprocessing=Preprocessing(
            resize=36, crop=32, interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
        ),
        probe=suite.probe,
    )


def test_method_level_probe_and_preprocessing_override_only_the_keys_given() -> None:
    suite = parse_suite(full_suite(), PATH)
    beta = suite.method("beta")
    assert beta.probe == replace(suite.probe, lr=0.1, epochs=5)
    assert beta.preprocessing == Preprocessing(resize=36, crop=28, interpolation="bicubic", mean=None, std=None)
    assert (beta.sha256, beta.layout, beta.source_url, beta.reported_top1) == (
        "ab" * 32,
        "moco",
        "https://example.org/b.pth",
        71.1,
    )
    gamma = suite.method("gamma")
    assert gamma.preprocessing.mean == (0.1, 0.2, 0.3)
    assert gamma.preprocessing.std == (0.25, 0.25, 0.25)
    assert gamma.probe.kind == "official-head"
    assert gamma.head_checkpoint == "head.pth"


def test_normalize_false_at_suite_level_removes_mean_and_std_for_every_method() -> None:
    data = minimal_suite()
    data["preprocessing"] = {"normalize": False}
    suite = parse_suite(data, PATH)
    assert suite.method("m").preprocessing.mean is None
    assert suite.method("m").preprocessing.std is None


def test_minimal_suite_gets_the_documented_defaults() -> None:
    suite = parse_suite(minimal_suite(), PATH)
    assert suite.probe == ProbeSpec()
    assert suite.method("m").preprocessing == Preprocessing()
    assert Preprocessing().mean == (0.485, 0.456, 0.406)
    assert suite.gate == GateSpec()
    assert (suite.gate.margin, suite.gate.sampling_factor, suite.gate.mode, suite.gate.alpha) == (
        1.0,
        2.0,
        "absolute",
        0.05,
    )
    assert not suite.gate.ranking.active
    assert suite.aggregate_datasets == ("val", "other")
    assert suite.aggregate_weights == "images"
    assert suite.markers == ()
    assert suite.bootstrap_resamples == 1000
    assert suite.description == ""
    assert suite.dataset("train").location == ""
    assert suite.dataset("val").contract == "full"


@pytest.mark.parametrize("weights", ["images", "equal"])
def test_aggregate_weights_by_name(weights: str) -> None:
    data = minimal_suite()
    data["aggregate"] = {"weights": weights}
    assert parse_suite(data, PATH).aggregate_weights == weights


def test_aggregate_weights_table_gives_a_weight_per_aggregate_dataset() -> None:
    data = minimal_suite()
    data["aggregate"] = {"weights": {"val": 2, "other": 0.5}}
    assert parse_suite(data, PATH).aggregate_weights == {"val": 2.0, "other": 0.5}


def test_with_gate_replaces_only_the_given_settings() -> None:
    suite = parse_suite(full_suite(), PATH)
    changed = suite.with_gate(margin=2.0)
    assert changed.gate == replace(suite.gate, margin=2.0)
    assert suite.gate.margin == 0.5


@pytest.mark.parametrize("lookup", ["dataset", "method"])
def test_lookup_of_an_unknown_name_raises_spec_error(lookup: str) -> None:
    suite = parse_suite(minimal_suite(), PATH)
    with pytest.raises(SpecError, match=f"has no {lookup} 'nope'"):
        getattr(suite, lookup)("nope")


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b[1].c`` in nested dicts and lists; ``value=...`` deletes the key."""
    node: Any = data
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is ...:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value


SCHEMA_ERRORS = [
    ("methods[1].probe.lr", "fast", "methods[1].probe.lr", "a number >= 0", "found 'fast' (str)"),
    ("methods[1].probe.lr", -0.5, "methods[1].probe.lr", "a number >= 0", "found -0.5 (float)"),
    ("probe.epochs", 0, "probe.epochs", "an integer >= 1", "found 0 (int)"),
    ("probe.epochs", 2.5, "probe.epochs", "an integer >= 1", "found 2.5 (float)"),
    ("probe.nesterov", "yes", "probe.nesterov", "true or false", "found 'yes' (str)"),
    ("probe.milestones", [10, "x"], "probe.milestones", "a list of int", "found [10, 'x'] (list)"),
    ("probe.optimizer", "adam", "probe.optimizer", "one of 'lbfgs', 'sgd'", "found 'adam' (str)"),
    ("suite.num_classes", True, "suite.num_classes", "an integer >= 2", "found True (bool)"),
    ("suite.num_classes", ..., "suite.num_classes", "an integer >= 2", "add `num_classes = ...` to the [suite] table"),
    ("suite.reference", "nope", "suite.reference", "the name of one of the [[datasets]]", "found 'nope' (str)"),
    ("datasets[2].contract", "partial", "datasets[2].contract", "one of 'full', 'subset', 'multilabel'", "'partial'"),
    ("datasets[1].role", "test", "datasets[1].role", "one of 'train', 'eval'", "found 'test' (str)"),
    ("datasets[2].classes", [0, 1.5], "datasets[2].classes", "a list of int", "found [0, 1.5] (list)"),
    ("datasets[0].loader", ..., "datasets[0].loader", "a string", "add `loader = ...` to [[datasets]] table number 1"),
    ("methods[2].checkpoint", ..., "methods[2].checkpoint", "a string", "to [[methods]] table number 3"),
    (
        "methods[0].preprocessing.interpolation",
        "lanczos",
        "methods[0].preprocessing.interpolation",
        "one of",
        "'lanczos'",
    ),
    ("methods[0].preprocessing.crop", 0, "methods[0].preprocessing.crop", "an integer >= 1", "found 0 (int)"),
    ("preprocessing.mean", [0.5, 0.5], "preprocessing.mean", "three numbers (R, G, B)", "found [0.5, 0.5] (list)"),
    ("preprocessing.std", [0.2, True, 0.2], "preprocessing.std", "a list of float or int", "[0.2, True, 0.2]"),
    ("gate.alpha", 1.5, "gate.alpha", "a number between 0 and 1", "found 1.5 (float)"),
    ("gate.mode", "strict", "gate.mode", "one of 'absolute', 'significant'", "found 'strict' (str)"),
    ("gate.aggregate.weighted_average_min", -1, "gate.aggregate.weighted_average_min", "a number >= 0", "-1"),
    ("gate.ranking.max_lottery_pairs", -2, "gate.ranking.max_lottery_pairs", "an integer >= 0", "found -2 (int)"),
    ("aggregate.datasets", ["val", "train"], "aggregate.datasets", "names of evaluation datasets", "'train'"),
    ("aggregate.weights", "median", "aggregate.weights", "'images', 'equal', or a table", "found 'median' (str)"),
    ("aggregate.weights", {"val": 1}, "aggregate.weights.shifted", "a number >= 0", "it is missing"),
    ("schema_version", 2, "schema_version", "1 (this version of pytest-ssllottery)", "found 2 (int)"),
    ("methods", [], "methods", "one or more [[methods]] tables", "found [] (list)"),
    ("suite", ..., "suite", "a table", "it is missing; add a [suite] table"),
    ("gate", 3, "gate", "a table", "found 3 (int)"),
]


@pytest.mark.parametrize(
    ("where", "value", "key", "expected", "found"), SCHEMA_ERRORS, ids=[f"{e[0]}={e[1]!r}" for e in SCHEMA_ERRORS]
)
def test_schema_error_names_file_key_expectation_and_value(
    where: str, value: Any, key: str, expected: str, found: str
) -> None:
    data = full_suite()
    _set(data, where, value)
    with pytest.raises(SpecError) as info:
        parse_suite(data, PATH)
    message = str(info.value)
    assert message.startswith(f"{PATH}: ")
    assert f"`{key}`" in message
    assert f"expected {expected}" in message
    assert found in message


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("probes", "probes"),
        ("suite.reference_dataset", "suite.reference_dataset"),
        ("methods[1].probe.learning_rate", "methods[1].probe.learning_rate"),
        ("methods[0].checkpoint_path", "methods[0].checkpoint_path"),
        ("datasets[3].label_space", "datasets[3].label_space"),
        ("preprocessing.size", "preprocessing.size"),
        ("gate.ranking.min_tau", "gate.ranking.min_tau"),
        ("gate.aggregate.floor", "gate.aggregate.floor"),
        ("aggregate.weight", "aggregate.weight"),
    ],
)
def test_unknown_key_is_named_with_the_allowed_keys(where: str, key: str) -> None:
    data = full_suite()
    _set(data, where, 1)
    with pytest.raises(SpecError, match=r"unknown key `" + key.replace("[", r"\[").replace("]", r"\]") + "`") as info:
        parse_suite(data, PATH)
    assert str(info.value).startswith(str(PATH))
    assert "expected one of:" in str(info.value)


@pytest.mark.parametrize("table", ["datasets", "methods"])
def test_duplicate_names_raise_spec_error(table: str) -> None:
    data = full_suite()
    data[table].append(copy.deepcopy(data[table][1]))
    name = data[table][1]["name"]
    with pytest.raises(SpecError, match=f"name '{name}' appears twice") as info:
        parse_suite(data, PATH)
    assert str(PATH) in str(info.value)


@pytest.mark.parametrize(
    ("table", "index", "name"),
    [
        ("datasets", 1, "aggregate"),
        ("methods", 0, "ranking"),
        ("methods", 1, "a::b"),
        ("datasets", 2, "with space"),
        ("methods", 2, "a/b"),
        ("datasets", 3, ""),
    ],
)
def test_reserved_or_unsafe_names_are_rejected(table: str, index: int, name: str) -> None:
    data = full_suite()
    data[table][index]["name"] = name
    if table == "datasets" and index == 1:
        data["suite"]["reference"] = name
        data["aggregate"]["datasets"] = ["shifted"]
    with pytest.raises(SpecError, match=rf"`{table}\[{index}\]\.name`: expected a non-empty name"):
        parse_suite(data, PATH)


def test_a_dataset_named_ranking_and_a_method_named_aggregate_are_allowed() -> None:
    data = full_suite()
    data["datasets"][3]["name"] = "ranking"
    data["methods"][0]["name"] = "aggregate"
    suite = parse_suite(data, PATH)
    assert suite.dataset("ranking").contract == "multilabel"
    assert suite.method("aggregate").checkpoint == "a.pth"


def test_train_dataset_must_have_role_train() -> None:
    data = full_suite()
    del data["datasets"][0]["role"]
    with pytest.raises(SpecError, match=r"dataset 'train' is the suite's train split; give it role = \"train\""):
        parse_suite(data, PATH)


def test_official_head_requires_head_checkpoint() -> None:
    data = full_suite()
    del data["methods"][2]["head_checkpoint"]
    with pytest.raises(SpecError, match=r"`methods\[2\]\.head_checkpoint`: expected a path when probe.kind"):
        parse_suite(data, PATH)


def test_official_head_at_suite_level_requires_head_checkpoint_on_each_method() -> None:
    data = minimal_suite()
    data["probe"] = {"kind": "official-head"}
    with pytest.raises(SpecError, match=r"`methods\[0\]\.head_checkpoint`"):
        parse_suite(data, PATH)


def test_load_suite_reads_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'schema_version = 1\n[suite]\nname = "s"\nreference = "val"\ntrain = "train"\nnum_classes = 3\n'
        '[[datasets]]\nname = "train"\nloader = "npz"\nrole = "train"\n'
        '[[datasets]]\nname = "val"\nloader = "npz"\n'
        '[[methods]]\nname = "m"\narch = "shapes_resnet"\ncheckpoint = "m.pth"\n'
        "[methods.probe]\nlr = 0.5\n",
        encoding="utf-8",
    )
    suite = load_suite(path)
    assert suite.path == path
    assert suite.method("m").probe.lr == 0.5
    assert suite.aggregate_datasets == ("val",)


def test_invalid_toml_raises_spec_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[suite]\nname = "unterminated\n', encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML") as info:
        load_suite(path)
    assert str(info.value).startswith(str(path))


def test_missing_suite_file_raises_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the suite file") as info:
        load_suite(tmp_path / "absent.toml")
    assert str(tmp_path / "absent.toml") in str(info.value)


def test_extra_protocols_add_one_variant_per_method() -> None:
    data = full_suite()
    data["suite"]["extra_protocols"] = ["knn"]
    suite = parse_suite(data, PATH)
    primary = [m.name for m in suite.primary_methods]
    variants = [m for m in suite.methods if m.variant_of]
    assert [v.name for v in variants] == [f"{name}@knn" for name in primary]
    for variant in variants:
        base = suite.method(variant.variant_of or "")
        assert variant.probe.kind == "knn"
        assert variant.checkpoint == base.checkpoint
        assert variant.preprocessing == base.preprocessing
        assert variant.control == base.control
    assert suite.extra_protocols == ("knn",)


def test_unknown_protocol_and_at_in_names_are_errors() -> None:
    data = full_suite()
    data["suite"]["extra_protocols"] = ["nearest-centroid"]
    with pytest.raises(SpecError, match="extra_protocols"):
        parse_suite(data, PATH)
    data = full_suite()
    data["methods"][0]["name"] = "dino@knn"
    with pytest.raises(SpecError, match="'@'"):
        parse_suite(data, PATH)
