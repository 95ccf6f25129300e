"""``python -m pytest_ssllottery.shapes.zoo``: retrain the shapes SSL zoo from scratch.

Deterministic on CPU given ``--seed`` and ``--threads``. The filter is trained and written first,
then every member (or those named with ``--only``); see ``docs/zoo.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: on shared cores, spinning makes 2 threads several times
# slower than 1. Must be set before torch loads; it changes speed only, never results.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ..constants import DEFAULT_SEED
from . import ALL_CHECKPOINTS, CHECKPOINT_DIR
from .retrain import RetrainOptions, default_cache_dir, retrain


def parse_args(argv: Sequence[str] | None = None) -> RetrainOptions:
    """Command-line flags -> ``RetrainOptions``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_ssllottery.shapes.zoo", description=__doc__)
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR, help="Checkpoint folder (default: the package's)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Training seed")
    parser.add_argument("--scale", choices=("full", "tiny"), default="full", help="tiny: a few steps on ~100 images")
    parser.add_argument(
        "--only", nargs="+", choices=ALL_CHECKPOINTS, default=(), metavar="NAME", help="Train these only"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (results depend on it)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="Cache of the shapes splits")
    parser.add_argument("--data-seed", type=int, default=DEFAULT_SEED, help="Seed of the shapes family")
    args = parser.parse_args(argv)
    return RetrainOptions(
        out=args.out,
        seed=args.seed,
        scale=args.scale,
        only=tuple(args.only),
        threads=args.threads,
        cache_dir=args.cache_dir,
        data_seed=args.data_seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the retrain; returns the process exit status."""
    retrain(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
