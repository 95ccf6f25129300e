"""The options a dataset loader accepts, declared as data so that a suite is checked when it is loaded.

Every loader registers its schema with :func:`~pytest_ssllottery.datasets.register_loader`; a misspelt
option or a value of the wrong kind, in the suite file or on the command line, is then an error at start-up
that names where it came from, not a failure of every item later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SpecError
from ..spelling import did_you_mean

OptionKind = Literal["count", "integer", "flag", "text", "path"]
_EXPECTED = {
    "count": "an integer >= 0",
    "integer": "an integer",
    "flag": "true or false",
    "text": "a string",
    "path": "a path (a string)",
}


@dataclass(frozen=True)
class Option:
    """One loader option: its kind and, for text, the allowed values."""

    kind: OptionKind
    choices: tuple[str, ...] = ()

    def expected(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return _EXPECTED[self.kind]

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this option."""
        if self.kind in ("count", "integer"):
            return isinstance(value, int) and not isinstance(value, bool) and (self.kind == "integer" or value >= 0)
        if self.kind == "flag":
            return isinstance(value, bool)
        return isinstance(value, str) and (not self.choices or value in self.choices)


Schema = Mapping[str, Option]

# Options every ImageNet loader shares (see ``imagenet_options``).
IMAGENET_SHARED: dict[str, Option] = {"expected_count": Option("count"), "require_all_classes": Option("flag")}


def check_options(dataset: str, loader: str, options: Mapping[str, Any], schema: Schema, origin: str) -> None:
    """Fail on options the loader does not define, or values of the wrong kind.

    Args:
        dataset: The dataset's name in the suite.
        loader: Its loader kind.
        options: The option values to check.
        schema: The loader's options.
        origin: Where the options come from (the suite file and table, or the command-line flag).

    Raises:
        SpecError: naming the origin, the option, what was expected and what was found.
    """
    for key, value in options.items():
        option = schema.get(key)
        if option is None:
            allowed = ", ".join(sorted(schema)) or "none"
            raise SpecError(
                f"{origin}: unknown option {key!r} for dataset {dataset!r} (loader {loader!r}); "
                f"expected one of: {allowed}.{did_you_mean(key, schema)}"
            )
        if not option.accepts(value):
            raise SpecError(
                f"{origin}: option {key!r} of dataset {dataset!r} must be {option.expected()}, "
                f"found {value!r} ({type(value).__name__})"
            )
