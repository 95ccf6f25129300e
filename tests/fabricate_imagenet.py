"""Fabricated ImageNet-style inputs for tests: tiny JPEG datasets in the layouts as distributed, a devkit,
ground-truth files, a ReaL json, and SSL checkpoints in every official key layout (random weights).

Nothing here is real ImageNet data: images are small noisy colour patches whose colour depends on the
class (so a probe can learn them), written with the real folder and file names.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import scipy.io
import torch
from PIL import Image

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.datasets import LoadContext
from pytest_ssllottery.datasets.imagenet_classes import imagenet_wnids
from pytest_ssllottery.shapes.zoo.layouts import to_separius
from pytest_ssllottery.suite.spec import DatasetSpec

WNIDS = imagenet_wnids()
SEA_SNAKE = 65  # n01751748: val_00000001's class; the devkit lists it as ILSVRC2012_ID 490
ALP = 970  # n09193705
SIZE = 24


# -- images ----------------------------------------------------------------------------------------------
def class_colour(index: int) -> np.ndarray:
    """A fixed RGB colour per class index."""
    return np.random.default_rng(1000 + index).integers(30, 226, size=3).astype(float)


def write_image(path: Path, index: int, seed: int, size: int = SIZE) -> Path:
    """A small JPEG (or PNG, by suffix) of the class colour plus noise."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(class_colour(index) + rng.normal(0.0, 18.0, size=(size, size + 4, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels)
    if path.suffix.lower() == ".png":
        image.save(path, format="PNG")
    else:
        image.save(path, format="JPEG", quality=90)
    return path


def write_corrupt(path: Path) -> Path:
    """A file with an image name whose bytes are not an image (a truncated download)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return path


def wnid_folders(
    root: Path, classes: Iterable[int], per_class: int, name: str = "{wnid}_{k}.JPEG", seed: int = 0
) -> list[tuple[str, int]]:
    """``root/<wnid>/<name>`` images; returns (relative path, class) in sorted order."""
    out = []
    for index in sorted(classes):
        wnid = WNIDS[index]
        for k in range(per_class):
            relative = f"{wnid}/{name.format(wnid=wnid, k=k)}"
            write_image(root / relative, index, seed * 100_000 + index * 100 + k)
            out.append((relative, index))
    return out


def val_name(number: int) -> str:
    """``ILSVRC2012_val_00000001.JPEG`` for number 1."""
    return f"ILSVRC2012_val_{number:08d}.JPEG"


def flat_val(root: Path, labels: Sequence[int], seed: int = 7) -> list[str]:
    """Flat val files numbered 1..len(labels), file i showing class labels[i - 1]."""
    names = []
    for number, index in enumerate(labels, start=1):
        write_image(root / val_name(number), index, seed * 100_000 + number)
        names.append(val_name(number))
    return names


def folder_val(root: Path, labels: Sequence[int], seed: int = 7) -> list[str]:
    """The same val files sorted into wnid folders (val/<wnid>/ILSVRC2012_val_XXXXXXXX.JPEG)."""
    names = []
    for number, index in enumerate(labels, start=1):
        relative = f"{WNIDS[index]}/{val_name(number)}"
        write_image(root / relative, index, seed * 100_000 + number)
        names.append(relative)
    return names


def v2_folders(root: Path, classes: Iterable[int], per_class: int, seed: int = 3) -> list[tuple[str, int]]:
    """ImageNetV2 class folders ``<k>/<hash>.jpeg`` (k = class index, hash-like file names)."""
    out = []
    for index in sorted(classes):
        for k in range(per_class):
            relative = f"{index}/{(index * 7919 + k * 104729):040x}.jpeg"
            write_image(root / relative, index, seed * 100_000 + index * 100 + k)
            out.append((relative, index))
    return out


# -- label sources -----------------------------------------------------------------------------------------
def devkit_ids(seed: int = 0) -> dict[str, int]:
    """wnid -> ILSVRC2012_ID (1..1000) in a shuffled order that is not the sorted order; n01751748 -> 490."""
    order = list(np.random.default_rng(seed).permutation(1000))
    ids = {WNIDS[int(index)]: position + 1 for position, index in enumerate(order)}
    holder = next(w for w, i in ids.items() if i == 490)
    ids[holder], ids[WNIDS[SEA_SNAKE]] = ids[WNIDS[SEA_SNAKE]], 490
    return ids


def meta_mat(ids: Mapping[str, int]) -> bytes:
    """``data/meta.mat`` with the devkit's ``synsets`` struct: 1000 leaves plus a few parent synsets."""
    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height"]
    fields.append("num_train_images")
    rows = sorted(ids.items(), key=lambda item: item[1])
    parents = [(1001 + k, f"n0000000{k}", 3) for k in range(3)]
    table = np.zeros((len(rows) + len(parents), 1), dtype=[(f, "O") for f in fields])
    for row, (wnid, ilsvrc_id) in enumerate(rows):
        table[row, 0] = (ilsvrc_id, wnid, f"words {wnid}", "gloss", 0, np.zeros((0, 0)), 0, 1300)
    for offset, (ilsvrc_id, wnid, children) in enumerate(parents):
        kids = np.arange(1, children + 1).reshape(1, -1)
        table[len(rows) + offset, 0] = (ilsvrc_id, wnid, "parent", "gloss", children, kids, 2, 0)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"synsets": table})
    return buffer.getvalue()


def devkit(path: Path, labels: Sequence[int], ids: Mapping[str, int] | None = None, folder: bool = False) -> Path:
    """ILSVRC2012_devkit_t12.tar.gz (or its extracted folder) whose ground truth lists ILSVRC2012_IDs."""
    ids = ids or devkit_ids()
    truth = "".join(f"{ids[WNIDS[index]]}\n" for index in labels).encode()
    members = {
        "ILSVRC2012_devkit_t12/data/meta.mat": meta_mat(ids),
        "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": truth,
        "ILSVRC2012_devkit_t12/readme.txt": b"fabricated devkit\n",
    }
    if folder:
        for name, data in members.items():
            target = path / name.removeprefix("ILSVRC2012_devkit_t12/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def val_txt(path: Path, labels: Sequence[int], integers: bool = False) -> Path:
    """``ILSVRC2012_val_00000001.JPEG n01751748`` lines (or 0-based sorted indices, as caffe's val.txt)."""
    lines = [f"{val_name(n)} {index if integers else WNIDS[index]}" for n, index in enumerate(labels, start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def loc_solution(path: Path, labels: Sequence[int]) -> Path:
    """Kaggle's ``LOC_val_solution.csv`` (rows in shuffled order, boxes after the wnid)."""
    rows = [f"ILSVRC2012_val_{n:08d},{WNIDS[i]} 10 20 30 40 {WNIDS[i]} 1 2 3 4" for n, i in enumerate(labels, 1)]
    path.write_text("ImageId,PredictionString\n" + "\n".join(reversed(rows)) + "\n")
    return path


def real_json(path: Path, sets: Sequence[Sequence[int]]) -> Path:
    """A ``real.json``: element i = label set of ILSVRC2012_val_{i+1:08d}.JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([list(s) for s in sets]))
    return path


# -- checkpoints in the official layouts --------------------------------------------------------------------
def backbone_state(seed: int, arch: str = "resnet50") -> dict[str, torch.Tensor]:
    """A random state dict of ``arch`` (torchvision key names, with ``fc``), reproducible from ``seed``.

    BN running statistics are randomised too, so every tensor differs between seeds.
    """
    torch.manual_seed(seed)
    state = get_architecture(arch).build().state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if value.is_floating_point():
            value = torch.rand_like(value) + 0.5 if "running_var" in key else torch.randn_like(value) * 0.05
        out[key] = value.clone()
    return out


def _under(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in tensors.items()}


_SHIFTED: dict[int, tuple[Mapping[str, torch.Tensor], dict[str, torch.Tensor]]] = {}


def _shifted(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` + 1 (the values of a momentum/key/student copy), computed once per state object."""
    cached = _SHIFTED.get(id(state))
    if cached is None or cached[0] is not state:
        cached = (state, {k: v + 1.0 if v.is_floating_point() else v.clone() for k, v in state.items()})
        _SHIFTED[id(state)] = cached
    return cached[1]


def _mlp(prefix: str, dims: Sequence[int], bn: bool = True) -> dict[str, torch.Tensor]:
    """Projector-like Linear(/BN) tensors under ``prefix`` (shapes only matter)."""
    out: dict[str, torch.Tensor] = {}
    index = 0
    for fan_in, fan_out in itertools.pairwise(dims):
        out[f"{prefix}{index}.weight"] = torch.zeros(fan_out, fan_in)
        out[f"{prefix}{index}.bias"] = torch.zeros(fan_out)
        if bn:
            out[f"{prefix}{index + 1}.weight"] = torch.ones(fan_out)
            out[f"{prefix}{index + 1}.bias"] = torch.zeros(fan_out)
            out[f"{prefix}{index + 1}.running_mean"] = torch.zeros(fan_out)
            out[f"{prefix}{index + 1}.running_var"] = torch.ones(fan_out)
        index += 3
    return out


def _separius(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision keys -> SimCLRv2-Pytorch (Separius) keys, the inverse of the loader's rename."""
    return {to_separius(key): value for key, value in state.items()}


def _obow_native(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head == "conv1":
            out[f"_feature_blocks.0.Conv.{rest}"] = value
        elif head == "bn1":
            out[f"_feature_blocks.0.bn.{rest}"] = value
        elif head.startswith("layer"):
            out[f"_feature_blocks.{head.removeprefix('layer')}.{rest}"] = value
    return out


LAYOUTS = (
    "torchvision",
    "dino-full",
    "swav",
    "deepcluster-v2",
    "moco",
    "moco-v3",
    "barlow-full",
    "vicreg-full",
    "byol-convert",
    "byol-ssl-transfer",
    "obow",
    "obow-native",
    "simsiam",
    "simclr-converter",
    "simclr-v2-separius",
    "solo-learn",
    "mmselfsup",
    "vissl",
    "lincls",
)


def official_checkpoint(state: Mapping[str, torch.Tensor], layout: str) -> object:
    """The object an official release would hold for ``state`` (torchvision keys incl. ``fc``) in ``layout``.

    Momentum/key/student/target copies get different values (``state`` + 1), so a loader that picks
    them is caught. Layout names are the ``layout`` tokens of the bundled imagenet-variants suite.
    """
    backbone = {k: v for k, v in state.items() if not k.startswith("fc.")}
    other = {k: v for k, v in _shifted(state).items() if not k.startswith("fc.")}
    dim = int(state["fc.weight"].shape[1])
    namespace = argparse.Namespace(arch="resnet50", lr=0.1)
    if layout == "torchvision":
        return backbone
    if layout == "dino-full":
        teacher = {f"module.backbone.{k}": v for k, v in backbone.items()} | _mlp(
            "module.head.mlp.", [dim, 32, 8], False
        )
        student = {f"module.backbone.{k}": v for k, v in other.items()} | _mlp("module.head.mlp.", [dim, 32, 8], False)
        return {"student": student, "teacher": teacher, "epoch": 100, "args": namespace, "dino_loss": {}}
    if layout in ("swav", "deepcluster-v2"):
        flat = {f"module.{k}": v for k, v in backbone.items()} | _mlp("module.projection_head.", [dim, 32, 16])
        if layout == "swav":
            return flat | {"module.prototypes.weight": torch.randn(30, 16)}
        return flat | {f"module.prototypes.prototypes{i}.weight": torch.randn(30, 16) for i in range(3)}
    if layout == "moco":
        sd = {f"module.encoder_q.{k}": v for k, v in backbone.items()} | _mlp(
            "module.encoder_q.fc.", [dim, dim, 128], False
        )
        sd |= {f"module.encoder_k.{k}": v for k, v in other.items()} | _mlp(
            "module.encoder_k.fc.", [dim, dim, 128], False
        )
        sd |= {"module.queue": torch.randn(128, 64), "module.queue_ptr": torch.zeros(1, dtype=torch.long)}
        return {"epoch": 800, "arch": "resnet50", "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}
    if layout == "moco-v3":
        sd = {f"module.base_encoder.{k}": v for k, v in backbone.items()} | _mlp(
            "module.base_encoder.fc.", [dim, 64, 16]
        )
        sd |= {f"module.momentum_encoder.{k}": v for k, v in other.items()}
        sd |= _mlp("module.momentum_encoder.fc.", [dim, 64, 16]) | _mlp("module.predictor.", [16, 64, 16])
        scaler = {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 0}
        return {"epoch": 1000, "arch": "resnet50", "state_dict": sd, "optimizer": {}, "scaler": scaler}
    if layout in ("barlow-full", "vicreg-full"):
        model = {f"module.backbone.{k}": v for k, v in backbone.items()} | _mlp("module.projector.", [dim, 64, 64])
        if layout == "barlow-full":
            model |= {"module.bn.running_mean": torch.zeros(64), "module.bn.running_var": torch.ones(64)}
        return {"epoch": 1000, "model": model, "optimizer": {"state": {}, "param_groups": []}}
    if layout == "byol-convert":
        return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if layout == "byol-ssl-transfer":
        return {"state_dict": backbone}
    if layout == "obow":
        return {"network": backbone | {"fc.weight": torch.randn(8192, dim), "fc.bias": torch.randn(8192)}}
    if layout == "obow-native":
        return {"network": _obow_native(backbone), "epoch": 200}
    if layout == "simsiam":
        sd = {f"module.encoder.{k}": v for k, v in backbone.items()} | _mlp("module.encoder.fc.", [dim, dim, dim, dim])
        sd |= _mlp("module.predictor.", [dim, 64, dim])
        return {"epoch": 100, "arch": "resnet50", "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}
    if layout == "simclr-converter":
        return {"state_dict": dict(state)}
    if layout == "simclr-v2-separius":
        return {"resnet": _separius(dict(state)), "head": _mlp("layers.", [dim, dim, 128])}
    if layout == "solo-learn":
        sd = {f"backbone.{k}": v for k, v in backbone.items()}
        sd |= {f"momentum_backbone.{k}": v for k, v in other.items()} | _mlp("projector.", [dim, 64, 32])
        sd |= {"classifier.weight": torch.randn(1000, dim), "classifier.bias": torch.randn(1000)}
        return {"epoch": 99, "global_step": 1, "state_dict": sd, "hyper_parameters": {"name": "byol"}}
    if layout == "mmselfsup":
        sd = {f"backbone.{k}": v for k, v in backbone.items()}
        sd |= {f"target_net.0.{k}": v for k, v in other.items()} | _mlp("neck.mlp.", [dim, 64, 32])
        return {"meta": {"epoch": 200, "mmselfsup_version": "0.9"}, "state_dict": sd}
    if layout == "vissl":
        trunk = {f"_feature_blocks.{k}": v for k, v in backbone.items()}
        model = {"trunk": trunk, "heads": _mlp("0.clf.", [dim, 32])}
        return {"classy_state_dict": {"base_model": {"model": model}}, "train_phase_idx": 799, "phase_idx": 1599}
    if layout == "lincls":
        sd = {f"module.{k}": v for k, v in state.items()}
        return {"epoch": 90, "arch": "resnet50", "state_dict": sd, "best_acc1": torch.tensor(74.6), "optimizer": {}}
    raise ValueError(f"unknown layout {layout!r}")


def save_checkpoint(path: Path, state: Mapping[str, torch.Tensor], layout: str) -> Path:
    """Write ``state`` in ``layout`` to ``path`` with torch.save."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(official_checkpoint(state, layout), path)
    return path


def official_head(path: Path, weight: torch.Tensor, bias: torch.Tensor, layout: str) -> Path:
    """A released linear head: ``dino``/``swav`` (``module.linear.*``) or ``lincls`` (whole classifier, ``fc``)."""
    if layout in ("dino", "swav"):
        sd = {"module.linear.weight": weight, "module.linear.bias": bias}
        obj: dict[str, object] = {"epoch": 100, "state_dict": sd, "optimizer": {}, "best_acc": 75.3}
        if layout == "swav":
            obj["scheduler"] = {"T_max": 100, "eta_min": 0, "last_epoch": 100}
    elif layout == "lincls":
        sd = {f"module.{k}": v for k, v in backbone_state(5, "shapes_resnet").items() if not k.startswith("fc.")}
        sd |= {"module.fc.weight": weight, "module.fc.bias": bias}
        obj = {"epoch": 90, "arch": "resnet50", "state_dict": sd, "best_acc1": torch.tensor(74.6), "optimizer": {}}
    else:
        raise ValueError(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


# -- loader inputs -------------------------------------------------------------------------------------------
def dataset_spec(
    name: str,
    loader: str,
    location: str,
    contract: str = "full",
    classes_file: str | None = None,
    **options: object,
) -> DatasetSpec:
    """A DatasetSpec as the suite parser would build it."""
    return DatasetSpec(name, loader, location, contract=contract, classes_file=classes_file, options=dict(options))


def load_context(root: Path, num_classes: int = 1000, **overrides: Path) -> LoadContext:
    """A LoadContext with ``root`` as data root and suite folder."""
    return LoadContext(num_classes, data_root=root, cache_dir=root / ".cache", suite_dir=root, overrides=overrides)
