"""Reading suite files: TOML -> :class:`~pytest_ssllottery.suite.spec.Suite`, every key validated.

Errors name the file, the dotted key, what was expected and what was found (see ``fields``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SpecError
from . import toml as toml_reader
from .feature_table import parse_features
from .fields import Table
from .spec import (
    CONTRACTS,
    EXTRA_PROTOCOLS,
    FEATURE_STORAGE,
    GATE_MODES,
    INTERPOLATIONS,
    NORMALIZATIONS,
    OPTIMIZERS,
    PROBE_KINDS,
    SCHEDULES,
    SCHEMA_VERSION,
    AggregateGate,
    DatasetSpec,
    GateSpec,
    MethodSpec,
    Preprocessing,
    ProbeSpec,
    RankingGate,
    Suite,
)


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


def parse_probe(table: Table, base: ProbeSpec) -> ProbeSpec:
    """A probe table over ``base`` (the suite's protocol, or the suite default for the [probe] table)."""
    table.reject_unknown([*base.as_dict(), "k", "temperature", "tolerance"])
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
        k=table.integer("k", base.k, minimum=1),
        temperature=table.number("temperature", base.temperature, minimum=1e-6),
        tolerance=table.number("tolerance", base.tolerance, minimum=0),
    )


def _check_name(table: Table, name: str, reserved: str) -> None:
    """Names become pytest node ids: no separators, not the reserved item name; '@' marks protocol variants."""
    if not name or "::" in name or "/" in name or " " in name or "@" in name or name == reserved:
        raise table.fail("name", f"a non-empty name without '::', '/', '@' or spaces, other than {reserved!r}", name)


def protocol_variants(methods: tuple[MethodSpec, ...], protocols: tuple[str, ...]) -> tuple[MethodSpec, ...]:
    """``<method>@<protocol>`` for every method and extra protocol: same backbone, the protocol's classifier.

    A method already scored by that protocol gets no variant; an official head is replaced by the protocol.
    A ``knn`` variant uses the method's ``knn_features`` when given (DINO's k-NN reads the final CLS token,
    its linear probe four blocks) and reports ``reported_knn_top1``; a ``linear`` variant keeps
    ``reported_top1`` (a linear-evaluation number).
    """
    variants = []
    for protocol in protocols:
        for method in methods:
            if method.probe.kind == protocol:
                continue
            changes: dict[str, Any] = {"name": f"{method.name}@{protocol}", "variant_of": method.name}
            changes["probe"] = replace(method.probe, kind=protocol)
            if protocol == "knn":
                changes["features"] = method.knn_features or method.features
                changes["reported_top1"] = method.reported_knn_top1
            variants.append(replace(method, **changes))
    return tuple(variants)


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
            "reported_knn_top1",
            "control",
            "preprocessing",
            "probe",
            "head_checkpoint",
            "head_sha256",
            "features",
            "knn_features",
            "description",
            "file_name",
            "notes",
        ]
    )
    name, arch = table.string("name"), table.string("arch")
    spec = MethodSpec(
        name=name,
        arch=arch,
        checkpoint=table.string("checkpoint"),
        sha256=table.string("sha256", None),
        layout=table.string("layout", None),
        source_url=table.string("source_url", None),
        reported_top1=table.number("reported_top1", None, minimum=0),
        reported_knn_top1=table.number("reported_knn_top1", None, minimum=0),
        control=table.boolean("control", False),
        preprocessing=_preprocessing(table.table("preprocessing"), suite_pre),
        probe=parse_probe(table.table("probe"), suite_probe),
        head_checkpoint=table.string("head_checkpoint", None),
        head_sha256=table.string("head_sha256", None),
        features=parse_features(table, "features", name, arch),
        knn_features=parse_features(table, "knn_features", name, arch),
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
            "feature_storage",
            "extra_protocols",
        ]
    )
    probe = parse_probe(root.table("probe"), ProbeSpec())
    pre = _preprocessing(root.table("preprocessing"), Preprocessing())
    datasets = tuple(_dataset(t) for t in root.tables("datasets"))
    methods = tuple(_method(t, pre, probe) for t in root.tables("methods"))
    extra = tuple(head.list_of("extra_protocols", str, []))
    for protocol in extra:
        if protocol not in EXTRA_PROTOCOLS:
            raise head.fail("extra_protocols", f"a list of protocols among {', '.join(EXTRA_PROTOCOLS)}", protocol)
    methods += protocol_variants(methods, extra)
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
        feature_storage=head.string("feature_storage", "float32", choices=FEATURE_STORAGE),
        extra_protocols=extra,
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
