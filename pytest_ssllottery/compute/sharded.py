"""Under torchrun: every feature entry the selected items need, extracted once, sharded across ranks.

Rank 0 decides what is missing from its cache and tells the others; each rank extracts its batches of each
missing dataset for every method that needs it (one decode per geometry for image files); rank 0 gathers the
rows, checks them and stores the entries. Afterwards rank 0 runs the items from the cache alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..datasets import EvalDataset
from ..datasets.sources import FileSource
from ..errors import ExtractionError, SslLotteryError
from ..suite.spec import MethodSpec
from .cache import entry_key
from .distributed import Ranks, all_gather, broadcast, gather_rows, shard
from .engine import Engine, check_finite
from .features import extract_features, extract_group
from .preprocessing import geometry


def needed_features(
    engine: Engine, methods: Sequence[str], datasets: Sequence[str]
) -> list[tuple[MethodSpec, EvalDataset]]:
    """The (method, dataset) feature sets the selected cells read: each dataset, and train where a probe is missing."""
    needed: list[tuple[MethodSpec, EvalDataset]] = []
    for name in methods:
        method = engine.suite.method(name)
        linear = method.probe.kind == "linear"
        if linear and not engine.cache.has("probes", entry_key("probes", engine.probe_inputs(method))):
            needed.append((method, engine.train_dataset(method)))
        needed += [(method, engine.dataset(dataset)) for dataset in datasets]
    return needed


def extract_sharded(engine: Engine, methods: Sequence[str], datasets: Sequence[str], ranks: Ranks) -> int:
    """Extract the selected cells' missing features across the ranks; rank 0 stores them. Returns how many.

    Every rank must call this with the same arguments (torchrun starts the same command on each).
    """
    wanted = needed_features(engine, methods, datasets)
    keys = [engine.feature_key(method, dataset) for method, dataset in wanted]
    missing = broadcast([not engine.cache.has("features", key) for key in keys] if ranks.leader else None)
    groups: dict[tuple[object, ...], list[tuple[MethodSpec, EvalDataset]]] = {}
    seen: set[str] = set()
    for (method, dataset), key, absent in zip(wanted, keys, missing, strict=True):
        if not absent or key in seen:
            continue
        seen.add(key)
        files = isinstance(dataset.images, FileSource)
        shared = ("files", geometry(method.preprocessing)) if files else ("arrays", method.name)
        groups.setdefault((dataset.images.fingerprint(), *shared), []).append((method, dataset))
    settings = engine.extraction_settings()
    storage = engine.suite.feature_storage
    for members in groups.values():
        dataset = members[0][1]
        batches = shard(len(dataset), settings.batch_size, ranks)
        rows = sum(end - begin for begin, end in batches)
        names = ", ".join(m.name for m, _ in members)
        label = f"{dataset.name}: rank {ranks.rank} of {ranks.world}, shard of {rows} images for {names}"
        error, found = None, []
        try:
            with engine.progress.task(label, rows) as advance:
                if isinstance(dataset.images, FileSource):
                    models = [(engine.backbone(m).model, m.preprocessing) for m, _ in members]
                    found = extract_group(models, dataset.images, settings, advance, storage, batches)
                else:
                    method, model = members[0][0], engine.backbone(members[0][0]).model
                    pre = method.preprocessing
                    found = [extract_features(model, dataset.images, pre, settings, advance, storage, batches)]
        except SslLotteryError as exc:  # every rank learns of it, so none waits for a shard that never comes
            error = f"rank {ranks.rank}: {type(exc).__name__}: {exc}"
        failures = [e for e in all_gather(error) if e]
        if failures:
            raise ExtractionError("; ".join(failures))
        for (method, _), result in zip(members, found, strict=True):
            features = gather_rows(result.features, len(dataset), settings.batch_size, ranks)
            valid = gather_rows(result.valid, len(dataset), settings.batch_size, ranks, fill=False)
            if features is None or valid is None:
                continue
            check_finite(features, f"method {method.name!r} on dataset {dataset.name!r}: features")
            engine.cache.put("features", engine.feature_inputs(method, dataset), {"features": features, "valid": valid})
    return len(seen)
