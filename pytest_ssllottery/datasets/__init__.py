"""Dataset loaders by kind; a suite's ``loader`` key picks one."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SpecError
from ..spelling import did_you_mean
from ..suite.spec import DatasetSpec
from .base import EvalDataset, LoadContext
from .option_schema import Option, Schema, check_options
from .sources import ArraySource, FileSource, ImageSource

Loader = Callable[[DatasetSpec, LoadContext], EvalDataset]
_LOADERS: dict[str, Loader] = {}
_SCHEMAS: dict[str, Schema] = {}
_READS_FILES: dict[str, bool] = {}


def register_loader(kind: str, options: Schema | None = None, reads_files: bool = True) -> Callable[[Loader], Loader]:
    """Decorator registering a loader function under ``kind``, with the options it accepts.

    ``reads_files`` is False for loaders whose ``location`` is not a path under the data root (``shapes``).
    """

    def decorate(function: Loader) -> Loader:
        _LOADERS[kind] = function
        _SCHEMAS[kind] = dict(options or {})
        _READS_FILES[kind] = reads_files
        return function

    return decorate


def reads_files(kind: str) -> bool:
    """Whether loader ``kind`` reads a file or folder at the dataset's location."""
    _import_builtin_loaders()
    return _READS_FILES.get(kind, True)


def check_dataset_spec(spec: DatasetSpec, origin: str) -> None:
    """Check, without reading any data, that the loader exists and accepts the dataset's options.

    Raises:
        SpecError: an unknown loader or option, or an option value of the wrong kind; names ``origin``.
    """
    _import_builtin_loaders()
    if spec.loader not in _LOADERS:
        raise SpecError(
            f"{origin}: dataset {spec.name!r} has unknown loader {spec.loader!r}; expected one of: "
            f"{', '.join(sorted(_LOADERS))}.{did_you_mean(spec.loader, _LOADERS)}"
        )
    check_options(spec.name, spec.loader, spec.options, _SCHEMAS[spec.loader], origin)


def loader_options(kind: str) -> Schema:
    """The options loader ``kind`` accepts."""
    _import_builtin_loaders()
    return _SCHEMAS[kind]


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
    "Option",
    "check_dataset_spec",
    "load_dataset",
    "loader_kinds",
    "loader_options",
    "reads_files",
    "register_loader",
]
