"""The ``--ssl-*`` flags and ini keys, registered from the core declaration table, and Settings built from them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ..errors import SslLotteryError
from ..suite.flags import FLAGS, INI_ONLY, Flag
from ..suite.settings import Invocation, Settings, resolve_settings

GROUP = "ssl-lottery"


def _register(group: pytest.OptionGroup, flag: Flag) -> None:
    group.addoption(flag.pytest_flag, **flag.parser_options(flag.dest))


def add_options(parser: pytest.Parser) -> None:
    """Register every flag of the declaration table (group "ssl-lottery") and the ini keys."""
    group = parser.getgroup(GROUP, "SSL benchmark lottery (pytest-ssllottery)")
    for flag in FLAGS:
        _register(group, flag)
    for name, help_text in INI_ONLY:
        parser.addini(name, help_text, type="paths", default=[])
    for flag in FLAGS:
        if flag.ini:
            parser.addini(flag.dest, f"Default for {flag.pytest_flag}", default="")


def _from_ini(config: pytest.Config, flag: Flag) -> bool:
    """Whether the flag was not given and its ini key sets it."""
    return flag.ini and config.getoption(flag.dest) in (None, "") and bool(config.getini(flag.dest))


def _value(config: pytest.Config, flag: Flag) -> Any:
    return config.getini(flag.dest) if _from_ini(config, flag) else config.getoption(flag.dest)


def _worker_index(config: pytest.Config) -> int | None:
    """The xdist worker number, or torchrun's LOCAL_RANK: it picks the GPU of ``--ssl-device auto``."""
    from ..compute.distributed import ranks_from_environment

    ranks = ranks_from_environment()
    if ranks is not None:
        return ranks.local_rank
    workerinput = getattr(config, "workerinput", None)
    if not workerinput:
        return None
    digits = re.sub(r"\D", "", str(workerinput.get("workerid", "")))
    return int(digits) if digits else None


def build_settings(config: pytest.Config) -> Settings:
    """Resolve every flag and ini key into Settings.

    Raises:
        pytest.UsageError: a flag value is invalid or the suite cannot be found.
    """
    cwd = Path(config.invocation_params.dir)
    invocation = Invocation(
        cwd=cwd,
        anchor=Path(config.inipath).parent if config.inipath else cwd,
        suite_dirs=tuple(Path(p) for p in config.getini("ssl_suite_dirs")),
        args=tuple(config.invocation_params.args),
        worker_index=_worker_index(config),
        from_ini=frozenset(flag.name for flag in FLAGS if _from_ini(config, flag)),
    )
    try:
        return resolve_settings({flag.name: _value(config, flag) for flag in FLAGS}, invocation)
    except SslLotteryError as exc:
        raise pytest.UsageError(str(exc)) from None
