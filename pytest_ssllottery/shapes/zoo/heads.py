"""Projection heads, predictors and the DINO head, with the module layouts of the official code.

Key names matter: the checkpoint layouts (``layouts.py``) copy these state dicts verbatim, e.g. MoCo v2's
``fc.0``/``fc.2``, SimSiam's eight-module ``fc``, SwAV's ``projection_head.{0,1,3}``, DINO's
``mlp.{0,2,4}`` and ``last_layer``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


def projection_mlp(
    dims: tuple[int, ...],
    *,
    bias: bool = True,
    last_bias: bool = True,
    batch_norm: bool = True,
    last_bn: bool = False,
    last_bn_affine: bool = True,
) -> nn.Sequential:
    """``[Linear, BatchNorm1d, ReLU] * (len(dims) - 2) + [Linear] (+ BatchNorm1d)``.

    Args:
        dims: Input, hidden... and output widths.
        bias: Bias of the hidden linear layers.
        last_bias: Bias of the output linear layer.
        batch_norm: BatchNorm1d after each hidden linear layer (MoCo v2's MLP has none).
        last_bn: BatchNorm1d on the output (SimSiam, SimCLR v2).
        last_bn_affine: Whether that output BatchNorm is affine.
    """
    layers: list[nn.Module] = []
    for index in range(len(dims) - 2):
        layers.append(nn.Linear(dims[index], dims[index + 1], bias=bias))
        if batch_norm:
            layers.append(nn.BatchNorm1d(dims[index + 1]))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Linear(dims[-2], dims[-1], bias=last_bias))
    if last_bn:
        layers.append(nn.BatchNorm1d(dims[-1], affine=last_bn_affine))
    return nn.Sequential(*layers)


class ContrastiveHead(nn.Module):
    """SimCLR v2's projection head as in Separius/SimCLRv2-Pytorch: bias-free linears, BN, zero last beta."""

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 3, hidden_dim: int | None = None) -> None:
        super().__init__()
        dims = (in_dim,) + (hidden_dim or in_dim,) * (num_layers - 1) + (out_dim,)
        self.layers = projection_mlp(dims, bias=False, last_bias=False)
        last_bn = nn.BatchNorm1d(out_dim)
        nn.init.zeros_(last_bn.bias)
        last_bn.bias.requires_grad_(False)  # TF's last BN has center=False
        self.layers.append(last_bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Projection of pooled features."""
        out: torch.Tensor = self.layers(x)
        return out


class DINOHead(nn.Module):
    """DINO's head: 3-layer GELU MLP to a bottleneck, L2 normalisation, weight-normalised last layer.

    ``use_bn`` adds BatchNorm1d after each hidden linear layer (``main_dino.py --use_bn_in_head``).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dim: int,
        bottleneck_dim: int,
        norm_last_layer: bool = True,
        use_bn: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width_in in (in_dim, hidden_dim):
            layers.append(nn.Linear(width_in, hidden_dim))
            if use_bn:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.GELU())
        layers.append(nn.Linear(hidden_dim, bottleneck_dim))
        self.mlp = nn.Sequential(*layers)
        for module in self.mlp:
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        magnitude = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            magnitude.fill_(1.0)
        magnitude.requires_grad_(not norm_last_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prototype scores of pooled features."""
        x = F.normalize(self.mlp(x), dim=-1, p=2)
        out: torch.Tensor = self.last_layer(x)
        return out
