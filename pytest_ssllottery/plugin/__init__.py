"""The pytest layer (the ``pytest11`` entry point): hooks, options, items, progress bars.

The only subpackage that imports pytest. Its hooks delegate to the pure core in a few lines each.
"""

from __future__ import annotations

from .hooks import pytest_addoption, pytest_cmdline_main, pytest_configure

__all__ = ["pytest_addoption", "pytest_cmdline_main", "pytest_configure"]
