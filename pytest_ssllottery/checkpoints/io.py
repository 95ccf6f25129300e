"""Reading checkpoint files safely: hash check, foreign formats, ``weights_only`` unpickling."""

from __future__ import annotations

import argparse
import hashlib
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError

TRUST_FLAG = "--ssl-trust-checkpoints"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _harmless_globals() -> list[Any]:
    """Globals that official SSL checkpoints pickle besides tensors, and that run no code of note."""
    import numpy as np

    allowed: list[Any] = [argparse.Namespace, np.dtype]
    for code in "?bBhHiIlLqQefdgFDG":  # every numeric and bool dtype class (numpy scalars pickle their dtype)
        dtype_class = type(np.dtype(code))
        if dtype_class not in allowed:
            allowed.append(dtype_class)
    import codecs

    allowed.append(codecs.encode)
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["scalar"])
        except ImportError:
            continue
        allowed.append((module.scalar, f"{module_name}.scalar"))
    return allowed


def _foreign_format(path: Path) -> str | None:
    """A fix-it message when the file is a TensorFlow or JAX original rather than a PyTorch file."""
    name = path.name
    if path.is_dir() or name.endswith(".index") or ".data-0" in name or name.startswith("model.ckpt"):
        return (
            f"{path} is a TensorFlow checkpoint (SimCLR v1/v2 originals are distributed this way). "
            "Convert it to PyTorch first: SimCLR v1 with tonylins/simclr-converter "
            "(`python convert.py ResNet50_1x/model.ckpt-225206 resnet50-1x.pth`), SimCLR v2 with "
            "Separius/SimCLRv2-Pytorch (`python convert.py r50_1x_sk0/model.ckpt-250228`), "
            "then point the suite at the .pth."
        )
    if name.endswith(".pkl"):
        return (
            f"{path} looks like a JAX/Haiku pickle (the BYOL original `pretrain_res50x1.pkl`). "
            "Convert it with chigur/byol-convert (`python convert.py pretrain_res50x1.pkl res50x1.pth`) "
            "and point the suite at the .pth file."
        )
    if name.endswith(".zip") and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any("model.ckpt" in entry for entry in names) and not any(entry.endswith("data.pkl") for entry in names):
            return f"{path} is a zip of a TensorFlow checkpoint; unzip it and convert it (see SimCLR converters)."
    return None


def read_checkpoint(path: Path, *, sha256: str | None = None, trust: bool = False) -> Any:
    """Load a checkpoint object with ``torch.load(weights_only=True)``.

    Args:
        path: The checkpoint file.
        sha256: Expected hex digest; checked before anything is unpickled.
        trust: Allow full unpickling of files that need globals beyond the harmless ones.

    Raises:
        CheckpointError: missing file, hash mismatch, foreign format, or an untrusted pickle.
    """
    if not path.exists():
        raise CheckpointError(
            f"checkpoint {path} does not exist; download it (see the suite's source_url) or fix the path"
        )
    foreign = _foreign_format(path)
    if foreign:
        raise CheckpointError(foreign)
    if sha256:
        found = sha256_of(path)
        if found.lower() != sha256.lower():
            raise CheckpointError(
                f"checkpoint {path}: sha256 is {found}, the suite expects {sha256}. "
                "The file is corrupt or a different release; download it again or update `sha256` in the suite."
            )
    try:
        with torch.serialization.safe_globals(_harmless_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust:
            raise CheckpointError(
                f"checkpoint {path} pickles objects that weights_only loading refuses ({_first_line(exc)}). "
                f"If you trust this file, pass {TRUST_FLAG} to load it with full unpickling."
            ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file ({_first_line(exc)}); download it again"
        ) from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ImportError, pickle.UnpicklingError) as exc:
        raise CheckpointError(
            f"checkpoint {path} pickles code that is not importable here ({_first_line(exc)}), e.g. a function "
            "from the training script's __main__ (VICReg's full checkpoint). Use the release's backbone-only file, "
            "or re-save just the state dict from the training repository"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    # torch < 2.6: "Unsupported global: GLOBAL x.y"; torch >= 2.6: "Trying to load unsupported GLOBAL x.y whose ..."
    refused = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", text, flags=re.IGNORECASE)
    if refused:
        name = refused.group(1)
        if "blocked" in text:
            return f"global {name}, from a module that can run commands"
        return f"global {name}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
