"""Nothing lost, nothing invented: concurrent updates, broken models, pins, interruptions, bad stored values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pytest_ssllottery.checkpoints.io import sha256_of


def _baselines(pytester: pytest.Pytester) -> Path:
    return pytester.path / "baselines" / "tiny.json"


def _usage(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(patterns))


@pytest.fixture
def recorded(run_tiny, pytester: pytest.Pytester) -> Path:
    run_tiny("--ssl-update-baselines").assert_outcomes(passed=9)
    return _baselines(pytester)


def _set(path: Path, section: str, key: str, field: str, value: object) -> None:
    data = json.loads(path.read_text())
    data[section][key][field] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


# -- 1. concurrent updates ------------------------------------------------------------------------------------
def test_two_concurrent_updates_of_different_items_both_land(recorded: Path, pytester: pytest.Pytester) -> None:
    for key in ("alpha::val", "beta::val"):
        _set(recorded, "cells", key, "accuracy", 1.0)
    base = [sys.executable, "-m", "pytest", "--ssl-suite", "tiny.toml", "--ssl-data-root", "data"]
    base += ["-p", "no:cacheprovider", "--ssl-update-baselines", "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    runs = [
        subprocess.Popen(
            [*base, "-k", f"{method} and val"],
            cwd=pytester.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for method in ("alpha", "beta")
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    cells = json.loads(recorded.read_text())["cells"]
    assert cells["alpha::val"]["accuracy"] != 1.0, "the alpha update was lost"
    assert cells["beta::val"]["accuracy"] != 1.0, "the beta update was lost"
    assert set(cells) == {f"{m}::{d}" for m in ("alpha", "beta") for d in ("val", "shifted", "subset")}


def test_update_removes_temporary_files_that_killed_writers_left(recorded: Path, run_tiny) -> None:
    leftover = recorded.parent / f".{recorded.name}.k1ll3d.tmp"
    leftover.write_text('{"half": ')
    run_tiny("--ssl-update-baselines", "-k", "alpha and val").assert_outcomes(passed=1, deselected=8)
    assert not leftover.exists()
    json.loads(recorded.read_text())  # the baseline itself is whole


def test_robustness_fits_are_stored_rounded(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path, {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")})
    args = ("--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider", "--ssl-update-baselines")
    pytester.runpytest(*args).assert_outcomes(passed=13)
    fits = json.loads((pytester.path / "baselines" / "tiny.json").read_text())["robustness_fits"]
    assert set(fits) == {"shifted", "subset"}
    for fit in fits.values():
        for value in (fit["slope"], fit["intercept"], fit["r_squared"]):
            assert value == round(value, 6)


# -- 2. non-finite results ------------------------------------------------------------------------------------
def test_nan_weights_are_an_error_not_a_baseline(run_tiny, tiny: Path, pytester: pytest.Pytester) -> None:
    path = tiny.parent / "data" / "checkpoints" / "beta.pth"
    checkpoint = torch.load(path, weights_only=False)  # our own fabricated file (it pickles a Namespace)
    checkpoint["teacher"]["module.backbone.conv1.weight"].fill_(float("nan"))
    torch.save(checkpoint, path)
    result = run_tiny("--ssl-update-baselines", "-k", "beta and val")
    result.assert_outcomes(failed=1, deselected=8)
    result.stdout.fnmatch_lines(
        ["*NonFiniteError: method 'beta' on dataset 'train': features: 90 of 90 rows hold NaN or infinite values*"]
    )
    assert result.ret != 0
    stored = _baselines(pytester)
    assert not stored.exists() or "beta::val" not in json.loads(stored.read_text())["cells"]
    cached = list((pytester.path / ".ssl_cache" / "features").rglob("*.npz"))
    assert len(cached) == 0, "non-finite features were cached"


# -- 3. pins on a warm cache ----------------------------------------------------------------------------------
def test_sha256_pin_is_checked_on_a_warm_cache(run_tiny, tiny: Path) -> None:
    checkpoint = tiny.parent / "data" / "checkpoints" / "alpha.pth"
    text = tiny.read_text()
    pinned = text.replace('checkpoint = "alpha.pth"', f'checkpoint = "alpha.pth"\nsha256 = "{sha256_of(checkpoint)}"')
    tiny.write_text(pinned)
    run_tiny("-k", "alpha and val", "--ssl-update-baselines").assert_outcomes(passed=1, deselected=8)
    tiny.write_text(pinned.replace(sha256_of(checkpoint), "0" * 64))
    warm = run_tiny("-k", "alpha and val")
    warm.assert_outcomes(failed=1, deselected=8)
    warm.stdout.fnmatch_lines(
        ["*CheckpointError: method 'alpha': checkpoint *alpha.pth has sha256 *the suite pins 000*"]
    )


# -- 4. stored values out of range ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "key", "field", "value", "message"),
    [
        ("cells", "alpha::val", "accuracy", -5, "*`cells.alpha::val.accuracy` is -5, expected an accuracy in percent*"),
        ("cells", "beta::val", "accuracy", 150, "*`cells.beta::val.accuracy` is 150, expected an accuracy*"),
        ("cells", "beta::val", "n", 0, "*`cells.beta::val.n` is 0, expected a positive integer*"),
        ("cells", "beta::val", "correct", 61, "*`cells.beta::val.correct` is 61, expected an integer between 0 and*"),
        ("aggregates", "alpha", "geometric_mean", 101, "*`aggregates.alpha.geometric_mean` is 101*"),
    ],
)
def test_baseline_values_out_of_range_are_a_usage_error(
    recorded: Path, run_tiny, section: str, key: str, field: str, value: object, message: str
) -> None:
    _set(recorded, section, key, field, value)
    before = recorded.read_bytes()
    _usage(run_tiny(), message)
    assert recorded.read_bytes() == before


# -- 5. interrupted updates -----------------------------------------------------------------------------------
def test_ctrl_c_during_an_update_writes_nothing(recorded: Path, run_tiny, pytester: pytest.Pytester) -> None:
    for key in ("alpha::val", "alpha::shifted"):
        _set(recorded, "cells", key, "accuracy", 1.0)
    before = recorded.read_bytes()
    pytester.makeconftest(
        """
        def pytest_runtest_call(item):
            if item.nodeid.endswith("alpha::aggregate"):
                raise KeyboardInterrupt
        """
    )
    result = run_tiny("--ssl-update-baselines", subprocess=True)  # in-process, pytester re-raises the Ctrl-C
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*The run was interrupted: no baseline was written, the file is as it was*"])
    assert recorded.read_bytes() == before


# -- 6. everything checked at start-up ------------------------------------------------------------------------
def test_unknown_loader_is_a_usage_error_naming_file_and_dataset(run_tiny, tiny: Path) -> None:
    tiny.write_text(
        tiny.read_text().replace('loader = "npz"\nlocation = "shifted.npz"', 'loader = "nzp"\nlocation = "shifted.npz"')
    )
    _usage(
        run_tiny(),
        "*tiny.toml: ??datasets?? table number 3 ('shifted'): dataset 'shifted' has unknown loader 'nzp'; "
        "expected one of: *npz*. Did you mean 'npz'?",
    )


def test_bad_dataset_option_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    extra = '[[datasets]]\nname = "v2"\nloader = "imagenet-v2"\nlocation = "v2"\n'
    suite = tiny_suite(pytester.path, extra_datasets=extra)
    result = pytester.runpytest("--ssl-suite", str(suite), "--ssl-dataset-option", "v2.variant=top-image")
    _usage(
        result,
        "*--ssl-dataset-option v2.variant=top-image: option 'variant' of dataset 'v2' must be one of "
        "'matched-frequency', *'top-images'*, found 'top-image' (str)",
    )
    typo = pytester.runpytest("--ssl-suite", str(suite), "--ssl-dataset-option", "v2.expected_cont=5")
    _usage(
        typo, "*unknown option 'expected_cont' for dataset 'v2' (loader 'imagenet-v2')*Did you mean 'expected_count'?"
    )


def test_misspelt_aggregate_weight_is_a_usage_error(run_tiny, tiny: Path) -> None:
    tiny.write_text(tiny.read_text() + "\n[aggregate.weights]\nval = 1.0\nshifted = 1.0\nsubst = 1.0\nsubset = 1.0\n")
    _usage(run_tiny(), "*unknown key `aggregate.weights.subst`; expected one of: shifted, subset, val. Did you mean*")


def test_all_zero_aggregate_weights_are_a_usage_error(run_tiny, tiny: Path) -> None:
    tiny.write_text(tiny.read_text() + "\n[aggregate.weights]\nval = 0\nshifted = 0\nsubset = 0\n")
    _usage(run_tiny(), "*key `aggregate.weights`: expected at least one positive weight*")


def test_unknown_dataset_path_name_is_a_usage_error(run_tiny) -> None:
    _usage(
        run_tiny("--ssl-dataset-path", "shifed=elsewhere.npz"),
        "*--ssl-dataset-path: a path for 'shifed', but the suite's datasets are train, val, shifted, subset. "
        "Did you mean 'shifted'?",
    )


# -- 7. disk and permission errors ----------------------------------------------------------------------------
def test_unusable_cache_folder_is_one_usage_error(run_tiny, pytester: pytest.Pytester) -> None:
    (pytester.path / "afile").write_text("not a folder")
    result = run_tiny("--ssl-cache-dir", "afile/cache")
    _usage(result, "*cannot write to the cache folder *afile/cache (*); check the folder, or point --ssl-cache-dir*")
    assert "Traceback" not in result.stderr.str()


def test_failed_baseline_write_still_writes_the_reports(run_tiny, pytester: pytest.Pytester) -> None:
    (pytester.path / "blocked").write_text("a file where a folder should be")
    result = run_tiny("--ssl-update-baselines", "--ssl-baselines", "blocked/tiny.json", "--ssl-report-json", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*error: cannot write baseline file *blocked/tiny.json*nothing was changed*"])
    report = json.loads((pytester.path / "r.json").read_text())
    assert any("cannot write baseline file" in note for note in report["notes"])


# -- 10. the accept command -----------------------------------------------------------------------------------
def test_the_printed_accept_command_works_as_printed(recorded: Path, run_tiny, pytester: pytest.Pytester) -> None:
    import shlex

    _set(recorded, "cells", "beta::shifted", "accuracy", 99.0)
    failed = run_tiny()
    failed.assert_outcomes(failed=1, passed=8)
    line = next(line for line in failed.stdout.lines if line.startswith("To accept the new value: "))
    argv = shlex.split(line.removeprefix("To accept the new value: "))
    assert argv[0] == "pytest"
    assert argv[-1] == "tiny::beta::shifted"
    accepted = pytester.runpytest(*argv[1:])
    accepted.assert_outcomes(passed=1, deselected=8)
    assert json.loads(recorded.read_text())["cells"]["beta::shifted"]["accuracy"] != 99.0
    run_tiny().assert_outcomes(passed=9)


def test_accept_command_repeats_every_setting_of_the_run(recorded: Path, run_tiny) -> None:
    _set(recorded, "cells", "beta::shifted", "accuracy", 99.0)
    _set(recorded, "cells", "beta::shifted", "correct", 59)
    result = run_tiny("--ssl-baselines", "baselines", "--ssl-cache-dir=cache dir", "--ssl-batch-size", "32")
    result.assert_outcomes(failed=1, passed=8)
    result.stdout.fnmatch_lines(
        [
            "To accept the new value: pytest --ssl-suite=* --ssl-data-root=data -p no:cacheprovider "
            "--ssl-baselines=baselines --ssl-cache-dir='cache dir' --ssl-batch-size=32 --ssl-update-baselines "
            "tiny::beta::shifted"
        ]
    )
