"""Map-to-map scores image by image: maps read as given, repeated targets ranked once, threads.

:func:`analysis.metrics.score_batch` comes here for ``cc``, ``kl_div``,
``spearman`` and ``emd`` when the maps are a sequence (not one stack of
equal shape). Every score equals the single-image function's and every
error names the image (``maps[12]``) as the chunked path would.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _emd
from . import _rows as _mp
from ._checks import as_map, constant_error, native_map, resize_to
from ._pairs import cc_from_sums, kl_from_sums, native_flat

#: Metrics that this module scores (for maps given as a sequence).
PER_IMAGE = ("cc", "kl_div", "spearman", "emd")

#: Metrics whose images are scored in a thread pool (their sorts and POT's solver
#: release the GIL).
THREADED = ("spearman", "emd")

#: Bytes of target ranks kept for targets that come back (least recently used dropped first).
RANK_CACHE_BYTES = 1 << 27


def check_workers(workers: Any) -> int:
    """The number of threads: ``os.cpu_count()`` for None, else a positive integer."""
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(
            "Invalid value for the 'workers' parameter: expected a positive number of threads "
            f"or None (one per CPU), but got {workers!r} instead."
        )
    return int(workers)


def score_per_image(
    metric: str,
    maps: Any,
    targets: Any,
    *,
    options: dict[str, Any],
    out: NDArray[np.float64],
    bar: Any,
    workers: int,
) -> None:
    """Fill ``out[i]`` with ``metric(maps[i], targets[i])``, in image order."""
    if metric in ("cc", "kl_div"):
        _sums_batch(metric, maps, targets, out, bar)
        return
    threads = min(workers, len(out))
    executor: Any = ThreadPoolExecutor(threads) if threads > 1 else _Inline()
    ranks = _RankCache(executor)
    pending: deque[tuple[int, Future[float]]] = deque()
    window = 2 * threads + 2  # bounds the maps held by jobs not yet collected
    try:
        for i in range(len(out)):
            a_obj, b_obj = maps[i], targets[i]
            if metric == "spearman":
                job: Callable[[], float] = _spearman_job(i, a_obj, b_obj, ranks.get(b_obj, i))
            else:
                job = _emd_job(i, a_obj, b_obj, options.get("downsample", 32))
            pending.append((i, executor.submit(job)))
            while len(pending) > window:
                _collect(pending, out, bar)
        while pending:
            _collect(pending, out, bar)
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True)


def _collect(pending: deque[tuple[int, Future[float]]], out: NDArray[np.float64], bar: Any) -> None:
    i, future = pending.popleft()
    out[i] = future.result()  # the first failing image, in order, raises
    bar.update(1)


def _sums_batch(metric: str, maps: Any, targets: Any, out: NDArray[np.float64], bar: Any) -> None:
    """CC or KL from sums for maps read as given; anything unusual takes the plain path."""
    work = np.empty(0, dtype=np.float64)
    for i in range(len(out)):
        a_obj, b_obj = maps[i], targets[i]
        a, b = native_flat(a_obj), native_flat(b_obj)
        score = None
        if a is not None and b is not None and a_obj.shape == b_obj.shape:
            if metric == "cc":
                score = cc_from_sums(a, b)
            else:
                if work.size != a.size:
                    work = np.empty(a.size, dtype=np.float64)
                score = kl_from_sums(a, b, work)
        if score is None:
            b2 = as_map(b_obj, f"targets[{i}]")
            a2 = resize_to(as_map(a_obj, f"maps[{i}]"), b2.shape).reshape(1, -1)
            rows = _mp.cc_rows if metric == "cc" else _mp.kl_rows
            score = float(rows(a2, b2.reshape(1, -1), names=("maps", "targets"), offset=i)[0])
        out[i] = score
        bar.update(1)


def _checked(value: Any, name: str) -> tuple[NDArray[np.floating[Any]], float, float]:
    """A finite 2-D map (float32/float64 as given, else a float64 copy), its minimum and maximum."""
    native = native_map(value, name)
    if native is not None:
        return native
    arr = as_map(value, name)
    return arr, float(arr.min()), float(arr.max())


def _spearman_target(value: Any, name: str) -> tuple[NDArray[np.float64], float]:
    b, lo, hi = _checked(value, name)
    if lo == hi:
        raise constant_error(name, lo)
    return _mp.centred_ranks(b.reshape(-1))


def _spearman_job(
    i: int, a_obj: Any, b_obj: Any, ranked: Future[tuple[NDArray[np.float64], float]]
) -> Callable[[], float]:
    def job() -> float:
        name_a, name_b = f"maps[{i}]", f"targets[{i}]"
        b, b_lo, b_hi = _checked(b_obj, name_b)
        a, a_lo, a_hi = _checked(a_obj, name_a)
        if a.shape != b.shape:
            a = resize_to(a.astype(np.float64, copy=False), b.shape)
            a_lo, a_hi = float(a.min()), float(a.max())
        if a_lo == a_hi:
            raise constant_error(name_a, a_lo)
        if b_lo == b_hi:
            raise constant_error(name_b, b_lo)
        return _mp.spearman_against(a.reshape(-1), *ranked.result())

    return job


def _emd_job(i: int, a_obj: Any, b_obj: Any, downsample: int) -> Callable[[], float]:
    def job() -> float:
        b = as_map(b_obj, f"targets[{i}]")
        a = resize_to(as_map(a_obj, f"maps[{i}]"), b.shape)
        names = (f"maps[{i}]", f"targets[{i}]")
        return _emd.emd_pair(
            a.ravel(), b.ravel(), b_shape=b.shape, downsample=downsample, names=names
        )

    return job


class _RankCache:
    """Futures of the centred ranks of target maps by object: a target given again is not re-ranked.

    The cache holds each target object, so its ``id`` cannot be reused by
    another object while the entry lives; at most :data:`RANK_CACHE_BYTES`
    of ranks are kept.
    """

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.entries: OrderedDict[int, tuple[Any, Future[Any], int]] = OrderedDict()
        self.size = 0

    def get(self, target: Any, i: int) -> Future[tuple[NDArray[np.float64], float]]:
        key = id(target)
        entry = self.entries.get(key)
        if entry is not None and entry[0] is target:
            self.entries.move_to_end(key)
            return entry[1]
        future = self.executor.submit(lambda: _spearman_target(target, f"targets[{i}]"))
        nbytes = 8 * int(np.size(target))
        self.entries[key] = (target, future, nbytes)
        self.size += nbytes
        while self.size > RANK_CACHE_BYTES and len(self.entries) > 1:
            _, (_, _, dropped) = self.entries.popitem(last=False)
            self.size -= dropped
        return future


class _Inline:
    """An executor that runs each job when it is submitted (one worker)."""

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn())
        except Exception as err:  # handed to the caller through the future, as a pool would
            future.set_exception(err)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass
