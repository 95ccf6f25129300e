"""Typed reading of an ImageNet dataset's ``options`` table, and the checks every ImageNet loader shares.

Shared options:

- ``expected_count``: how many images (for ReaL: scored images) the dataset must have; defaults to the
  size of the published dataset, ``0`` turns the check off. A truncated download fails loudly.
- ``require_all_classes``: every class folder of the layout must be present and hold at least one image
  (default true). The same rule for every loader: 1000 numbered folders for V2, the 200 wnid folders of
  R and A, 1000 wnid folders for val/train/Sketch. ``false`` scores the folders that hold images (tiny
  test data, partial mirrors); the classes without images are then simply absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatasetError, SpecError
from ..suite.spec import DatasetSpec
from .base import LoadContext

SHARED_OPTIONS = ("expected_count", "require_all_classes")


@dataclass(frozen=True)
class DatasetOptions:
    """The ``options`` of one dataset, validated against the keys its loader knows."""

    spec: DatasetSpec
    allowed: tuple[str, ...]

    def __post_init__(self) -> None:
        for key in self.spec.options:
            if key not in self.allowed:
                raise SpecError(
                    f"dataset {self.spec.name!r}: unknown option `options.{key}` for loader {self.spec.loader!r}; "
                    f"expected one of: {', '.join(sorted(self.allowed))}"
                )

    def _fail(self, key: str, expected: str, value: Any) -> SpecError:
        return SpecError(f"dataset {self.spec.name!r}: `options.{key}` must be {expected}, found {value!r}")

    def integer(self, key: str, default: int) -> int:
        """A non-negative integer option."""
        value = self.spec.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "an integer >= 0", value)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """A true/false option."""
        value = self.spec.options.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def string(self, key: str, default: str | None, choices: Sequence[str] | None = None) -> str | None:
        """A string option, optionally one of ``choices``."""
        value = self.spec.options.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or (choices is not None and value not in choices):
            expected = f"one of {', '.join(repr(c) for c in choices)}" if choices else "a string"
            raise self._fail(key, expected, value)
        return value

    def path(self, key: str, context: LoadContext, default: str | None = None) -> Path | None:
        """A path option: ``package:<pkg>/<file>``, absolute, or relative to the data root (else the suite folder)."""
        from ..suite.resources import resolve_resource

        value = self.string(key, default)
        if value is None:
            return None
        return resolve_resource(value, context.data_root or context.suite_dir)

    def expected_count(self, published: int) -> int:
        """Required number of images: the option, else the ``published`` size; 0 means no check."""
        return self.integer("expected_count", published)

    @property
    def require_all_classes(self) -> bool:
        """Whether every class folder of the layout must be present."""
        return self.boolean("require_all_classes", True)


def check_contract(spec: DatasetSpec, contract: str) -> None:
    """The suite must declare the contract under which the loader's labels are scored.

    Raises:
        SpecError: the suite says another contract.
    """
    if spec.contract != contract:
        raise SpecError(
            f"dataset {spec.name!r}: loader {spec.loader!r} is scored with contract = {contract!r}, but the suite "
            f"declares contract = {spec.contract!r}; set contract = {contract!r} for this dataset"
        )


def check_num_classes(spec: DatasetSpec, context: LoadContext) -> None:
    """ImageNet labels are indices into 1000 logits.

    Raises:
        SpecError: the suite's ``num_classes`` is not 1000.
    """
    if context.num_classes != 1000:
        raise SpecError(
            f"dataset {spec.name!r}: loader {spec.loader!r} labels images with ImageNet-1k class indices 0..999, "
            f"but the suite has num_classes = {context.num_classes}; set [suite] num_classes = 1000"
        )


def check_empty_folders(spec: DatasetSpec, root: Path, folders: Sequence[str], counts: Sequence[int]) -> None:
    """With ``require_all_classes``, a class folder without images is an incomplete extraction.

    Raises:
        DatasetError: naming the empty folders and how to score the others anyway.
    """
    from .imagenet_listing import preview

    empty = [f for f, n in zip(folders, counts, strict=True) if n == 0]
    if empty:
        raise DatasetError(
            f"dataset {spec.name!r}: class folders without images (.jpeg/.jpg/.png) under {root}: {preview(empty)}; "
            "the extraction is incomplete. Extract it again, or, to score the classes that have images, pass "
            f"--ssl-dataset-option {spec.name}.require_all_classes=false"
        )


def check_count(spec: DatasetSpec, found: int, expected: int, what: str, where: Path) -> None:
    """Fail when a dataset of known size has another number of images (a truncated download, a wrong folder).

    Raises:
        DatasetError: ``found != expected`` while ``expected`` is non-zero; says how to relax the check.
    """
    if expected and found != expected:
        raise DatasetError(
            f"dataset {spec.name!r}: found {found:,} {what} under {where}, expected {expected:,}. "
            "A truncated or partial download would otherwise be scored without notice. Complete the download "
            "(see docs/imagenet.md), or, if this subset is intended, pass "
            f"--ssl-dataset-option {spec.name}.expected_count={found} (0 turns the check off), or set it in the "
            "dataset's `options` in a copy of the suite file"
        )
