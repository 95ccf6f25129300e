"""Reading a method's ``features`` / ``knn_features`` table: which ViT tokens make its feature vector.

Example (DINO ViT-S/16, the CLS tokens of the last four blocks after the final LayerNorm)::

    features = { cls_blocks = 4, patch_mean = false, norm = "final", order = "concat" }

Errors name the file, the dotted key and the method, and say which values are accepted.
"""

from __future__ import annotations

from ..errors import SpecError
from .fields import Table
from .spec import FEATURE_NORMS, FEATURE_ORDERS, FeatureSpec

FEATURE_KEYS = ("cls_blocks", "patch_mean", "norm", "order")


def parse_features(table: Table, key: str, method: str, arch: str) -> FeatureSpec | None:
    """The ``key`` table of a method (``features`` or ``knn_features``), or None when it is absent.

    Raises:
        SpecError: an unknown key, a value out of range, a combination that defines no feature, or token
            features on an architecture that is not a timm ViT.
    """
    if key not in table.data:
        return None
    try:
        return _features(table.table(key), key, arch)
    except SpecError as exc:
        raise SpecError(f"{exc} (method {method!r})") from None


def _features(table: Table, key: str, arch: str) -> FeatureSpec:
    table.reject_unknown(FEATURE_KEYS)
    if not arch.startswith("timm:"):
        raise SpecError(
            f"{table.file}: key `{table.where}`: token features need a timm Vision Transformer arch "
            f'(`arch = "timm:<vit model>"`), found arch {arch!r}; remove `{key}` to use the architecture\'s '
            "pooled feature"
        )
    spec = FeatureSpec(
        cls_blocks=table.integer("cls_blocks", 1, minimum=0),
        patch_mean=table.boolean("patch_mean", False),
        norm=table.string("norm", "final", FEATURE_NORMS),
        order=table.string("order", "concat", FEATURE_ORDERS),
    )
    if spec.tokens == 0:
        raise table.fail("cls_blocks", "at least one token: cls_blocks >= 1, or patch_mean = true", spec.cls_blocks)
    if spec.order == "interleave" and (spec.cls_blocks != 1 or not spec.patch_mean):
        raise table.fail(
            "order",
            "'concat', or 'interleave' only with cls_blocks = 1 and patch_mean = true "
            "(DINO ViT-B's [CLS, patch mean] flattened per channel)",
            spec.order,
        )
    return spec
