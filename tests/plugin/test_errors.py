"""Bad input gives a clear error that names the flag, file or key, and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest


def _usage(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(patterns))


def test_unknown_suite_name_lists_the_available_suites(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ssl-suite", "no-such-suite")
    _usage(result, "*--ssl-suite=no-such-suite: unknown suite. Available suites: *shapes*ssl_suite_dirs*")


def test_missing_suite_file(pytester: pytest.Pytester) -> None:
    _usage(
        pytester.runpytest("--ssl-suite", "nowhere/suite.toml"), "*--ssl-suite=nowhere/suite.toml: no such suite file*"
    )


def test_suite_found_by_name_in_ini_folder(pytester: pytest.Pytester, tiny: Path) -> None:
    folder = pytester.path / "my_suites"
    folder.mkdir()
    tiny.rename(folder / "tiny.toml")
    pytester.makeini("[pytest]\nssl_suite_dirs = my_suites\n")
    result = pytester.runpytest("--ssl-suite", "tiny", "--ssl-data-root", "data", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["9 tests collected*"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("margin = 1.0", "margin = 'wide'"),
            "*tiny.toml: key `gate.margin`: expected a number >= 0, found 'wide' (str)",
        ),
        (("margin = 1.0", "margn = 1.0"), "*tiny.toml: unknown key `gate.margn`; expected one of: *margin*"),
        (
            ('reference = "val"', 'reference = "vall"'),
            "*key `suite.reference`: expected the name of one of the ??datasets?? (train, val, shifted, subset), "
            "found 'vall'*",
        ),
        (
            ('contract = "subset"', 'contract = "partial"'),
            "*key `datasets[[]3[]].contract`: expected one of 'full', 'subset', 'multilabel', found 'partial'*",
        ),
        (('name = "beta"', 'name = "alpha"'), "*??methods?? name 'alpha' appears twice; names must be unique*"),
        (
            ('name = "beta"', 'name = "ranking"'),
            "*key `methods[[]1[]].name`: expected a non-empty name without*other than 'ranking', found 'ranking'*",
        ),
        (
            ("schema_version = 1", "schema_version = 7"),
            "*key `schema_version`: expected 1 (this version of pytest-ssllottery), found 7*",
        ),
        (("[gate]", "[gate"), "*tiny.toml: not valid TOML*"),
    ],
)
def test_suite_schema_errors(pytester: pytest.Pytester, tiny: Path, edit: tuple[str, str], message: str) -> None:
    text = tiny.read_text()
    assert edit[0] in text
    tiny.write_text(text.replace(edit[0], edit[1], 1))
    _usage(pytester.runpytest("--ssl-suite", str(tiny), "--ssl-data-root", "data"), message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ssl-device", "tpu"), "*--ssl-device=tpu: expected auto, cpu, cuda or cuda:N*"),
        (("--ssl-data-root", "missing"), "*--ssl-data-root=*missing: no such folder*"),
        (("--ssl-dataset-path", "val"), "*--ssl-dataset-path 'val': expected NAME=PATH*"),
        (("--ssl-batch-size", "0"), "*--ssl-batch-size=0: expected a positive number*"),
        (("--ssl-alpha", "2"), "*--ssl-alpha=2.0: expected a number between 0 and 1*"),
    ],
)
def test_flag_errors(pytester: pytest.Pytester, tiny: Path, args: tuple[str, ...], message: str) -> None:
    _usage(pytester.runpytest("--ssl-suite", str(tiny), *args), message)


def test_missing_checkpoint_is_one_usage_error_with_the_path(run_tiny, tiny: Path) -> None:
    (tiny.parent / "data" / "checkpoints" / "beta.pth").unlink()
    result = run_tiny("-k", "beta and val")
    _usage(
        result,
        "*input(s) of the selected items are missing; no item was run:",
        "*method 'beta': checkpoint *beta.pth does not exist",
        "*Checkpoints are looked up under --ssl-checkpoint-dir*",
    )
    run_tiny("-k", "alpha and val", "--ssl-update-baselines").assert_outcomes(passed=1, deselected=8)


def test_checkpoint_that_does_not_fit_names_the_keys(run_tiny, tiny: Path) -> None:
    import torch

    torch.save(
        {"state_dict": {"module.encoder_q.conv1.weight": torch.zeros(1)}},
        tiny.parent / "data" / "checkpoints" / "beta.pth",
    )
    result = run_tiny("-k", "beta and val")
    result.stdout.fnmatch_lines(
        ["*CheckpointError: *beta.pth: checkpoint does not fit the architecture*Missing or mis-shaped: conv1.weight*"]
    )


def test_untrusted_pickle_needs_the_trust_flag(run_tiny, tiny: Path) -> None:
    import fractions

    import torch
    from fabricate import backbone_state

    state = {k: v for k, v in backbone_state(5).items() if not k.startswith("fc.")}
    torch.save(
        {"state_dict": state, "extra": fractions.Fraction(1, 3)}, tiny.parent / "data" / "checkpoints" / "beta.pth"
    )
    refused = run_tiny("-k", "beta and val")
    refused.stdout.fnmatch_lines(
        [
            "*CheckpointError: checkpoint *beta.pth pickles objects that weights_only loading refuses "
            "(global fractions.Fraction)*--ssl-trust-checkpoints*"
        ]
    )
    trusted = run_tiny("-k", "beta and val", "--ssl-trust-checkpoints", "--ssl-update-baselines")
    trusted.assert_outcomes(passed=1, deselected=8)


def test_missing_dataset_file_is_one_usage_error_naming_the_dataset(run_tiny, tiny: Path) -> None:
    (tiny.parent / "data" / "shifted.npz").unlink()
    result = run_tiny("-k", "alpha and shifted")
    _usage(result, "*dataset 'shifted': nothing at *shifted.npz*")
    run_tiny("-k", "alpha and val", "--ssl-update-baselines").assert_outcomes(passed=1, deselected=8)


def test_dataset_path_override(run_tiny, tiny: Path) -> None:
    moved = tiny.parent / "elsewhere.npz"
    (tiny.parent / "data" / "shifted.npz").rename(moved)
    result = run_tiny("-k", "alpha and shifted", "--ssl-dataset-path", f"shifted={moved}", "--ssl-update-baselines")
    result.assert_outcomes(passed=1, deselected=8)


def test_no_data_root_says_which_flag(pytester: pytest.Pytester, tiny: Path) -> None:
    result = pytester.runpytest("--ssl-suite", str(tiny), "-k", "alpha and val")
    _usage(
        result,
        "*suite 'tiny' reads its datasets under a data root, and none was given: pass --ssl-data-root=/path/to/data "
        "(or --ssl-dataset-path NAME=PATH) for val (val.npz), train (train.npz)",
    )


def test_command_line_overrides_of_probe_and_dataset_options(run_tiny, pytester: pytest.Pytester) -> None:
    result = run_tiny("-k", "alpha and val", "--ssl-probe", "train_per_class=5", "--ssl-update-baselines")
    result.assert_outcomes(passed=1, deselected=8)
    import json

    entry = json.loads((pytester.path / "baselines" / "tiny.json").read_text())["cells"]["alpha::val"]
    assert entry["provenance"]["probe"]["train_per_class"] == 5
    bad_key = run_tiny("--ssl-probe", "learning_rate=3")
    _usage(bad_key, "*--ssl-probe: unknown key `probe.learning_rate`; expected one of: *lr*")
    bad_type = run_tiny("--ssl-probe", "epochs=many")
    _usage(bad_type, "*key `probe.epochs`: expected an integer >= 1, found 'many' (str)*")
    unknown_dataset = run_tiny("--ssl-dataset-option", "vall.expected_count=0")
    _usage(unknown_dataset, "*dataset option for 'vall', but the suite's datasets are train, val, shifted, subset*")
    unknown_option = run_tiny("-k", "alpha and val", "--ssl-dataset-option", "val.colour=1")
    _usage(
        unknown_option, "*--ssl-dataset-option val.colour=1: unknown option 'colour' for dataset 'val' (loader 'npz')*"
    )


def test_header_names_suite_device_baselines_and_cache(run_tiny) -> None:
    result = run_tiny("--collect-only")
    result.stdout.fnmatch_lines(
        [
            "ssl-lottery: suite tiny (*tiny.toml): 2 methods x 3 datasets, reference val, gate absolute, device cpu",
            "ssl-lottery: baselines baselines*tiny.json, cache *.ssl_cache",
        ]
    )
