"""Loader kind ``shapes``: a split of the embedded shapes family (generated on first use, then cached)."""

from __future__ import annotations

from ..atomic_files import cache_io
from ..errors import SpecError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext, reject_unknown_options
from .labels import Labels
from .option_schema import Option
from .sources import ArraySource


@register_loader("shapes", {"seed": Option("integer")}, reads_files=False)
def load_shapes(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """``location`` names the split (train, val, real, v2, rendition, sketch, adversarial); option ``seed``."""
    from ..shapes.family import load_split

    reject_unknown_options(spec.name, "shapes", spec.options, ("seed",))
    seed = spec.options.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SpecError(f"dataset {spec.name!r}: options.seed must be an integer, found {seed!r}")
    with cache_io(context.cache_dir / "shapes", "cache the generated shapes images in"):
        split = load_split(spec.location or spec.name, context.cache_dir / "shapes", seed=seed)
    if split.contract != spec.contract:
        raise SpecError(
            f"dataset {spec.name!r}: the shapes split {split.name!r} is scored as {split.contract!r}, "
            f"but the suite declares contract = {spec.contract!r}; set contract = {split.contract!r}"
        )
    if spec.classes is not None and tuple(spec.classes) != tuple(split.classes):
        raise SpecError(
            f"dataset {spec.name!r}: classes = {list(spec.classes)} in the suite, but the split is scored over "
            f"{list(split.classes)}; remove `classes` or make them equal"
        )
    labels = Labels(
        contract=split.contract,  # type: ignore[arg-type]
        num_classes=context.num_classes,
        targets=split.labels,
        label_sets=split.label_sets,
        classes=tuple(split.classes) if split.contract == "subset" else None,
    )
    return EvalDataset(spec.name, ArraySource(split.images), labels)
