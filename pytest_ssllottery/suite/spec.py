"""What a suite is: frozen dataclasses for its datasets, methods, probe protocol, aggregates and gate.

A suite lists datasets (one of them the probe's train split), methods (architecture + checkpoint +
preprocessing), the probe protocol, aggregate weights and the gate settings. ``parse`` builds it from
TOML; see docs/suite-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import SpecError

SCHEMA_VERSION = 1
PROBE_KINDS = ("linear", "official-head", "knn")
OPTIMIZERS = ("lbfgs", "sgd", "lars")
SCHEDULES = ("cosine", "step", "constant")
NORMALIZATIONS = ("none", "l2", "standardize")
GATE_MODES = ("absolute", "significant")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
# Label-space contracts (see datasets.labels): how a dataset's predictions are scored.
CONTRACTS = ("full", "subset", "multilabel")
FEATURE_STORAGE = ("float32", "float16")
EXTRA_PROTOCOLS = ("knn", "linear")
# Token features of a ViT (``features`` of a method): how block outputs are normalised and combined.
FEATURE_NORMS = ("final", "none")
FEATURE_ORDERS = ("concat", "interleave")


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
    """The evaluation protocol: a linear probe, the released head, or weighted k-NN (suite default, per method)."""

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
    k: int = 20  # kind = "knn": neighbours that vote
    temperature: float = 0.07  # kind = "knn": votes weigh exp(similarity / temperature)
    tolerance: float = 1e-4  # optimizer = "lbfgs": stop when no gradient entry exceeds it (scikit-learn's tol)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for cache keys and provenance (protocol-specific fields only for their protocol)."""
        knn = {"k": self.k, "temperature": self.temperature} if self.kind == "knn" else {}
        lbfgs = {"tolerance": self.tolerance} if self.kind == "linear" and self.optimizer == "lbfgs" else {}
        return (
            knn
            | lbfgs
            | {
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
        )


@dataclass(frozen=True)
class FeatureSpec:
    """Which tokens of a ViT make a method's feature vector (the ``features`` table of a method).

    The CLS tokens of the last ``cls_blocks`` blocks, oldest first, then (``patch_mean``) the mean of the last
    block's patch tokens. ``norm = "final"`` passes every block's tokens through the model's final LayerNorm
    first (DINO, iBOT and DINOv2 ``get_intermediate_layers``). ``order = "interleave"`` reproduces DINO's
    ``eval_linear.py`` with ``avgpool_patchtokens``: CLS and patch mean stacked per channel, then flattened
    (``[c0, m0, c1, m1, ...]``); only defined for one CLS token plus the patch mean.
    """

    cls_blocks: int = 1
    patch_mean: bool = False
    norm: str = "final"
    order: str = "concat"

    @property
    def tokens(self) -> int:
        """How many token vectors are combined."""
        return self.cls_blocks + int(self.patch_mean)

    def dim(self, width: int) -> int:
        """Feature size for a ViT of embedding ``width``."""
        return self.tokens * width

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for cache keys and provenance."""
        return {"cls_blocks": self.cls_blocks, "patch_mean": self.patch_mean, "norm": self.norm, "order": self.order}


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
    reported_knn_top1: float | None = None  # the authors' k-NN top-1: the ``@knn`` variant's reported number
    control: bool = False  # a floor or ceiling (untrained, supervised): shown, but not a contender
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    probe: ProbeSpec = field(default_factory=ProbeSpec)
    head_checkpoint: str | None = None
    head_sha256: str | None = None
    features: FeatureSpec | None = None  # ViT token features; None = the architecture's pooled feature
    knn_features: FeatureSpec | None = None  # the ``@knn`` variant's features, when they differ (DINO: final CLS)
    variant_of: str | None = None  # ``<method>@<protocol>``: the method this scores with an extra protocol

    def features_identity(self) -> dict[str, Any]:
        """``{"features": ...}`` for cache keys and provenance; empty without token features (keys unchanged)."""
        return {"features": self.features.as_dict()} if self.features is not None else {}


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
    feature_storage: str = "float32"  # dtype of cached features: "float16" halves the cache (ImageNet: 5 GB/method)
    extra_protocols: tuple[str, ...] = ()  # each method is also scored as ``<method>@<protocol>`` (``knn``)

    @property
    def primary_methods(self) -> tuple[MethodSpec, ...]:
        """The methods under the suite's own protocol (without the ``@<protocol>`` variants)."""
        return tuple(m for m in self.methods if m.variant_of is None)

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

    def with_gate(self, **overrides: Any) -> Suite:
        """A copy whose gate has some settings replaced (``--ssl-gate``, ``--ssl-margin``, ...)."""
        return replace(self, gate=replace(self.gate, **overrides))
