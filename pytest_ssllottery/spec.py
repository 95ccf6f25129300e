"""Suite files: TOML -> frozen dataclasses, validated with errors that name file, key, expected and found.

A suite lists datasets (one of them the probe's train split), methods (architecture + checkpoint +
preprocessing), the probe protocol, aggregate weights and the gate settings. See docs/suite-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import toml_reader
from .errors import SpecError
from .labels import CONTRACTS
from .spec_fields import Table

SCHEMA_VERSION = 1
PROBE_KINDS = ("linear", "official-head")
OPTIMIZERS = ("lbfgs", "sgd", "lars")
SCHEDULES = ("cosine", "step", "constant")
NORMALIZATIONS = ("none", "l2", "standardize")
GATE_MODES = ("absolute", "significant")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


@dataclass(frozen=True)
class Preprocessing:
    """How images become tensors for one method: resize, center crop, normalisation."""

    resize: int | None = None
    crop: int | None = None
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] | None = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] | None = (0.229, 0.224, 0.225)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for cache keys and provenance."""
        return {
            "resize": self.resize,
            "crop": self.crop,
            "interpolation": self.interpolation,
            "mean": list(self.mean) if self.mean else None,
            "std": list(self.std) if self.std else None,
        }


@dataclass(frozen=True)
class ProbeSpec:
    """The linear-probe protocol (suite default, overridable per method)."""

    kind: str = "linear"
    optimizer: str = "lbfgs"
    epochs: int = 100
    lr: float = 1.0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_size: int = 256
    schedule: str = "cosine"
    milestones: tuple[int, ...] = (60, 80)
    normalize: str = "standardize"
    train_per_class: int = 0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for cache keys and provenance."""
        return {
            "kind": self.kind,
            "optimizer": self.optimizer,
            "epochs": self.epochs,
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "schedule": self.schedule,
            "milestones": list(self.milestones),
            "normalize": self.normalize,
            "train_per_class": self.train_per_class,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: where it is, how it is read, and how it is scored."""

    name: str
    loader: str
    location: str
    contract: str = "full"
    role: str = "eval"
    classes: tuple[int, ...] | None = None
    classes_file: str | None = None
    weight: float | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    """One backbone under test."""

    name: str
    arch: str
    checkpoint: str
    sha256: str | None = None
    layout: str | None = None
    source_url: str | None = None
    reported_top1: float | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    probe: ProbeSpec = field(default_factory=ProbeSpec)
    head_checkpoint: str | None = None
    head_sha256: str | None = None


@dataclass(frozen=True)
class AggregateGate:
    """Absolute floors for the aggregate scores, in accuracy points (None = no floor)."""

    weighted_average_min: float | None = None
    geometric_mean_min: float | None = None


@dataclass(frozen=True)
class RankingGate:
    """Optional thresholds on the rank statistics; the ranking item fails only when one is set and missed."""

    min_kendall_tau: float | None = None
    max_lottery_pairs: int | None = None

    @property
    def active(self) -> bool:
        """Whether any threshold is set."""
        return self.min_kendall_tau is not None or self.max_lottery_pairs is not None


@dataclass(frozen=True)
class GateSpec:
    """How cells and aggregates are compared with their baselines."""

    margin: float = 1.0
    sampling_factor: float = 2.0
    mode: str = "absolute"
    alpha: float = 0.05
    aggregate: AggregateGate = field(default_factory=AggregateGate)
    ranking: RankingGate = field(default_factory=RankingGate)


@dataclass(frozen=True)
class Suite:
    """A whole suite, as read from its TOML file."""

    name: str
    path: Path
    description: str
    reference: str
    train: str
    num_classes: int
    datasets: tuple[DatasetSpec, ...]
    methods: tuple[MethodSpec, ...]
    probe: ProbeSpec
    gate: GateSpec
    aggregate_datasets: tuple[str, ...]
    aggregate_weights: str | dict[str, float]
    markers: tuple[str, ...] = ()
    bootstrap_resamples: int = 1000

    def dataset(self, name: str) -> DatasetSpec:
        """The dataset of that name."""
        for spec in self.datasets:
            if spec.name == name:
                return spec
        raise SpecError(f"{self.path}: suite {self.name!r} has no dataset {name!r}")

    def method(self, name: str) -> MethodSpec:
        """The method of that name."""
        for spec in self.methods:
            if spec.name == name:
                return spec
        raise SpecError(f"{self.path}: suite {self.name!r} has no method {name!r}")

    def aggregate_weight(self, dataset: str, scored: int | None) -> float:
        """A dataset's weight in the weighted average.

        The dataset's own ``weight`` when set; else ``[aggregate].weights``: scored images (default), equal, or
        the value in its table.
        """
        own = self.dataset(dataset).weight
        if own is not None:
            return float(own)
        if isinstance(self.aggregate_weights, dict):
            return float(self.aggregate_weights[dataset])
        if self.aggregate_weights == "equal" or scored is None:
            return 1.0
        return float(scored)

    @property
    def eval_datasets(self) -> tuple[DatasetSpec, ...]:
        """Datasets that become items (everything but the train split)."""
        return tuple(d for d in self.datasets if d.role == "eval")

    def with_overrides(
        self, dataset_options: dict[str, dict[str, Any]], probe: dict[str, Any], origin: str = "command line"
    ) -> Suite:
        """A copy with loader options merged into datasets and probe settings replaced for every method.

        Raises:
            SpecError: an unknown dataset name or probe key, or a value of the wrong type.
        """
        names = [d.name for d in self.datasets]
        for name in dataset_options:
            if name not in names:
                raise SpecError(
                    f"{origin}: dataset option for {name!r}, but the suite's datasets are {', '.join(names)}"
                )
        datasets = tuple(replace(d, options={**d.options, **dataset_options.get(d.name, {})}) for d in self.datasets)
        methods = self.methods
        if probe:
            table = Table(probe, Path(origin), "probe")
            methods = tuple(replace(m, probe=_probe(table, m.probe)) for m in self.methods)
        return replace(self, datasets=datasets, methods=methods)

    def with_gate(self, **overrides: Any) -> Suite:
        """A copy whose gate has some settings replaced (``--ssl-gate``, ``--ssl-margin``, ...)."""
        return replace(self, gate=replace(self.gate, **overrides))


def _preprocessing(table: Table, base: Preprocessing) -> Preprocessing:
    table.reject_unknown(["resize", "crop", "interpolation", "mean", "std", "normalize"])
    mean = table.list_of("mean", (float, int), list(base.mean) if base.mean else None)
    std = table.list_of("std", (float, int), list(base.std) if base.std else None)
    if not table.boolean("normalize", True):
        mean = std = None
    for key, value in (("mean", mean), ("std", std)):
        if value is not None and len(value) != 3:
            raise table.fail(key, "three numbers (R, G, B)", value)
    return Preprocessing(
        resize=table.integer("resize", base.resize, minimum=1),
        crop=table.integer("crop", base.crop, minimum=1),
        interpolation=table.string("interpolation", base.interpolation, INTERPOLATIONS),
        mean=tuple(float(v) for v in mean) if mean else None,  # type: ignore[arg-type]
        std=tuple(float(v) for v in std) if std else None,  # type: ignore[arg-type]
    )


def _probe(table: Table, base: ProbeSpec) -> ProbeSpec:
    table.reject_unknown(list(base.as_dict()))
    return ProbeSpec(
        kind=table.string("kind", base.kind, PROBE_KINDS),
        optimizer=table.string("optimizer", base.optimizer, OPTIMIZERS),
        epochs=table.integer("epochs", base.epochs, minimum=1),
        lr=table.number("lr", base.lr, minimum=0),
        momentum=table.number("momentum", base.momentum, minimum=0),
        nesterov=table.boolean("nesterov", base.nesterov),
        weight_decay=table.number("weight_decay", base.weight_decay, minimum=0),
        batch_size=table.integer("batch_size", base.batch_size, minimum=1),
        schedule=table.string("schedule", base.schedule, SCHEDULES),
        milestones=tuple(table.list_of("milestones", int, list(base.milestones))),
        normalize=table.string("normalize", base.normalize, NORMALIZATIONS),
        train_per_class=table.integer("train_per_class", base.train_per_class, minimum=0),
        seed=table.integer("seed", base.seed),
    )


def _check_name(table: Table, name: str, reserved: str) -> None:
    """Names become pytest node ids: no separators, not the reserved item name."""
    if not name or "::" in name or "/" in name or " " in name or name == reserved:
        raise table.fail("name", f"a non-empty name without '::', '/' or spaces, other than {reserved!r}", name)


def _dataset(table: Table) -> DatasetSpec:
    table.reject_unknown(
        ["name", "loader", "location", "contract", "role", "classes", "classes_file", "weight", "options"]
    )
    contract = table.string("contract", "full", CONTRACTS)
    classes = table.list_of("classes", int, None)
    spec = DatasetSpec(
        name=table.string("name"),
        loader=table.string("loader"),
        location=table.string("location", ""),
        contract=contract,
        role=table.string("role", "eval", ("train", "eval")),
        classes=tuple(classes) if classes is not None else None,
        classes_file=table.string("classes_file", None),
        weight=table.number("weight", None, minimum=0),
        options=dict(table.table("options").data),
    )
    _check_name(table, spec.name, reserved="aggregate")
    return spec


def _method(table: Table, suite_pre: Preprocessing, suite_probe: ProbeSpec) -> MethodSpec:
    table.reject_unknown(
        [
            "name",
            "arch",
            "checkpoint",
            "sha256",
            "layout",
            "source_url",
            "reported_top1",
            "preprocessing",
            "probe",
            "head_checkpoint",
            "head_sha256",
            "description",
            "file_name",
            "notes",
        ]
    )
    spec = MethodSpec(
        name=table.string("name"),
        arch=table.string("arch"),
        checkpoint=table.string("checkpoint"),
        sha256=table.string("sha256", None),
        layout=table.string("layout", None),
        source_url=table.string("source_url", None),
        reported_top1=table.number("reported_top1", None, minimum=0),
        preprocessing=_preprocessing(table.table("preprocessing"), suite_pre),
        probe=_probe(table.table("probe"), suite_probe),
        head_checkpoint=table.string("head_checkpoint", None),
        head_sha256=table.string("head_sha256", None),
    )
    _check_name(table, spec.name, reserved="ranking")
    if spec.probe.kind == "official-head" and not spec.head_checkpoint:
        raise table.fail("head_checkpoint", "a path when probe.kind = 'official-head'")
    return spec


def _gate(table: Table) -> GateSpec:
    table.reject_unknown(["margin", "sampling_factor", "mode", "alpha", "aggregate", "ranking"])
    agg = table.table("aggregate")
    agg.reject_unknown(["weighted_average_min", "geometric_mean_min"])
    rank = table.table("ranking")
    rank.reject_unknown(["min_kendall_tau", "max_lottery_pairs"])
    alpha = table.number("alpha", 0.05, minimum=0)
    if not 0 < alpha < 1:
        raise table.fail("alpha", "a number between 0 and 1", alpha)
    return GateSpec(
        margin=table.number("margin", 1.0, minimum=0),
        sampling_factor=table.number("sampling_factor", 2.0, minimum=0),
        mode=table.string("mode", "absolute", GATE_MODES),
        alpha=alpha,
        aggregate=AggregateGate(
            weighted_average_min=agg.number("weighted_average_min", None, minimum=0),
            geometric_mean_min=agg.number("geometric_mean_min", None, minimum=0),
        ),
        ranking=RankingGate(
            min_kendall_tau=rank.number("min_kendall_tau", None),
            max_lottery_pairs=rank.integer("max_lottery_pairs", None, minimum=0),
        ),
    )


def _unique(table: Table, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SpecError(f"{table.file}: [[{key}]] name {name!r} appears twice; names must be unique")
        seen.add(name)


def _aggregate_weights(aggregate: Table, agg_names: list[str]) -> str | dict[str, float]:
    """``[aggregate] weights``: "images", "equal", or a table with one non-negative weight per aggregate dataset."""
    raw = aggregate.data.get("weights", "images")
    if isinstance(raw, dict):
        table = aggregate.table("weights")
        table.reject_unknown(agg_names)
        weights = {name: table.number(name, minimum=0) for name in agg_names}
        if not any(weights.values()):
            raise aggregate.fail("weights", "at least one positive weight (all are 0: the average is undefined)", raw)
        return weights
    if raw not in ("images", "equal"):
        raise aggregate.fail("weights", "'images', 'equal', or a table of weights per dataset", raw)
    return str(raw)


def parse_suite(data: dict[str, Any], path: Path) -> Suite:
    """Validate a parsed TOML document and build the Suite."""
    root = Table(data, path, "")
    root.reject_unknown(
        ["schema_version", "suite", "probe", "gate", "aggregate", "preprocessing", "datasets", "methods"]
    )
    version = root.integer("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise root.fail("schema_version", f"{SCHEMA_VERSION} (this version of pytest-ssllottery)", version)
    head = root.table("suite", required=True)
    head.reject_unknown(
        [
            "name",
            "description",
            "reference",
            "train",
            "num_classes",
            "markers",
            "bootstrap_resamples",
        ]
    )
    probe = _probe(root.table("probe"), ProbeSpec())
    pre = _preprocessing(root.table("preprocessing"), Preprocessing())
    datasets = tuple(_dataset(t) for t in root.tables("datasets"))
    methods = tuple(_method(t, pre, probe) for t in root.tables("methods"))
    _unique(root, "datasets", [d.name for d in datasets])
    _unique(root, "methods", [m.name for m in methods])
    names = [d.name for d in datasets]
    train = head.string("train")
    reference = head.string("reference")
    for key, value in (("train", train), ("reference", reference)):
        if value not in names:
            raise head.fail(key, f"the name of one of the [[datasets]] ({', '.join(names)})", value)
    if next(d for d in datasets if d.name == train).role != "train":
        raise SpecError(f'{path}: dataset {train!r} is the suite\'s train split; give it role = "train"')
    eval_names = [d.name for d in datasets if d.role == "eval"]
    aggregate = root.table("aggregate")
    aggregate.reject_unknown(["datasets", "weights"])
    agg_names = aggregate.list_of("datasets", str, eval_names)
    for name in agg_names:
        if name not in eval_names:
            raise aggregate.fail("datasets", f"names of evaluation datasets ({', '.join(eval_names)})", name)
    weights = _aggregate_weights(aggregate, agg_names)
    explicit = {d.name: d.weight for d in datasets if d.name in agg_names and d.weight is not None}
    if len(explicit) == len(agg_names) and not any(explicit.values()):
        raise SpecError(
            f"{path}: every aggregate dataset has `weight = 0`, so the weighted average is undefined; "
            "give at least one of them a positive weight"
        )
    return Suite(
        name=head.string("name"),
        path=path,
        description=head.string("description", ""),
        reference=reference,
        train=train,
        num_classes=head.integer("num_classes", minimum=2),
        datasets=datasets,
        methods=methods,
        probe=probe,
        gate=_gate(root.table("gate")),
        aggregate_datasets=tuple(agg_names),
        aggregate_weights=weights,
        markers=tuple(head.list_of("markers", str, [])),
        bootstrap_resamples=head.integer("bootstrap_resamples", 1000, minimum=0),
    )


def load_suite(path: Path) -> Suite:
    """Read and validate a suite TOML file.

    Raises:
        SpecError: the file is not valid TOML or does not match the schema.
    """
    try:
        data = toml_reader.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the suite file ({exc.strerror})") from exc
    except toml_reader.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    return parse_suite(data, path)
