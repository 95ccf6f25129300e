"""Build splits from their recipes, in chunks, optionally on a pool of worker processes.

Chunks are consumed in index order, so the result does not depend on ``workers``. The pool forks when
the calling process has a single thread (cheap, and a script needs no ``if __name__ == "__main__"``
guard); otherwise, for instance once torch has started its thread pool, it uses ``spawn``, because
forking a threaded process can deadlock. A daemonic process (itself a pool worker) renders in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DatasetError
from . import adversarial as adv
from .constants import NUM_CLASSES
from .split_data import ShapesSplit
from .splits import (
    ADVERSARIAL_CLASSES,
    RENDITION_CLASSES,
    PhotoChunk,
    render_photo_chunk,
    render_rendition_chunk,
    render_sketch_chunk,
    split_size,
)

_log = logging.getLogger(__name__)
SPLITS = ("train", "val", "real", "v2", "rendition", "sketch", "adversarial")
ALL_CLASSES = tuple(range(NUM_CLASSES))
CHUNK = 250  # images per task


@dataclass(frozen=True)
class Task:
    """One chunk of work for a worker: images ``start..stop`` (for adversarial: of class ``class_id``)."""

    split: str
    seed: int
    start: int
    stop: int
    class_id: int = -1


Mapper = Callable[[Callable[[Task], Any], Sequence[Task]], Iterator[Any]]


def run_task(task: Task) -> Any:
    """Render one chunk (runs in a worker process)."""
    if task.split in ("train", "val", "v2"):
        return render_photo_chunk(task.seed, task.split, task.start, task.stop)
    if task.split == "rendition":
        return render_rendition_chunk(task.seed, task.start, task.stop)
    if task.split == "sketch":
        return render_sketch_chunk(task.seed, task.start, task.stop)
    return adv.render_candidate_chunk(task.seed, task.class_id, task.start, task.stop)


def default_workers() -> int:
    """Two processes where two cores are available (the benchmark's laptop budget), else one."""
    return max(1, min(2, os.cpu_count() or 1))


def start_method() -> str:
    """``fork`` where available and this process has one thread (Linux), else ``spawn``."""
    try:
        single_threaded = len(os.listdir("/proc/self/task")) == 1
    except OSError:
        single_threaded = False
    return "fork" if single_threaded and "fork" in multiprocessing.get_all_start_methods() else "spawn"


@contextmanager
def mapper(workers: int) -> Iterator[Mapper]:
    """An ordered, lazy ``map``: in-process for one worker, else on a process pool.

    If the pool breaks (a worker cannot start, e.g. ``spawn`` from a ``python -`` script, or dies), the
    remaining tasks run in-process: every task is a pure function of its arguments, so the result is
    the same.
    """
    if workers <= 1 or multiprocessing.current_process().daemon:
        yield lambda fn, tasks: map(fn, tasks)
        return
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(start_method()))
    try:
        yield lambda fn, tasks: _stream(executor, fn, tasks)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _stream(executor: ProcessPoolExecutor, fn: Callable[[Task], Any], tasks: Sequence[Task]) -> Iterator[Any]:
    done = 0
    try:
        futures = [executor.submit(fn, task) for task in tasks]
        for future in futures:
            result = future.result()
            done += 1
            yield result
    except BrokenProcessPool:
        _log.warning("shapes: the worker pool broke; rendering the remaining %d chunks in-process", len(tasks) - done)
        yield from map(fn, tasks[done:])


def _tasks(split: str, seed: int, count: int) -> list[Task]:
    return [Task(split, seed, start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]


@dataclass(frozen=True)
class Generated:
    """Generated splits, and the adversarial filter's statistics when that split was built."""

    splits: dict[str, ShapesSplit]
    filter_stats: adv.FilterStats | None


def _photo_splits(split: str, chunks: list[PhotoChunk]) -> dict[str, ShapesSplit]:
    images = np.ascontiguousarray(np.concatenate([c.images for c in chunks]))
    records = [r for c in chunks for r in c.records]
    labels = np.asarray([r.label for r in records], dtype=np.int64)
    out = {split: ShapesSplit(split, images, labels, None, ALL_CLASSES, "full")}
    if split == "val":
        sets = tuple(r.label_set for r in records)
        out["real"] = ShapesSplit("real", images, labels.copy(), sets, ALL_CLASSES, "multilabel")
    return out


def _array_split(split: str, chunks: list[Any]) -> ShapesSplit:
    images = np.ascontiguousarray(np.concatenate([c[0] for c in chunks]))
    labels = np.concatenate([c[1] for c in chunks]).astype(np.int64)
    classes = RENDITION_CLASSES if split == "rendition" else ALL_CLASSES
    return ShapesSplit(split, images, labels, None, classes, "subset" if split == "rendition" else "full")


def generate(
    seed: int,
    splits: Sequence[str],
    reference: adv.Reference | None,
    *,
    scale: float = 1.0,
    workers: int | None = None,
) -> Generated:
    """Generate the named splits (``real`` comes with ``val``; ``adversarial`` needs ``reference``).

    Raises:
        DatasetError: A name is not one of ``SPLITS``.
    """
    unknown = [name for name in splits if name not in SPLITS]
    if unknown:
        raise DatasetError(f"unknown shapes split(s) {unknown}; valid splits are: {', '.join(SPLITS)}")
    wanted = set(splits)
    if "real" in wanted:
        wanted.add("val")
    base = [s for s in ("train", "val", "v2", "rendition", "sketch") if s in wanted]
    tasks = [t for s in base for t in _tasks(s, seed, split_size(s, scale))]
    out: dict[str, ShapesSplit] = {}
    stats = None
    with mapper(default_workers() if workers is None else workers) as pmap:
        results = list(pmap(run_task, tasks))
        for split in base:
            chunks = [r for t, r in zip(tasks, results, strict=True) if t.split == split]
            if split in ("train", "val", "v2"):
                out.update(_photo_splits(split, chunks))
            else:
                out[split] = _array_split(split, chunks)
        if "adversarial" in wanted:
            if reference is None:
                raise ValueError("the adversarial split needs a reference classifier")

            def render(specs: list[adv.ChunkSpec]) -> Iterator[adv.CandidateChunk]:
                return pmap(run_task, [Task("adversarial", seed, start, stop, c) for c, start, stop in specs])

            images, labels, stats = adv.filter_candidates(render, reference, split_size("adversarial", scale))
            out["adversarial"] = ShapesSplit("adversarial", images, labels, None, ADVERSARIAL_CLASSES, "subset")
    return Generated({name: out[name] for name in SPLITS if name in splits}, stats)
