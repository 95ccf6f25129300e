"""Backbone architectures by name.

Every architecture is built with torchvision's key names (``conv1``, ``bn1``, ``layer{i}.{j}.conv1``,
``layer{i}.0.downsample.{0,1}``, ``fc``), so one checkpoint loader serves them all. Names:

- torchvision ResNets: ``resnet18``, ``resnet34``, ``resnet50``, ``resnet101``, ``resnet152``.
- ``shapes_resnet``: the narrow three-stage ResNet of the embedded ``shapes`` benchmark (32 px input).
- ``timm:<model>``: any timm model, built without pretrained weights; ``timm:<model>(key=value, ...)`` passes
  constructor arguments (see ``timm_names``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import SpecError
from .timm_names import split_timm_name

SHAPES_WIDTHS = (16, 32, 64)


@dataclass(frozen=True)
class Architecture:
    """A named backbone family: how to build it and the size of its pooled feature."""

    name: str
    feature_dim: int
    default_classes: int
    factory: Callable[[int], nn.Module]

    def build(self, num_classes: int | None = None) -> nn.Module:
        """A freshly initialised model whose classifier is ``fc`` (or timm's head)."""
        return self.factory(self.default_classes if num_classes is None else num_classes)


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock (same parameter names), without importing torchvision."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv-bn-relu-conv-bn plus the (projected) identity, then relu."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        result: torch.Tensor = self.relu(out + identity)
        return result


class ShapesResNet(nn.Module):
    """Narrow ResNet for 32 px images: 3x3 stem, no max-pool, one BasicBlock per stage.

    The key names match torchvision's ResNet, so checkpoints in torchvision-derived layouts load into
    it through the same loader as a ResNet-50.
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = SHAPES_WIDTHS) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        in_planes = widths[0]
        self.stages = len(widths)
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            downsample = None
            if stride != 1 or in_planes != width:
                downsample = nn.Sequential(
                    nn.Conv2d(in_planes, width, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(width),
                )
            setattr(self, f"layer{index + 1}", nn.Sequential(BasicBlock(in_planes, width, stride, downsample)))
            in_planes = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc: nn.Module = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, or pooled features when ``fc`` is ``nn.Identity``."""
        x = self.relu(self.bn1(self.conv1(x)))
        for index in range(self.stages):
            x = getattr(self, f"layer{index + 1}")(x)
        out: torch.Tensor = self.fc(torch.flatten(self.avgpool(x), 1))
        return out


def _torchvision(name: str) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        import torchvision.models as tvm

        model: nn.Module = getattr(tvm, name)(weights=None, num_classes=num_classes)
        return model

    return build


@functools.cache
def _timm(name: str) -> Architecture:
    try:
        import timm
    except ImportError as exc:  # pragma: no cover - timm is a dependency
        raise SpecError(f"arch 'timm:{name}' needs timm; install it with `pip install timm`") from exc
    model_name, args = split_timm_name(name)
    kwargs: dict[str, Any] = dict(args)  # timm's create_model takes **kwargs: Any
    if model_name not in timm.list_models():
        raise SpecError(f"arch 'timm:{name}': timm has no model {model_name!r}; see timm.list_models()")
    try:
        probe = timm.create_model(model_name, pretrained=False, **kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise SpecError(f"arch 'timm:{name}': timm cannot build {model_name!r} with {kwargs}: {exc}") from exc

    def build(num_classes: int) -> nn.Module:
        model: nn.Module = timm.create_model(model_name, pretrained=False, num_classes=num_classes, **kwargs)
        return model

    features, classes = getattr(probe, "num_features"), getattr(probe, "num_classes")  # noqa: B009
    return Architecture(f"timm:{name}", int(features), int(classes), build)


_TORCHVISION_DIMS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048}

ARCHITECTURES: dict[str, Architecture] = {
    name: Architecture(name, dim, 1000, _torchvision(name)) for name, dim in _TORCHVISION_DIMS.items()
}
ARCHITECTURES["shapes_resnet"] = Architecture(
    "shapes_resnet", SHAPES_WIDTHS[-1], 10, lambda n: ShapesResNet(num_classes=n)
)


def get_architecture(name: str) -> Architecture:
    """Look an architecture up by name; ``timm:<model>`` builds any timm model (inspected once per name).

    Raises:
        SpecError: the name is unknown; the message lists the known names.
    """
    if name.startswith("timm:"):
        return _timm(name.removeprefix("timm:"))
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise SpecError(f"unknown arch {name!r}; expected one of {known}, or 'timm:<model name>'") from None


def classifier_prefixes(model: nn.Module) -> tuple[str, ...]:
    """Key prefixes of the model's classification head (``fc.`` for ResNets, timm's head otherwise)."""
    get_classifier = getattr(model, "get_classifier", None)
    if callable(get_classifier):
        head = get_classifier()
        for name, module in model.named_modules():
            if module is head and name:
                return (name + ".",)
    return ("fc.",)


def strip_classifier(model: nn.Module) -> nn.Module:
    """Replace the classification head so the model returns its pooled feature."""
    reset = getattr(model, "reset_classifier", None)
    if callable(reset):
        reset(0)
    else:
        model.fc = nn.Identity()
    return model
