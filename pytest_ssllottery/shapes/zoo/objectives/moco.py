"""MoCo v2: query/key encoders, momentum update, a queue of negatives, MLP head, InfoNCE.

The original shuffles the key batch across 8 GPUs so that BatchNorm statistics cannot leak the
positive pair ("shuffling BN"). On one device this is emulated faithfully: queries are encoded in
``bn_groups`` sub-batches (the per-GPU batches), keys are shuffled, encoded in sub-batches and
unshuffled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layouts
from ..augment import ViewSpec, make_view
from ..heads import projection_mlp
from ..optim import ema_update
from .base import FEATURE_DIM, Objective, SaveInfo, Step, frozen_copy, new_backbone

# MoCo v2's augmentation (colour jitter 0.4/0.4/0.4/0.1, grayscale, blur); crops use GLOBAL_SCALE.
MOCO_V2_VIEW = ViewSpec(jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8, grayscale=0.2, blur=0.5)


def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """MoCo's InfoNCE: the positive logit ``q.k`` first, then ``q`` against every queued key ``(D, K)``."""
    positive = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
    negative = torch.einsum("nc,ck->nk", q, queue.clone().detach())
    logits = torch.cat([positive, negative], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


@torch.no_grad()
def enqueue(queue: torch.Tensor, queue_ptr: torch.Tensor, keys: torch.Tensor) -> None:
    """Replace the oldest ``B`` keys of the ``(D, K)`` queue in place and advance the pointer."""
    batch, size = keys.shape[0], queue.shape[1]
    if size % batch:
        raise ValueError(f"MoCo queue size {size} must be a multiple of the batch size {batch}")
    ptr = int(queue_ptr[0])
    queue[:, ptr : ptr + batch] = keys.t()
    queue_ptr[0] = (ptr + batch) % size


@dataclass(frozen=True)
class MocoConfig:
    """MoCo v2 hyperparameters (``dim``, ``K``, ``m``, ``T`` of ``main_moco.py``)."""

    dim: int = 64
    queue_size: int = 4096
    momentum: float = 0.99
    temperature: float = 0.2
    bn_groups: int = 4
    # The MoCo authors' CIFAR demo option: both crops serve as query and key (loss_12 + loss_21), both key
    # batches are enqueued. Twice the signal per update, which is what a small update budget is short of.
    symmetric: bool = False
    view: ViewSpec = field(default_factory=lambda: MOCO_V2_VIEW)

    def build(self) -> MoCo:
        """The objective with a fresh backbone."""
        return MoCo(self)


class MoCo(Objective):
    """``encoder_q`` (backbone with MLP ``fc``), its momentum copy ``encoder_k``, and the queue."""

    layout = "moco_v2"
    queue: torch.Tensor
    queue_ptr: torch.Tensor

    def __init__(self, config: MocoConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder_q = new_backbone(projection_mlp((FEATURE_DIM, FEATURE_DIM, config.dim), batch_norm=False))
        self.encoder_k = frozen_copy(self.encoder_q)
        self.register_buffer("queue", F.normalize(torch.randn(config.dim, config.queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    def _grouped(self, encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([encoder(chunk) for chunk in images.chunk(self.config.bn_groups)])

    @torch.no_grad()
    def _keys(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        shuffle = torch.randperm(images.shape[0], generator=gen).to(images.device)
        keys = F.normalize(self._grouped(self.encoder_k, images[shuffle]), dim=1)
        return keys[torch.argsort(shuffle)]

    def loss(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: Step) -> torch.Tensor:
        """InfoNCE of queries against their keys and the queue (both ways if symmetric); then keys are enqueued."""
        im_q, im_k = make_view(images, self.config.view, gen), make_view(images, self.config.view, gen)
        crops = [(im_q, im_k), (im_k, im_q)] if self.config.symmetric else [(im_q, im_k)]
        queries = [F.normalize(self._grouped(self.encoder_q, query), dim=1) for query, _ in crops]
        ema_update(self.encoder_k, self.encoder_q, self.config.momentum)  # as in MoCo's forward, before the keys
        keys = [self._keys(key, gen) for _, key in crops]
        losses = [info_nce(q, k, self.queue, self.config.temperature) for q, k in zip(queries, keys, strict=True)]
        enqueue(self.queue, self.queue_ptr, torch.cat(keys))
        return torch.stack(losses).sum()

    def collapse_loss(self, batch_size: int) -> float | None:
        """Identical keys: the positive is one of ``K + 1`` equal logits (twice that for the symmetric loss)."""
        return math.log(self.config.queue_size + 1) * (2 if self.config.symmetric else 1)

    def feature_model(self) -> nn.Module:
        """The query encoder (the loader must prefer it over the key encoder)."""
        return self.encoder_q

    def checkpoint(self, info: SaveInfo) -> Any:
        """``{'epoch', 'arch', 'state_dict'}`` with both encoders and the queue."""
        return layouts.moco_v2(self.encoder_q, self.encoder_k, self.queue, self.queue_ptr, info.epoch, info.arch)
