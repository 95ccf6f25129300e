"""Typed reading of TOML tables with errors that name the file, the key, the expectation and the value."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import SpecError
from ..spelling import did_you_mean

T = TypeVar("T")
_MISSING: Any = object()


class Table:
    """A TOML table with its file and dotted location, for precise error messages."""

    def __init__(self, data: Mapping[str, Any], file: Path, where: str) -> None:
        self.data = data
        self.file = file
        self.where = where

    def key(self, name: str) -> str:
        """Dotted name of a key in this table."""
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, expected: str, found: Any = _MISSING, *, add: str | None = None) -> SpecError:
        """A SpecError for key ``name``; when it is missing, ``add`` says how to add it (a ``name = ...`` line here)."""
        if found is _MISSING:
            what = f"it is missing; {add or self._add_key(name)} (every key: docs/suite-format.md)"
        else:
            what = f"found {found!r} ({type(found).__name__})"
        return SpecError(f"{self.file}: key `{self.key(name)}`: expected {expected}, {what}")

    def _add_key(self, name: str) -> str:
        """How to add a missing ``name = ...`` line to this table, in TOML terms."""
        element = re.fullmatch(r"(.+)\[(\d+)\]", self.where)
        if element:
            where = f"[[{element[1]}]] table number {int(element[2]) + 1}"
        else:
            where = f"the [{self.where}] table" if self.where else "the top level"
        return f"add `{name} = ...` to {where}"

    def reject_unknown(self, allowed: Sequence[str]) -> None:
        """Fail on keys this table does not define (catches typos)."""
        for name in self.data:
            if name not in allowed:
                raise SpecError(
                    f"{self.file}: unknown key `{self.key(name)}`; expected one of: {', '.join(sorted(allowed))}."
                    + did_you_mean(name, allowed)
                )

    def string(self, name: str, default: Any = _MISSING, choices: Sequence[str] | None = None) -> Any:
        """A string, optionally one of ``choices``."""
        expected = f"one of {', '.join(repr(c) for c in choices)}" if choices else "a string"
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or (choices is not None and value not in choices):
            raise self.fail(name, expected, value)
        return value

    def number(self, name: str, default: Any = _MISSING, minimum: float | None = None) -> Any:
        """An int or float (not a bool), optionally >= ``minimum``."""
        expected = "a number" + (f" >= {minimum}" if minimum is not None else "")
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, expected, value)
        if minimum is not None and value < minimum:
            raise self.fail(name, expected, value)
        return float(value)

    def integer(self, name: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        """An int (not a bool), optionally >= ``minimum``."""
        expected = "an integer" + (f" >= {minimum}" if minimum is not None else "")
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            raise self.fail(name, expected, value)
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        """A bool."""
        value = self._get(name, default, "true or false")
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def list_of(self, name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """A list whose items are all of ``kind`` (bools never count as numbers)."""
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = f"a list of {' or '.join(k.__name__ for k in kinds)}"
        value = self._get(name, default, expected)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, kinds) and not isinstance(v, bool) for v in value):
            raise self.fail(name, expected, value)
        return value

    def table(self, name: str, required: bool = False) -> Table:
        """A sub-table (empty when absent and not required)."""
        value = self._get(name, _MISSING if required else {}, "a table", add=f"add a [{self.key(name)}] table")
        if not isinstance(value, Mapping):
            raise self.fail(name, "a table", value)
        return Table(value, self.file, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``), at least one."""
        value = self._get(name, _MISSING, f"one or more [[{name}]] tables", add=f"add a [[{self.key(name)}]] table")
        if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(name, f"one or more [[{name}]] tables", value)
        return [Table(v, self.file, f"{self.key(name)}[{i}]") for i, v in enumerate(value)]

    def _get(self, name: str, default: Any, expected: str, add: str | None = None) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.fail(name, expected, add=add)
        return default
