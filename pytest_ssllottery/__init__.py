"""pytest-ssllottery: stop the benchmark lottery in self-supervised vision.

The pure core (every subpackage but ``plugin``) never imports pytest and can be used from Python or from
``python -m pytest_ssllottery``; docs/architecture.md shows which package calls which.
"""

from __future__ import annotations

__version__ = "0.1.0"
