"""Progress reporting as the core sees it: a tiny protocol and a silent default."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    """Something that shows the progress of a named task of known size."""

    def task(self, description: str, total: int) -> AbstractContextManager[Advance]:
        """A context manager yielding a function that advances the task by n units."""
        ...


class NullProgress:
    """Shows nothing."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        """Yield a no-op advance function."""
        yield lambda n: None
