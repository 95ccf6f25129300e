"""``python -m pytest_ssllottery``: see :mod:`pytest_ssllottery.cli`."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
