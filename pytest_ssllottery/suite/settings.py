"""Run settings as core dataclasses, resolved from flag values in one place for pytest and the CLI.

Kept free of heavy imports: the plugin loads it on every pytest start. Invalid values raise
:class:`~pytest_ssllottery.errors.SettingsError`, which names the flag and the fix; the plugin turns it
into a usage error, the CLI into exit status 2.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SettingsError, SslLotteryError
from .flags import FLAGS
from .resources import bundled_baselines_dir, resolve_suite

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
DEFAULT_BATCH_SIZE = 256
MAX_DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class RunSettings:
    """Run-time choices that are not part of the suite."""

    cache_dir: Path = Path(".ssl_cache")
    data_root: Path | None = None
    checkpoint_dir: Path | None = None
    dataset_paths: Mapping[str, Path] = field(default_factory=dict)
    device: str = "cpu"
    batch_size: int = DEFAULT_BATCH_SIZE
    num_workers: int = 0
    trust_checkpoints: bool = False
    skip_corrupt: bool = False
    decode: str = "pil"


@dataclass(frozen=True)
class SuiteOverrides:
    """What the command line changes in a suite."""

    gate: Mapping[str, Any] = field(default_factory=dict)
    dataset_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    probe: Mapping[str, Any] = field(default_factory=dict)
    dataset_paths: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class BaselineSettings:
    """Where baselines are read and written, and whether this run writes them."""

    path: Path
    fallback: Path | None = None
    update: bool = False


@dataclass(frozen=True)
class ReportSettings:
    """Where the report goes besides the terminal."""

    json: Path | None = None
    markdown: Path | None = None
    plots: Path | None = None


@dataclass(frozen=True)
class Invocation:
    """How the run was started: what relative paths and defaults are anchored to.

    The rule: relative flag values are relative to the directory the command was run from; ini values are
    relative to the ini file's folder; the default folders (``baselines/``, ``.ssl_cache``) live in the ini
    file's folder when pytest found one, else in the directory the command was run from. Never pytest's
    rootdir, which without an ini file depends on how the arguments were spelled.

    Attributes:
        cwd: The directory the command was run from.
        anchor: Where the default folders live (the ini file's folder, else ``cwd``).
        suite_dirs: Extra folders searched for suites by name (the ``ssl_suite_dirs`` ini key).
        args: The command line, for the command that accepts new baselines.
        worker_index: The pytest-xdist worker number, which picks a GPU with ``--ssl-device auto``.
        from_ini: Names of the settings whose value came from the ini file.
    """

    cwd: Path
    anchor: Path
    suite_dirs: tuple[Path, ...] = ()
    args: tuple[str, ...] = ()
    worker_index: int | None = None
    from_ini: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Settings:
    """Everything a run needs besides the suite file's own contents."""

    suite_path: Path
    run: RunSettings
    overrides: SuiteOverrides
    baselines: BaselineSettings
    report: ReportSettings
    accept_command: str


def resolve_device(requested: str, worker_index: int | None = None) -> str:
    """``auto`` -> CUDA when available (xdist worker k gets GPU k mod count), else ``cpu``.

    Raises:
        SettingsError: an unknown device, or a CUDA device that is not there.
    """
    if not _DEVICE.match(requested):
        raise SettingsError(f"--ssl-device={requested}: expected auto, cpu, cuda or cuda:N")
    import torch

    if requested == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        return f"cuda:{(worker_index or 0) % torch.cuda.device_count()}"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SettingsError(f"--ssl-device={requested}: CUDA is not available on this machine; use cpu or auto")
        index = int(requested.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise SettingsError(f"--ssl-device={requested}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return requested


def _scalar(text: str) -> Any:
    """A TOML scalar (integer, float, true/false, quoted string) or else the bare text."""
    from . import toml as toml_reader

    try:
        return toml_reader.loads(f"value = {text}")["value"]
    except toml_reader.TOMLDecodeError:
        return text


def _assignments(flag: str, values: Sequence[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise SettingsError(f"{flag} {value!r}: expected KEY=VALUE")
        result[key.strip()] = _scalar(raw.strip())
    return result


def _dataset_options(values: Sequence[str]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for key, value in _assignments("--ssl-dataset-option", values).items():
        name, dot, option = key.partition(".")
        if not dot or not name or not option:
            raise SettingsError(f"--ssl-dataset-option {key}=...: expected NAME.KEY=VALUE, e.g. v2.variant=top-images")
        options.setdefault(name, {})[option] = value
    return options


def _dataset_paths(values: Sequence[str], cwd: Path) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SettingsError(f"--ssl-dataset-path {value!r}: expected NAME=PATH, for example sketch=/data/sketch")
        paths[name] = (cwd / Path(path).expanduser()).resolve()
    return paths


def _gate_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, key in (
        ("gate", "mode"),
        ("margin", "margin"),
        ("sampling_factor", "sampling_factor"),
        ("alpha", "alpha"),
    ):
        value = values.get(name)
        if value is None:
            continue
        if key in ("margin", "sampling_factor") and value < 0:
            raise SettingsError(f"--ssl-{key.replace('_', '-')}={value}: expected a number >= 0")
        if key == "alpha" and not 0 < value < 1:
            raise SettingsError(f"--ssl-alpha={value}: expected a number between 0 and 1")
        overrides[key] = value
    return overrides


def _check_counts(values: Mapping[str, Any]) -> None:
    for name, minimum in (("batch_size", 1), ("workers", 0)):
        value = values.get(name)
        if value is not None and value < minimum:
            raise SettingsError(f"--ssl-{name.replace('_', '-')}={value}: expected a positive number")


def resolve_settings(values: Mapping[str, Any], invocation: Invocation) -> Settings:
    """Turn flag values (``FLAGS`` names; ini defaults already applied) into Settings.

    Raises:
        SettingsError: a flag value is invalid; SslLotteryError: the suite cannot be found.
    """
    cwd = invocation.cwd

    def path(name: str) -> Path | None:
        value = values.get(name)
        base = invocation.anchor if name in invocation.from_ini else cwd
        return (base / Path(str(value)).expanduser()).resolve() if value else None

    suite_arg = str(values.get("suite"))
    try:
        suite_path = resolve_suite(suite_arg, invocation.suite_dirs, cwd)
    except SslLotteryError as exc:
        raise SettingsError(str(exc)) from None
    data_root = path("data_root")
    if data_root is not None and not data_root.is_dir():
        raise SettingsError(f"--ssl-data-root={data_root}: no such folder")
    _check_counts(values)
    baselines = path("baselines") or invocation.anchor / "baselines"
    if baselines.suffix != ".json":
        baselines = baselines / f"{suite_path.stem}.json"
    fallback = bundled_baselines_dir() / f"{suite_path.stem}.json"
    workers = values.get("workers")
    run = RunSettings(
        cache_dir=path("cache_dir") or invocation.anchor / ".ssl_cache",
        data_root=data_root,
        checkpoint_dir=path("checkpoint_dir"),
        dataset_paths=_dataset_paths(values.get("dataset_path") or [], cwd),
        device=resolve_device(str(values.get("device") or "auto"), invocation.worker_index),
        batch_size=values.get("batch_size") or DEFAULT_BATCH_SIZE,
        num_workers=workers if workers is not None else min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1),
        trust_checkpoints=bool(values.get("trust_checkpoints")),
        skip_corrupt=bool(values.get("skip_corrupt")),
        decode=str(values.get("decode") or "pil"),
    )
    if run.decode == "gpu" and not run.device.startswith("cuda"):
        raise SettingsError(
            f"--ssl-decode=gpu decodes with nvjpeg on a CUDA device, but the device is {run.device}. "
            "Pass --ssl-device=cuda (or auto on a machine with a GPU), or drop --ssl-decode"
        )
    overrides = SuiteOverrides(
        gate=_gate_overrides(values),
        dataset_options=_dataset_options(values.get("dataset_option") or []),
        probe=_assignments("--ssl-probe", values.get("probe") or []),
        dataset_paths=run.dataset_paths,
    )
    return Settings(
        suite_path=suite_path,
        run=run,
        overrides=overrides,
        baselines=BaselineSettings(
            baselines,
            fallback if fallback.is_file() and fallback != baselines else None,
            bool(values.get("update_baselines")),
        ),
        report=ReportSettings(path("report_json"), path("report_md"), path("plots")),
        accept_command=accept_command(invocation.args, suite_arg),
    )


# --ssl-* flags that take no value; every other --ssl-* flag takes one.
SWITCHES = tuple(f.pytest_flag for f in FLAGS if f.kind == "switch")
# pytest flags that change which configuration, rootdir or plugins a rerun sees.
_CONTEXT_FLAGS = ("-c", "--config-file", "--rootdir", "-o", "--override-ini", "-p")


def _kept_flags(args: Sequence[str]) -> list[str]:
    """The --ssl-* flags (and pytest's configuration flags) of a command line, each as one ``--flag=value``."""
    kept: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, value = arg.partition("=")
        takes_value = (name.startswith("--ssl-") and name not in SWITCHES) or name in _CONTEXT_FLAGS
        dropped = name in ("--ssl-update-baselines", "--ssl-benchmark")
        if dropped or not (name.startswith("--ssl-") or name in _CONTEXT_FLAGS):
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


def accept_command(args: Sequence[str], suite_arg: str) -> str:
    """The command that accepts new values: this run's suite, data, cache, probe and device flags, plus the update.

    Following it as printed writes the same baseline file with the same settings (the item's node id is added).
    ``PYTEST_SSL_ACCEPT_COMMAND`` replaces it (for wrappers that run pytest for you).
    """
    if os.environ.get("PYTEST_SSL_ACCEPT_COMMAND"):
        return os.environ["PYTEST_SSL_ACCEPT_COMMAND"]
    flags = [f for f in _kept_flags(list(args)) if not f.startswith("--ssl-suite")]
    return " ".join(["pytest", f"--ssl-suite={shlex.quote(suite_arg)}", *flags, "--ssl-update-baselines"])
