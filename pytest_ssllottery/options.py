"""Every ``--ssl-*`` flag and ini key, declared once, and the frozen Settings built from them."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .errors import SslLotteryError
from .resources import bundled_baselines_dir, resolve_suite
from .runconfig import RunSettings

GROUP = "ssl-lottery"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def add_options(parser: pytest.Parser) -> None:
    """Register the flags (group "ssl-lottery") and ini keys."""
    group = parser.getgroup(GROUP, "SSL benchmark lottery (pytest-ssllottery)")
    group.addoption(
        "--ssl-suite",
        dest="ssl_suite",
        metavar="NAME|PATH",
        default=None,
        help="Run the suite NAME (bundled, or found in the ssl_suite_dirs ini folders) or the suite TOML file PATH",
    )
    group.addoption(
        "--ssl-data-root",
        dest="ssl_data_root",
        metavar="DIR",
        default=None,
        help="Folder holding the suite's datasets (and checkpoints/ unless --ssl-checkpoint-dir is given)",
    )
    group.addoption(
        "--ssl-dataset-path",
        dest="ssl_dataset_path",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help="Location of one dataset, overriding its place under --ssl-data-root (repeatable)",
    )
    group.addoption(
        "--ssl-dataset-option",
        dest="ssl_dataset_option",
        metavar="NAME.KEY=VALUE",
        action="append",
        default=[],
        help="Set a loader option of one dataset, e.g. v2.variant=threshold-0.7 or val.expected_count=0 (repeatable)",
    )
    group.addoption(
        "--ssl-probe",
        dest="ssl_probe",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="Override a probe setting for every method, e.g. train_per_class=50 for a fast tier (repeatable)",
    )
    group.addoption(
        "--ssl-checkpoint-dir",
        dest="ssl_checkpoint_dir",
        metavar="DIR",
        default=None,
        help="Folder for the suite's relative checkpoint paths (default: DATA_ROOT/checkpoints)",
    )
    group.addoption(
        "--ssl-device",
        dest="ssl_device",
        metavar="auto|cpu|cuda[:N]",
        default=None,
        help="Device for feature extraction and probes (default: auto, CUDA when available)",
    )
    group.addoption(
        "--ssl-cache-dir",
        dest="ssl_cache_dir",
        metavar="DIR",
        default=None,
        help="Content-addressed cache of features and probes (default: .ssl_cache in the rootdir)",
    )
    group.addoption(
        "--ssl-baselines",
        dest="ssl_baselines",
        metavar="PATH",
        default=None,
        help="Baseline JSON file, or folder holding <suite>.json (default: baselines/ in the rootdir)",
    )
    group.addoption(
        "--ssl-update-baselines",
        dest="ssl_update_baselines",
        action="store_true",
        default=False,
        help="Accept the numbers of the items that ran: write them to the baseline file, keep all others",
    )
    group.addoption(
        "--ssl-gate",
        dest="ssl_gate",
        metavar="absolute|significant",
        default=None,
        choices=("absolute", "significant"),
        help="Override the suite's gate mode",
    )
    group.addoption(
        "--ssl-margin",
        dest="ssl_margin",
        metavar="POINTS",
        type=float,
        default=None,
        help="Override the suite's gate margin (accuracy points)",
    )
    group.addoption(
        "--ssl-sampling-factor",
        dest="ssl_sampling_factor",
        metavar="K",
        type=float,
        default=None,
        help="Override the suite's multiple of the binomial standard error in the tolerance",
    )
    group.addoption(
        "--ssl-alpha",
        dest="ssl_alpha",
        metavar="ALPHA",
        type=float,
        default=None,
        help="Override the suite's significance level (significant gate, ties in the report)",
    )
    group.addoption(
        "--ssl-report-json",
        dest="ssl_report_json",
        metavar="PATH",
        default=None,
        help="Write the rank-comparison report as JSON",
    )
    group.addoption(
        "--ssl-report-md",
        dest="ssl_report_md",
        metavar="PATH",
        default=None,
        help="Write the rank-comparison report as Markdown",
    )
    group.addoption(
        "--ssl-plots",
        dest="ssl_plots",
        metavar="DIR",
        default=None,
        help="Write PNG figures of the report (val vs variant scatters, rank bump chart; needs matplotlib)",
    )
    group.addoption(
        "--ssl-trust-checkpoints",
        dest="ssl_trust_checkpoints",
        action="store_true",
        default=False,
        help="Allow checkpoints that need full unpickling (only for files you trust)",
    )
    group.addoption(
        "--ssl-skip-corrupt",
        dest="ssl_skip_corrupt",
        action="store_true",
        default=False,
        help="Skip unreadable images and count them in the report instead of failing",
    )
    group.addoption(
        "--ssl-batch-size",
        dest="ssl_batch_size",
        metavar="N",
        type=int,
        default=None,
        help="Images per extraction batch (default 256)",
    )
    group.addoption(
        "--ssl-workers",
        dest="ssl_workers",
        metavar="N",
        type=int,
        default=None,
        help="DataLoader worker processes for decoding image files (default: CPU count, 0 for arrays)",
    )
    parser.addini("ssl_suite_dirs", "Folders searched for suite TOML files by name", type="paths", default=[])
    parser.addini("ssl_data_root", "Default for --ssl-data-root", default="")
    parser.addini("ssl_cache_dir", "Default for --ssl-cache-dir", default="")
    parser.addini("ssl_baselines", "Default for --ssl-baselines", default="")
    parser.addini("ssl_device", "Default for --ssl-device", default="")


@dataclass(frozen=True)
class Settings:
    """The plugin's resolved configuration."""

    suite_path: Path
    run: RunSettings
    baselines_path: Path
    baselines_fallback: Path | None
    update: bool
    gate_overrides: dict[str, Any]
    dataset_options: dict[str, dict[str, Any]]
    probe_overrides: dict[str, Any]
    report_json: Path | None
    report_md: Path | None
    plots: Path | None
    verbosity: int
    accept_command: str
    is_worker: bool


def _value(config: pytest.Config, option: str, ini: str) -> Any:
    value = config.getoption(option)
    if value in (None, ""):
        value = config.getini(ini) or None
    return value


def resolve_device(requested: str, worker_index: int | None = None) -> str:
    """``auto`` -> CUDA when available (worker k of xdist gets GPU k mod count), else ``cpu``."""
    if not _DEVICE.match(requested):
        raise pytest.UsageError(f"--ssl-device={requested}: expected auto, cpu, cuda or cuda:N")
    import torch

    if requested == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        count = torch.cuda.device_count()
        return f"cuda:{(worker_index or 0) % count}"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise pytest.UsageError(f"--ssl-device={requested}: CUDA is not available on this machine; use cpu or auto")
        index = int(requested.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise pytest.UsageError(
                f"--ssl-device={requested}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
    return requested


def _dataset_paths(values: list[str], cwd: Path) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise pytest.UsageError(
                f"--ssl-dataset-path {value!r}: expected NAME=PATH, for example sketch=/data/sketch"
            )
        paths[name] = (cwd / Path(path).expanduser()).resolve()
    return paths


def _worker_index(config: pytest.Config) -> int | None:
    workerinput = getattr(config, "workerinput", None)
    if not workerinput:
        return None
    digits = re.sub(r"\D", "", str(workerinput.get("workerid", "")))
    return int(digits) if digits else None


# --ssl-* flags that take no value; every other --ssl-* flag takes one.
SWITCHES = ("--ssl-update-baselines", "--ssl-trust-checkpoints", "--ssl-skip-corrupt")
# pytest flags that change which configuration, rootdir or plugins a rerun sees.
_CONTEXT_FLAGS = ("-c", "--config-file", "--rootdir", "-o", "--override-ini", "-p")


def _kept_flags(args: list[str]) -> list[str]:
    """The --ssl-* flags (and pytest's configuration flags) of a command line, each as one ``--flag=value``."""
    kept: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, value = arg.partition("=")
        takes_value = (name.startswith("--ssl-") and name not in SWITCHES) or name in _CONTEXT_FLAGS
        if name == "--ssl-update-baselines" or not (name.startswith("--ssl-") or name in _CONTEXT_FLAGS):
            index += 1
            continue
        if takes_value and not equals and index + 1 < len(args):
            value = args[index + 1]
            index += 1
        if not takes_value:
            kept.append(name)
        else:
            kept.append(f"{name}={shlex.quote(value)}" if name.startswith("--") else f"{name} {shlex.quote(value)}")
        index += 1
    return kept


def _accept_command(config: pytest.Config, suite_arg: str) -> str:
    """The command that accepts new values: this run's suite, data, cache, probe and device flags, plus the update.

    Following it as printed writes the same baseline file with the same settings (``-k`` is added per item).
    """
    if os.environ.get("PYTEST_SSL_ACCEPT_COMMAND"):
        return os.environ["PYTEST_SSL_ACCEPT_COMMAND"]
    flags = [f for f in _kept_flags(list(config.invocation_params.args)) if not f.startswith("--ssl-suite")]
    return " ".join(["pytest", f"--ssl-suite={shlex.quote(suite_arg)}", *flags, "--ssl-update-baselines"])


def _scalar(text: str) -> Any:
    """A TOML scalar (integer, float, true/false, quoted string) or else the bare text."""
    from . import toml_reader

    try:
        return toml_reader.loads(f"value = {text}")["value"]
    except toml_reader.TOMLDecodeError:
        return text


def _assignments(flag: str, values: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"{flag} {value!r}: expected KEY=VALUE")
        result[key.strip()] = _scalar(raw.strip())
    return result


def _dataset_options(values: list[str]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for key, value in _assignments("--ssl-dataset-option", values).items():
        name, dot, option = key.partition(".")
        if not dot or not name or not option:
            raise pytest.UsageError(
                f"--ssl-dataset-option {key}=...: expected NAME.KEY=VALUE, e.g. v2.variant=top-images"
            )
        options.setdefault(name, {})[option] = value
    return options


def _gate_overrides(config: pytest.Config) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for option, key in (
        ("ssl_gate", "mode"),
        ("ssl_margin", "margin"),
        ("ssl_sampling_factor", "sampling_factor"),
        ("ssl_alpha", "alpha"),
    ):
        value = config.getoption(option)
        if value is None:
            continue
        if key in ("margin", "sampling_factor") and value < 0:
            raise pytest.UsageError(f"--ssl-{key.replace('_', '-')}={value}: expected a number >= 0")
        if key == "alpha" and not 0 < value < 1:
            raise pytest.UsageError(f"--ssl-alpha={value}: expected a number between 0 and 1")
        overrides[key] = value
    return overrides


def build_settings(config: pytest.Config) -> Settings:
    """Resolve every flag and ini key into Settings.

    Raises:
        pytest.UsageError: a flag value is invalid or the suite cannot be found.
    """
    rootdir = Path(config.rootpath)
    cwd = Path(config.invocation_params.dir)
    suite_arg = str(config.getoption("ssl_suite"))
    try:
        suite_path = resolve_suite(suite_arg, [Path(p) for p in config.getini("ssl_suite_dirs")], cwd)
    except SslLotteryError as exc:
        raise pytest.UsageError(str(exc)) from None

    def path_of(option: str, ini: str, default: Path | None) -> Path | None:
        value = _value(config, option, ini)
        return (cwd / Path(str(value)).expanduser()).resolve() if value else default

    def flag_path(option: str) -> Path | None:
        value = config.getoption(option)
        return (cwd / Path(str(value)).expanduser()).resolve() if value else None

    data_root = path_of("ssl_data_root", "ssl_data_root", None)
    if data_root is not None and not data_root.is_dir():
        raise pytest.UsageError(f"--ssl-data-root={data_root}: no such folder")
    for flag, value in (
        ("--ssl-batch-size", config.getoption("ssl_batch_size")),
        ("--ssl-workers", config.getoption("ssl_workers")),
    ):
        if value is not None and value < (1 if flag == "--ssl-batch-size" else 0):
            raise pytest.UsageError(f"{flag}={value}: expected a positive number")
    baselines = path_of("ssl_baselines", "ssl_baselines", rootdir / "baselines")
    assert baselines is not None
    if baselines.suffix != ".json":
        baselines = baselines / f"{suite_path.stem}.json"
    fallback = bundled_baselines_dir() / f"{suite_path.stem}.json"
    workers = config.getoption("ssl_workers")
    run = RunSettings(
        cache_dir=path_of("ssl_cache_dir", "ssl_cache_dir", rootdir / ".ssl_cache") or rootdir / ".ssl_cache",
        data_root=data_root,
        checkpoint_dir=flag_path("ssl_checkpoint_dir"),
        dataset_paths=_dataset_paths(config.getoption("ssl_dataset_path"), cwd),
        device=resolve_device(str(_value(config, "ssl_device", "ssl_device") or "auto"), _worker_index(config)),
        batch_size=config.getoption("ssl_batch_size") or 256,
        num_workers=workers if workers is not None else min(8, os.cpu_count() or 1),
        trust_checkpoints=bool(config.getoption("ssl_trust_checkpoints")),
        skip_corrupt=bool(config.getoption("ssl_skip_corrupt")),
    )
    return Settings(
        suite_path=suite_path,
        run=run,
        baselines_path=baselines,
        baselines_fallback=fallback if fallback.is_file() and fallback != baselines else None,
        update=bool(config.getoption("ssl_update_baselines")),
        gate_overrides=_gate_overrides(config),
        dataset_options=_dataset_options(config.getoption("ssl_dataset_option")),
        probe_overrides=_assignments("--ssl-probe", config.getoption("ssl_probe")),
        report_json=flag_path("ssl_report_json"),
        report_md=flag_path("ssl_report_md"),
        plots=flag_path("ssl_plots"),
        verbosity=config.get_verbosity(),
        accept_command=_accept_command(config, suite_arg),
        is_worker=hasattr(config, "workerinput"),
    )
