"""Spelling suggestions for unknown names: "did you mean ...?" at the end of error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close.

    >>> did_you_mean("sketc", ["val", "sketch"])
    " Did you mean 'sketch'?"
    >>> did_you_mean("zzz", ["val"])
    ''
    """
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
