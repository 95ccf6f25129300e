"""Running under torchrun: which rank this is, the process group, and extraction sharded across ranks.

``torchrun --nproc_per_node=N [--nnodes ...] -m pytest --ssl-suite=...`` starts N pytest processes with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Every rank extracts its shard of each dataset for every
method; the shards travel to rank 0, which stores the cache entries and then runs the items (probes, gate,
baselines, reports) alone from the cache. A dataset is sharded by whole extraction batches (batch k goes to
rank k mod N), so every image is computed in the very batch a single process would put it in, and the cache
entries equal a single-process run's at the same thread count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

CHUNK_BYTES = 256 * 2**20  # features travel to rank 0 in pieces of at most this size


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun job."""

    rank: int
    world: int
    local_rank: int

    @property
    def leader(self) -> bool:
        """Whether this is rank 0, which stores the cache, runs the items and reports."""
        return self.rank == 0


def ranks_from_environment(environ: dict[str, str] | None = None) -> Ranks | None:
    """The torchrun ranks of this process, or None outside torchrun (or with a world of one)."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return None
    return Ranks(rank, world, local) if world > 1 else None


def start(ranks: Ranks, device: str) -> None:
    """Join the job's process group (NCCL on CUDA, gloo on the CPU), unless already joined."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")


def stop() -> None:
    """Leave the process group."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def _transfer_group() -> Any:
    """A gloo group for host-memory tensors (features are gathered on the CPU even when NCCL runs the job)."""
    import torch.distributed as dist

    if dist.get_backend() == "gloo":
        return dist.group.WORLD
    cached = globals().get("_GLOO")
    if cached is None:
        cached = dist.new_group(backend="gloo")
        globals()["_GLOO"] = cached
    return cached


def broadcast(value: Any) -> Any:
    """``value`` as rank 0 has it, on every rank (any picklable object)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=_transfer_group())
    return box[0]


def all_gather(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank (any picklable object)."""
    import torch.distributed as dist

    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value, group=_transfer_group())
    return values


def shard(count: int, batch_size: int, ranks: Ranks) -> list[tuple[int, int]]:
    """This rank's batches of a dataset of ``count`` images: batch k of :func:`batch_ranges` for k = rank mod world."""
    from .features import batch_ranges

    return [batch for k, batch in enumerate(batch_ranges(count, batch_size)) if k % ranks.world == ranks.rank]


def _send_array(array: np.ndarray, group: Any) -> None:
    import torch
    import torch.distributed as dist

    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, CHUNK_BYTES):
        dist.send(torch.from_numpy(flat[start : start + CHUNK_BYTES].copy()), dst=0, group=group)


def _receive_array(source: int, shape: tuple[int, ...], dtype: np.dtype, group: Any) -> np.ndarray:
    import torch
    import torch.distributed as dist

    flat = np.empty(int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    for start in range(0, flat.size, CHUNK_BYTES):
        piece = torch.empty(min(CHUNK_BYTES, flat.size - start), dtype=torch.uint8)
        dist.recv(piece, src=source, group=group)
        flat[start : start + piece.numel()] = piece.numpy()
    return flat.view(dtype).reshape(shape)


def gather_rows(
    local: np.ndarray, count: int, batch_size: int, ranks: Ranks, fill: float | bool = 0
) -> np.ndarray | None:
    """Every rank's shard rows (in :func:`shard` order) assembled into one array on rank 0; None elsewhere.

    ``local`` holds this rank's rows, its batches one after another. The trailing shape and dtype may be
    unknown on a rank with no batch (an empty ``local``): they are taken from the ranks that have rows.
    """
    import torch.distributed as dist

    group = _transfer_group()
    shapes: list[Any] = [None] * ranks.world
    dist.all_gather_object(shapes, (tuple(local.shape), local.dtype.str), group=group)
    if not ranks.leader:
        if local.size:
            _send_array(local, group)
        return None
    shaped = [s for s in shapes if s[0][0] > 0] or [shapes[0]]
    tail, dtype = shaped[0][0][1:], np.dtype(shaped[0][1])
    whole = np.full((count, *tail), fill, dtype=dtype)
    for source, (shape, _) in enumerate(shapes):
        rows = local if source == 0 else None
        if source != 0 and shape[0] > 0:
            rows = _receive_array(source, shape, dtype, group)
        if rows is None or shape[0] == 0:
            continue
        done = 0
        for begin, end in shard(count, batch_size, Ranks(source, ranks.world, 0)):
            whole[begin:end] = rows[done : done + end - begin]
            done += end - begin
    return whole
