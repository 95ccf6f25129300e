"""``python -m pytest_ssllottery.shapes.zoo``: retrain the shapes SSL zoo from scratch.

Every member (or those named with ``--only``), ``--jobs`` at a time. A member's weights depend on
``--seed``, ``--device`` and, on CPU, ``--threads`` (per member), not on ``--jobs``: the CPU path is
byte-for-byte reproducible. The adversarial split's filter is retrained only with ``--only filter``
(the shipped one: ``--only filter --threads 2``); see ``docs/zoo.md``.
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
from .retrain import DEVICES, RetrainOptions, default_cache_dir, retrain


def parse_args(argv: Sequence[str] | None = None) -> RetrainOptions:
    """Command-line flags -> ``RetrainOptions``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_ssllottery.shapes.zoo", description=__doc__)
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR, help="Checkpoint folder (default: the package's)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Training seed")
    parser.add_argument("--scale", choices=("full", "tiny"), default="full", help="tiny: a few steps on ~100 images")
    parser.add_argument(
        "--only", nargs="+", choices=ALL_CHECKPOINTS, default=(), metavar="NAME", help="Train these only"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads per member on CPU (results depend on it)"
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="Members trained at once (default: CPU cores / threads; 1 on CUDA)"
    )
    parser.add_argument("--device", choices=DEVICES, default="cpu", help="cpu (default), cuda, or auto")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="Cache of the shapes splits")
    parser.add_argument("--data-seed", type=int, default=DEFAULT_SEED, help="Seed of the shapes family")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.jobs < 0:
        parser.error("--threads must be >= 1 and --jobs >= 0")
    jobs = args.jobs or (1 if args.device == "cuda" else max(1, (os.cpu_count() or 1) // args.threads))
    return RetrainOptions(
        out=args.out,
        seed=args.seed,
        scale=args.scale,
        only=tuple(args.only),
        threads=args.threads,
        jobs=jobs,
        device=args.device,
        cache_dir=args.cache_dir,
        data_seed=args.data_seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the retrain; returns the process exit status."""
    retrain(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
