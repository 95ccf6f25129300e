"""pytest-ssllottery: stop the benchmark lottery in self-supervised vision.

The pure core (everything except ``plugin``, ``options``, ``items`` and ``xdist_hooks``) never imports
pytest and can be used from Python or from ``python -m pytest_ssllottery``.
"""

from __future__ import annotations

__version__ = "0.1.0"
