"""Settings declared once: pytest and the CLI take the same flags and resolve them to the same Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ssllottery.cli import _parser
from pytest_ssllottery.errors import SettingsError
from pytest_ssllottery.suite.flags import FLAGS, flag
from pytest_ssllottery.suite.settings import Invocation, accept_command, resolve_settings

EXAMPLES = {
    "text": "cpu",
    "path": "somewhere",
    "int": "3",
    "float": "0.5",
    "append": "val=elsewhere",
    "choice": "significant",
}
VALUES = {
    "suite": "shapes",
    "device": "cpu",
    "dataset_path": "val=elsewhere",
    "dataset_option": "val.seed=1",
    "probe": "epochs=5",
    "alpha": "0.1",
    "decode": "gpu",
}


def _cli_argv(name: str) -> list[str]:
    declared = flag(name)
    if declared.kind == "switch":
        return [declared.cli_flags[0]]
    return [declared.cli_flags[0], VALUES.get(name, EXAMPLES[declared.kind])]


@pytest.mark.parametrize("declared", [f for f in FLAGS if f.scope == "both"], ids=lambda f: f.name)
def test_ssllottery_run_accepts_every_flag_pytest_does(declared) -> None:
    argv = ["run", "--suite", "shapes"] + ([] if declared.name == "suite" else _cli_argv(declared.name))
    args = _parser().parse_args(argv)
    assert getattr(args, declared.name) not in (None, [], False)


def test_pytest_only_flags_are_the_gate_baseline_and_timing_ones() -> None:
    only = {f.name for f in FLAGS if f.scope == "pytest"}
    assert only == {"baselines", "update_baselines", "gate", "margin", "sampling_factor", "benchmark"}
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--suite", "shapes", "--update-baselines"])


def test_cli_and_pytest_values_resolve_to_the_same_settings(tmp_path: Path) -> None:
    flags = ["--device", "cpu", "--dataset-option", "val.seed=1", "--probe", "epochs=5", "--alpha", "0.1"]
    args = _parser().parse_args(["run", "--suite", "shapes", *flags, "--cache-dir", "c", "--json", "r.json", "-q"])
    invocation = Invocation(tmp_path, tmp_path)
    from_cli = resolve_settings({f.name: getattr(args, f.name, None) for f in FLAGS}, invocation)
    pytest_values = {
        "suite": "shapes",
        "device": "cpu",
        "dataset_option": ["val.seed=1"],
        "probe": ["epochs=5"],
        "alpha": 0.1,
        "cache_dir": "c",
        "report_json": "r.json",
    }
    from_pytest = resolve_settings(pytest_values, invocation)
    assert from_cli.run == from_pytest.run
    assert from_cli.overrides == from_pytest.overrides
    assert from_cli.report == from_pytest.report
    assert from_cli.run.cache_dir == tmp_path / "c"
    assert from_cli.overrides.dataset_options == {"val": {"seed": 1}}
    assert from_cli.overrides.gate == {"alpha": 0.1}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"device": "tpu"}, "--ssl-device=tpu: expected auto, cpu, cuda or cuda:N"),
        ({"batch_size": 0}, "--ssl-batch-size=0: expected a positive number"),
        ({"alpha": 2.0}, "--ssl-alpha=2.0: expected a number between 0 and 1"),
        ({"margin": -1.0}, "--ssl-margin=-1.0: expected a number >= 0"),
        ({"dataset_path": ["val"]}, "--ssl-dataset-path 'val': expected NAME=PATH"),
        ({"dataset_option": ["seed=1"]}, "--ssl-dataset-option seed=...: expected NAME.KEY=VALUE"),
        ({"probe": ["epochs"]}, "--ssl-probe 'epochs': expected KEY=VALUE"),
        ({"data_root": "missing"}, "missing: no such folder"),
        ({"suite": "no-such-suite"}, "--ssl-suite=no-such-suite: unknown suite"),
        ({"decode": "gpu"}, "--ssl-decode=gpu decodes with nvjpeg on a CUDA device, but the device is cpu"),
    ],
)
def test_invalid_values_are_settings_errors(tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("[", r"\[").replace(".", r"\.")):
        resolve_settings({"suite": "shapes", "device": "cpu", **values}, Invocation(tmp_path, tmp_path))


def test_defaults_live_in_the_rootdir_and_fall_back_to_the_bundled_baselines(tmp_path: Path) -> None:
    settings = resolve_settings({"suite": "shapes", "device": "cpu"}, Invocation(tmp_path / "sub", tmp_path))
    assert settings.run.cache_dir == tmp_path / ".ssl_cache"
    assert settings.baselines.path == tmp_path / "baselines" / "shapes.json"
    assert settings.baselines.fallback is not None
    assert settings.baselines.fallback.name == "shapes.json"


def test_accept_command_repeats_the_run_flags_not_the_selection() -> None:
    args = ["--ssl-suite", "x", "--ssl-data-root", "/d a", "-k", "foo", "--ssl-update-baselines", "tests/x.py"]
    args += ["--ssl-probe=kind=linear", "--ssl-trust-checkpoints", "-p", "no:cacheprovider", "-q"]
    assert accept_command(args, "x") == (
        "pytest --ssl-suite=x --ssl-data-root='/d a' --ssl-probe=kind=linear --ssl-trust-checkpoints "
        "-p no:cacheprovider --ssl-update-baselines"
    )


def test_pytest_registers_every_declared_flag(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for declared in FLAGS:
        result.stdout.fnmatch_lines([f"*{declared.pytest_flag}*"])
