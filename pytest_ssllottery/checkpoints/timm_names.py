"""``timm:<model>(key=value, ...)`` arch names: a timm model with a few constructor arguments, as data.

Some official releases differ from timm's default configuration in ways their key names do not show:
MoCo v3's ViT-S has 12 attention heads (timm's ``vit_small_patch16_224`` has 6; the tensors have the same
shapes, so only the outputs would differ), and DINOv2 is evaluated at 224 px (timm's default is 518 px).
Values are integers, floats, ``true``/``false`` or bare words (strings)::

    timm:vit_small_patch16_224(num_heads=12)
    timm:vit_small_patch14_dinov2(img_size=224)
"""

from __future__ import annotations

import re

from ..errors import SpecError

TimmArg = int | float | bool | str
_CALL = re.compile(r"^(?P<model>[\w.\-]+)\s*(?:\((?P<args>.*)\))?$")
_ARG = re.compile(r"^\s*(?P<key>[A-Za-z_]\w*)\s*=\s*(?P<value>[^=,]+?)\s*$")
_RESERVED = ("pretrained", "num_classes")


def _value(text: str) -> TimmArg:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if re.fullmatch(r"[A-Za-z_][\w.\-]*", text):
        return text
    raise ValueError(text)


def split_timm_name(name: str) -> tuple[str, dict[str, TimmArg]]:
    """The timm model name and its constructor arguments, from ``<model>`` or ``<model>(k=v, ...)``.

    Raises:
        SpecError: the text is not of that form, or sets ``pretrained``/``num_classes`` (the loader owns them).

    >>> split_timm_name("vit_small_patch16_224(num_heads=12, qkv_bias=true)")
    ('vit_small_patch16_224', {'num_heads': 12, 'qkv_bias': True})
    """
    match = _CALL.match(name.strip())
    expected = "`timm:<model>` or `timm:<model>(key=value, ...)`, e.g. `timm:vit_small_patch16_224(num_heads=12)`"
    if not match:
        raise SpecError(f"arch 'timm:{name}': expected {expected}")
    args: dict[str, TimmArg] = {}
    text = match["args"]
    for part in text.split(",") if text and text.strip() else []:
        arg = _ARG.match(part)
        try:
            if arg is None:
                raise ValueError(part)
            args[arg["key"]] = _value(arg["value"])
        except ValueError:
            raise SpecError(
                f"arch 'timm:{name}': cannot read argument {part.strip()!r}; expected {expected} with integer, "
                "float, true/false or word values"
            ) from None
    for key in _RESERVED:
        if key in args:
            raise SpecError(f"arch 'timm:{name}': `{key}` is set by the loader (never pretrained); remove it")
    return match["model"], args
