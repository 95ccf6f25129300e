"""The shipped reference classifier that filters the adversarial split, and its identity."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DatasetError
from .adversarial import Reference
from .constants import ARCH, MEAN, NUM_CLASSES, STD

FILTER_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "filter.pth"
ZOO_COMMAND = "python -m pytest_ssllottery.shapes.zoo"


def _filter_path(path: Path | None) -> Path:
    checkpoint = FILTER_CHECKPOINT if path is None else path
    if not checkpoint.is_file():
        raise DatasetError(
            f"the shapes adversarial split needs the filter classifier {checkpoint}, which does not exist; "
            f"run the zoo retrain command `{ZOO_COMMAND}` to train it (the other splits do not need it)"
        )
    return checkpoint


def file_sha256(path: Path) -> str:
    """sha256 hex of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_reference_id(path: Path | None = None) -> str:
    """Identity of the filter checkpoint, used to key the adversarial cache: ``filter-sha256:<hex>``.

    Raises:
        DatasetError: The checkpoint is missing (the message names the retrain command).
    """
    return f"filter-sha256:{file_sha256(_filter_path(path))}"


class TorchReference:
    """A ``shapes_resnet`` classifier as a function from uint8 images to float32-computed logits.

    ``precise`` recomputes logits in float64; the adversarial filter calls it for the few candidates
    whose float32 margin is too close to the threshold to trust across machines. Inference runs on one
    thread: the image workers use the other cores meanwhile, and torch's thread pool only spins
    against them.
    """

    def __init__(self, model: Any, batch: int = 256) -> None:
        import torch

        self._models = {torch.float32: model.eval()}
        self._batch = batch

    def _model(self, dtype: Any) -> Any:
        if dtype not in self._models:
            self._models[dtype] = copy.deepcopy(self._models[next(iter(self._models))]).to(dtype).eval()
        return self._models[dtype]

    def _run(self, images: NDArray[np.uint8], dtype: Any) -> NDArray[Any]:
        import torch

        model = self._model(dtype)
        mean = torch.tensor(MEAN, dtype=dtype).view(1, 3, 1, 1)
        std = torch.tensor(STD, dtype=dtype).view(1, 3, 1, 1)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            outputs = [np.zeros((0, NUM_CLASSES))]
            with torch.inference_mode():
                for start in range(0, len(images), self._batch):
                    x = torch.from_numpy(np.array(images[start : start + self._batch]))  # a writable copy
                    x = x.permute(0, 3, 1, 2).to(dtype) / 255.0
                    outputs.append(model((x - mean) / std).to(torch.float64).numpy())
        finally:
            torch.set_num_threads(threads)
        result: NDArray[Any] = np.concatenate(outputs)
        return result

    def __call__(self, images: NDArray[np.uint8]) -> NDArray[Any]:
        """Logits ``(N, 10)`` computed in float32, returned as float64."""
        import torch

        return self._run(images, torch.float32)

    def precise(self, images: NDArray[np.uint8]) -> NDArray[Any]:
        """Logits ``(N, 10)`` computed in float64."""
        import torch

        return self._run(images, torch.float64)


def default_reference(path: Path | None = None) -> Reference:
    """The shipped ``shapes_resnet`` filter classifier (see :class:`TorchReference`).

    Raises:
        DatasetError: The checkpoint is missing (the message names the retrain command).
    """
    checkpoint = _filter_path(path)
    from ..checkpoints.backbone import load_classifier

    model, _ = load_classifier(checkpoint, ARCH, keep_head=True)
    return TorchReference(model)
