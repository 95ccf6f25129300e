"""Dataset loaders by kind; a suite's ``loader`` key picks one."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SpecError
from ..spec import DatasetSpec
from .base import EvalDataset, LoadContext
from .sources import ArraySource, FileSource, ImageSource

Loader = Callable[[DatasetSpec, LoadContext], EvalDataset]
_LOADERS: dict[str, Loader] = {}


def register_loader(kind: str) -> Callable[[Loader], Loader]:
    """Decorator registering a loader function under ``kind``."""

    def decorate(function: Loader) -> Loader:
        _LOADERS[kind] = function
        return function

    return decorate


def loader_kinds() -> list[str]:
    """Registered loader kinds."""
    _import_builtin_loaders()
    return sorted(_LOADERS)


def load_dataset(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """Load a dataset with the loader its spec names.

    Raises:
        SpecError: unknown loader kind; the message lists the known ones.
        DatasetError: the data is missing or laid out differently from what the loader expects.
    """
    _import_builtin_loaders()
    try:
        loader = _LOADERS[spec.loader]
    except KeyError:
        raise SpecError(
            f"dataset {spec.name!r}: unknown loader {spec.loader!r}; expected one of {', '.join(sorted(_LOADERS))}"
        ) from None
    return loader(spec, context)


def _import_builtin_loaders() -> None:
    from . import arrays_loader, imagenet_folders, imagenet_real, imagenet_v2, imagenet_val, shapes_loader  # noqa: F401


__all__ = [
    "ArraySource",
    "EvalDataset",
    "FileSource",
    "ImageSource",
    "LoadContext",
    "load_dataset",
    "loader_kinds",
    "register_loader",
]
