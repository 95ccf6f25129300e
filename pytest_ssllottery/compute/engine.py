"""The engine: suite -> backbones -> cached features -> probe -> cell and aggregate records.

Everything is lazy and memoised: one cell loads one dataset, the method's train features and probe, and that
dataset's features. Features and probes are cached on disk by content (checkpoint sha256, image manifest,
preprocessing, arch, dtype, code versions): reruns and other processes reuse them; new weights or images miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..checkpoints.backbone import LoadedBackbone, load_backbone
from ..checkpoints.io import sha256_of
from ..datasets import EvalDataset, LoadContext, load_dataset
from ..datasets.labels import correctness, predict
from ..datasets.sources import FileSource
from ..errors import NonFiniteError, SpecError
from ..stats import pack_bits
from ..suite.settings import RunSettings
from ..suite.spec import MethodSpec, Suite
from .cache import ArtifactCache, cache_key, entry_key
from .features import EXTRACTOR_VERSION, ExtractionSettings, FeatureSet, extract_features, extract_group
from .knn import KNN_VERSION, KnnClassifier
from .preflight import checkpoint_path
from .preprocessing import geometry
from .probe import PROBE_VERSION, LinearProbe, fit_probe
from .progress import NullProgress, Progress
from .records import AggregateRecord, CellRecord

LOADER_VERSION = 1


def check_finite(values: np.ndarray, what: str) -> None:
    """Fail unless every value is finite: a NaN or infinite feature or logit is a broken model, not a score.

    Raises:
        NonFiniteError: naming ``what``, how many rows are affected and the first of them.
    """
    finite = np.isfinite(values)
    if finite.all():
        return
    bad_rows = np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1)) if values.ndim else np.array([0])
    raise NonFiniteError(
        f"{what}: {len(bad_rows)} of {len(values) if values.ndim else 1} rows hold NaN or infinite values "
        f"(first: row {int(bad_rows[0])}). The checkpoint's weights are broken (NaN/inf after a diverged run?) "
        "or its preprocessing overflows; nothing was cached, scored or recorded for it"
    )


def stratified_subset(targets: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Up to ``per_class`` indices of each class, drawn with a seeded RNG, returned ascending."""
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for label in np.unique(targets):
        members = np.flatnonzero(targets == label)
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


class Engine:
    """Computes cells, aggregates and probes of one suite, once each."""

    def __init__(self, suite: Suite, settings: RunSettings, progress: Progress | None = None) -> None:
        self.suite = suite
        self.settings = settings
        self.progress: Progress = progress or NullProgress()
        self.cache = ArtifactCache(settings.cache_dir)
        self._datasets: dict[str, EvalDataset] = {}
        self._digests: dict[str, str] = {}
        self._backbones: dict[str, LoadedBackbone] = {}
        self._probes: dict[str, tuple[LinearProbe | KnnClassifier, str]] = {}
        self._cells: dict[tuple[str, str], CellRecord] = {}
        self._aggregates: dict[str, AggregateRecord] = {}
        self._planned: tuple[str, ...] | None = None
        self._train_subsets: dict[tuple[int, int], EvalDataset] = {}

    # -- inputs -------------------------------------------------------------------------------------
    def dataset(self, name: str) -> EvalDataset:
        """The dataset ``name`` of the suite, loaded once."""
        if name not in self._datasets:
            context = LoadContext(
                num_classes=self.suite.num_classes,
                data_root=self.settings.data_root,
                cache_dir=self.settings.cache_dir,
                suite_dir=self.suite.path.parent,
                overrides=self.settings.dataset_paths,
            )
            with self.progress.task(f"{name}: reading the dataset", 1) as advance:
                self._datasets[name] = load_dataset(self.suite.dataset(name), context)
                advance(1)
        return self._datasets[name]

    def checkpoint_path(self, method: MethodSpec) -> Path:
        """Where the method's checkpoint is: package resource, absolute, or under the checkpoint dir."""
        return checkpoint_path(self.suite, self.settings, method.checkpoint)

    def head_path(self, method: MethodSpec) -> Path:
        """Where the method's released linear head is (resolved like its backbone checkpoint)."""
        return self.checkpoint_path(replace(method, checkpoint=method.head_checkpoint or ""))

    def checkpoint_digest(self, method: MethodSpec) -> str:
        """sha256 of the method's checkpoint file, checked against the suite's ``sha256`` pin on every run.

        The pin is checked here, not only when the checkpoint is unpickled, so that a warm feature cache
        never hides a wrong file.
        """
        if method.name not in self._digests:
            path = self.checkpoint_path(method)
            if not path.is_file():
                from ..errors import CheckpointError

                raise CheckpointError(
                    f"method {method.name!r}: checkpoint {path} does not exist. Download it"
                    + (f" from {method.source_url}" if method.source_url else "")
                    + ", or pass --ssl-checkpoint-dir / fix `checkpoint` in the suite"
                )
            digest = sha256_of(path)
            if method.sha256 and digest.lower() != method.sha256.lower():
                from ..errors import CheckpointError

                raise CheckpointError(
                    f"method {method.name!r}: checkpoint {path} has sha256 {digest}, the suite pins {method.sha256}. "
                    "The file is corrupt or a different release; download it again or update `sha256` in the suite"
                )
            self._digests[method.name] = digest
        return self._digests[method.name]

    def backbone(self, method: MethodSpec) -> LoadedBackbone:
        """The frozen backbone of ``method``, loaded once (only when features are not cached)."""
        if method.name not in self._backbones:
            self._backbones[method.name] = load_backbone(
                self.checkpoint_path(method),
                method.arch,
                sha256=method.sha256,
                trust=self.settings.trust_checkpoints,
                features=method.features,
            )
        return self._backbones[method.name]

    # -- features and probe --------------------------------------------------------------------------
    def extraction_settings(self) -> ExtractionSettings:
        """Device, batch size, loader workers and corrupt-image handling of feature extraction."""
        run = self.settings
        return ExtractionSettings(run.device, run.batch_size, run.num_workers, run.skip_corrupt, run.decode)

    def feature_inputs(self, method: MethodSpec, dataset: EvalDataset) -> dict[str, object]:
        """What the features of ``dataset`` under ``method`` depend on: their cache key's inputs."""
        settings = self.extraction_settings()
        return {
            "checkpoint_sha256": self.checkpoint_digest(method),
            "arch": method.arch,
            "preprocessing": method.preprocessing.as_dict(),
            **method.features_identity(),
            "images": dataset.images.fingerprint(),
            "dtype": settings.dtype,
            "extractor": EXTRACTOR_VERSION,
            "loader": LOADER_VERSION,
            "skip_corrupt": settings.skip_corrupt,
            **({"decode": settings.decode} if settings.decode != "pil" else {}),  # PIL entries keep their keys
            # float32 entries keep the keys they had before storage became a choice
            **({"storage": self.suite.feature_storage} if self.suite.feature_storage != "float32" else {}),
        }

    def features(self, method: MethodSpec, dataset: EvalDataset) -> tuple[FeatureSet, str]:
        """Features of ``dataset`` under ``method``, from the cache (memory-mapped) or extracted now."""
        settings = self.extraction_settings()
        inputs = self.feature_inputs(method, dataset)

        def compute() -> dict[str, np.ndarray]:
            peers = self.decode_peers(method, dataset)
            if peers:
                return self._extract_with_peers(method, peers, dataset)
            backbone = self.backbone(method)
            with self.progress.task(f"{method.name} · {dataset.name}: features", len(dataset)) as advance:
                found = extract_features(
                    backbone.model, dataset.images, method.preprocessing, settings, advance, self.suite.feature_storage
                )
            check_finite(found.features, f"method {method.name!r} on dataset {dataset.name!r}: features")
            return {"features": found.features, "valid": found.valid}

        arrays = self.cache.get_or_compute("features", inputs, compute)
        check_finite(arrays["features"], f"method {method.name!r} on dataset {dataset.name!r}: cached features")
        return FeatureSet(arrays["features"], arrays["valid"].astype(bool)), entry_key("features", inputs)

    def plan(self, methods: Iterable[str] | None) -> None:
        """The methods this process will compute: a dataset's decode then feeds all of them that share a geometry.

        ``None`` (the default, and under pytest-xdist, where each worker computes its own methods) decodes per method.
        """
        self._planned = None if methods is None else tuple(methods)

    def decode_peers(self, method: MethodSpec, dataset: EvalDataset) -> list[MethodSpec]:
        """Other planned methods with ``method``'s geometry whose features of ``dataset`` are not cached yet."""
        if self._planned is None or not isinstance(dataset.images, FileSource):
            return []
        shape = geometry(method.preprocessing)
        peers = [
            m
            for m in self.suite.methods
            if m.name in self._planned and m.name != method.name and geometry(m.preprocessing) == shape
        ]
        if dataset.name == self.suite.train:  # released heads read no train features; the others their own subset
            images = dataset.images.fingerprint()
            readers = [m for m in peers if m.probe.kind != "official-head"]
            peers = [m for m in readers if self.train_dataset(m).images.fingerprint() == images]
        # One peer per distinct entry: a method@knn with its method's features is not computed twice in a pass
        distinct = {self.feature_key(m, dataset): m for m in reversed(peers)}
        own = self.feature_key(method, dataset)
        return [m for k, m in distinct.items() if k != own and not self.cache.has("features", k)]

    def feature_key(self, method: MethodSpec, dataset: EvalDataset) -> str:
        """The cache key of ``method``'s features of ``dataset`` (nothing is read)."""
        return entry_key("features", self.feature_inputs(method, dataset))

    def _extract_with_peers(
        self, method: MethodSpec, peers: list[MethodSpec], dataset: EvalDataset
    ) -> dict[str, np.ndarray]:
        """One decode of ``dataset`` for ``method`` and its peers; the peers' entries are stored as they finish."""
        group = [method, *peers]
        assert isinstance(dataset.images, FileSource)
        models = [(self.backbone(m).model, m.preprocessing) for m in group]
        names = ", ".join(m.name for m in group)
        with self.progress.task(f"{dataset.name}: one decode for {len(group)} methods ({names})", len(dataset)) as step:
            found = extract_group(models, dataset.images, self.extraction_settings(), step, self.suite.feature_storage)
        for member, result in zip(group, found, strict=True):
            check_finite(result.features, f"method {member.name!r} on dataset {dataset.name!r}: features")
        for member, result in zip(peers, found[1:], strict=True):
            arrays = {"features": result.features, "valid": result.valid}
            self.cache.put("features", self.feature_inputs(member, dataset), arrays)
        return {"features": found[0].features, "valid": found[0].valid}

    def train_dataset(self, method: MethodSpec) -> EvalDataset:
        """The probe's train split for ``method``: a stratified subset, drawn once per (count, seed), if asked."""
        train = self.dataset(self.suite.train)
        if not method.probe.train_per_class:
            return train
        subset = (method.probe.train_per_class, method.probe.seed)
        if subset not in self._train_subsets:
            indices = stratified_subset(train.labels.targets, *subset)
            self._train_subsets[subset] = train.subset(indices)
        return self._train_subsets[subset]

    def probe_inputs(self, method: MethodSpec) -> dict[str, object]:
        """What a linear probe depends on: its cache key's inputs (the train features by key: nothing is read)."""
        train = self.train_dataset(method)
        if train.labels.contract != "full":
            raise SpecError(f'{self.suite.path}: the train split {train.name!r} must use contract = "full"')
        return {
            "features": self.feature_key(method, train),
            "labels": train.labels.fingerprint(),
            "probe": method.probe.as_dict(),
            "num_classes": self.suite.num_classes,
            "version": PROBE_VERSION,
            "device": "cpu" if method.probe.optimizer == "lbfgs" else self.settings.device,
        }

    def probe(self, method: MethodSpec) -> tuple[LinearProbe | KnnClassifier, str]:
        """The method's classifier: its linear probe (trained once, cached by content), head, or weighted k-NN."""
        if method.name in self._probes:
            return self._probes[method.name]
        if method.probe.kind == "knn":
            self._probes[method.name] = self._knn(method)
            return self._probes[method.name]
        if method.probe.kind != "linear":
            from .official_head import load_official_head

            head = load_official_head(
                method, self.head_path(method), self.suite.num_classes, self.settings.trust_checkpoints
            )
            self._probes[method.name] = head
            return head
        train = self.train_dataset(method)
        inputs = self.probe_inputs(method)

        def compute() -> dict[str, np.ndarray]:
            train_features, _ = self.features(method, train)
            valid = train_features.valid
            every = bool(valid.all())  # avoid copying 10 GB of ImageNet train features when nothing was skipped
            with self.progress.task(f"{method.name}: linear probe", method.probe.epochs) as advance:
                fitted = fit_probe(
                    train_features.features if every else train_features.features[valid],
                    train.labels.targets if every else train.labels.targets[valid],
                    self.suite.num_classes,
                    method.probe,
                    device=self.settings.device,
                    advance=advance,
                )
            return fitted.to_arrays()

        arrays = self.cache.get_or_compute("probes", inputs, compute)
        result = (LinearProbe.from_arrays(arrays), entry_key("probes", inputs))
        self._probes[method.name] = result
        return result

    def _knn(self, method: MethodSpec) -> tuple[KnnClassifier, str]:
        """Weighted k-NN over the method's (memory-mapped) train features; nothing to train or cache."""
        train = self.train_dataset(method)
        found, feature_key = self.features(method, train)
        every = bool(found.valid.all())
        classifier = KnnClassifier(
            found.features if every else found.features[found.valid],
            train.labels.targets if every else train.labels.targets[found.valid],
            self.suite.num_classes,
            k=method.probe.k,
            temperature=method.probe.temperature,
            device=self.settings.device,
        )
        inputs = {
            "features": feature_key,
            "labels": train.labels.fingerprint(),
            "probe": method.probe.as_dict(),
            "version": KNN_VERSION,
        }
        key = entry_key("knn", inputs)
        return classifier, key

    # -- results -------------------------------------------------------------------------------------
    def cell(self, method_name: str, dataset_name: str) -> CellRecord:
        """Score ``method`` on ``dataset`` (memoised)."""
        key = (method_name, dataset_name)
        if key in self._cells:
            return self._cells[key]
        method = self.suite.method(method_name)
        dataset = self.dataset(dataset_name)
        probe, probe_key = self.probe(method)
        found, feature_key = self.features(method, dataset)
        if isinstance(probe, KnnClassifier):
            subset = dataset.labels.classes if dataset.labels.contract == "subset" else None
            logits = probe.logits(found.features, tuple(subset) if subset is not None else None)
        else:
            logits = probe.logits(found.features)
        check_finite(logits, f"method {method.name!r} on dataset {dataset.name!r}: probe logits")
        hits = correctness(predict(logits, dataset.labels), dataset.labels, found.valid)
        fingerprint = dataset.fingerprint()
        if found.skipped:
            fingerprint = cache_key({"dataset": fingerprint, "valid": pack_bits(found.valid)})
        record = CellRecord(
            suite=self.suite.name,
            method=method_name,
            dataset=dataset_name,
            correct=int(hits.sum()),
            n=int(hits.size),
            fingerprint=fingerprint,
            bits=pack_bits(hits),
            skipped=found.skipped,
            checkpoint_sha256=self.checkpoint_digest(method),
            feature_key=feature_key,
            probe_key=probe_key,
            device=self.settings.device,
        )
        self._cells[key] = record
        return record

    def aggregate(self, method_name: str) -> AggregateRecord:
        """Weighted average and geometric mean of the method's aggregate datasets (memoised)."""
        if method_name in self._aggregates:
            return self._aggregates[method_name]
        cells = [self.cell(method_name, name) for name in self.suite.aggregate_datasets]
        weights = [self.suite.aggregate_weight(c.dataset, c.n) for c in cells]
        record = AggregateRecord.of_cells(cells, weights)
        self._aggregates[method_name] = record
        return record

    def provenance(
        self, method_name: str, device: str | None = None, checkpoint_sha256: str | None = None
    ) -> dict[str, object]:
        """What produced a method's numbers, for the baseline file.

        ``checkpoint_sha256`` is the hash its records carry (computed when they were); without it the file is hashed.
        """
        import datetime
        import platform

        import torch

        method = self.suite.method(method_name)
        head: dict[str, object] = {}
        if method.probe.kind == "official-head":
            head = {"head_checkpoint_sha256": sha256_of(self.head_path(method))}
        return {
            **head,
            "checkpoint_sha256": checkpoint_sha256 or self.checkpoint_digest(method),
            "arch": method.arch,
            "probe": method.probe.as_dict(),
            "preprocessing": method.preprocessing.as_dict(),
            **method.features_identity(),
            "pytest_ssllottery": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": device or self.settings.device,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
