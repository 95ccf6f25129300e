"""The TOML parser of this Python: ``tomllib`` from 3.11 on, the ``tomli`` backport on 3.10."""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the package depends on tomli there
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

TOMLDecodeError = tomllib.TOMLDecodeError
loads = tomllib.loads

__all__ = ["TOMLDecodeError", "loads"]
