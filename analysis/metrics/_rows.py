"""Row kernels of the map-to-map metrics: many same-shaped map pairs, one row each."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import EPS, check_distribution, constant_error


def label(name: str, offset: int | None, i: int) -> str:
    """``name``, or ``name[offset + i]`` for row ``i`` of a batch starting at ``offset``."""
    return name if offset is None else f"{name}[{offset + i}]"


def check_rows_not_constant(rows: NDArray[np.float64], name: str, offset: int | None) -> None:
    """Raise for the first constant row, naming it ``name`` or ``name[offset + i]``."""
    lo, hi = rows.min(axis=1), rows.max(axis=1)
    bad = np.flatnonzero(lo == hi)
    if len(bad):
        raise constant_error(label(name, offset, int(bad[0])), float(lo[bad[0]]))


def cc_rows(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    names: tuple[str, str] = ("map_a", "map_b"),
    offset: int | None = None,
) -> NDArray[np.float64]:
    """Pearson correlation of each row of ``a`` with the same row of ``b``."""
    check_rows_not_constant(a, names[0], offset)
    check_rows_not_constant(b, names[1], offset)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return np.asarray(
        np.einsum("ij,ij->i", a, b)
        / np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    )


def _minmax_sum1(rows: NDArray[np.float64], name: str, offset: int | None) -> NDArray[np.float64]:
    lo, hi = rows.min(axis=1, keepdims=True), rows.max(axis=1, keepdims=True)
    bad = np.flatnonzero(lo[:, 0] == hi[:, 0])
    if len(bad):
        raise constant_error(label(name, offset, int(bad[0])), float(lo[bad[0], 0]))
    out = (rows - lo) / (hi - lo)
    return np.asarray(out / out.sum(axis=1, keepdims=True))


def similarity_rows(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    names: tuple[str, str] = ("map_a", "map_b"),
    offset: int | None = None,
) -> NDArray[np.float64]:
    """SIM of each row pair."""
    pa = _minmax_sum1(a, names[0], offset)
    pb = _minmax_sum1(b, names[1], offset)
    return np.asarray(np.minimum(pa, pb).sum(axis=1))


def kl_rows(
    s: NDArray[np.float64],
    f: NDArray[np.float64],
    *,
    names: tuple[str, str] = ("saliency_map", "fixation_map"),
    offset: int | None = None,
) -> NDArray[np.float64]:
    """KL divergence of each row of ``f`` (target) from the same row of ``s``."""
    for rows, name in ((s, names[0]), (f, names[1])):
        for i in range(len(rows)):
            check_distribution(rows[i], label(name, offset, i))
    q = s / s.sum(axis=1, keepdims=True)
    p = f / f.sum(axis=1, keepdims=True)
    return np.asarray((p * np.log(EPS + p / (q + EPS))).sum(axis=1))


def average_ranks(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n of a 1-D array, ties given their average rank."""
    n = len(x)
    order = np.argsort(x)
    v = x[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(v[1:], v[:-1], out=new[1:])
    ranks = np.empty(n, dtype=np.float64)
    if new.all():
        ranks[order] = np.arange(1, n + 1, dtype=np.float64)
        return ranks
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman_rows(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    names: tuple[str, str] = ("map_a", "map_b"),
    offset: int | None = None,
) -> NDArray[np.float64]:
    """Spearman correlation of each row pair."""
    check_rows_not_constant(a, names[0], offset)
    check_rows_not_constant(b, names[1], offset)
    ra = np.stack([average_ranks(row) for row in a])
    rb = np.stack([average_ranks(row) for row in b])
    return cc_rows(ra, rb, names=names, offset=offset)


def topk_rows(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    percent: float,
    dice: bool,
    names: tuple[str, str] = ("map_a", "map_b"),
    offset: int | None = None,
) -> tuple[NDArray[np.float64], int]:
    """Top-``percent`` % IoU (or Dice) of each row pair, and the count of oversized regions."""
    check_rows_not_constant(a, names[0], offset)
    check_rows_not_constant(b, names[1], offset)
    n = a.shape[1]
    k = max(1, math.ceil(percent / 100.0 * n - 1e-9))
    ma, mb = _top_mask(a, k), _top_mask(b, k)
    n_a, n_b = ma.sum(axis=1), mb.sum(axis=1)
    inter = np.count_nonzero(ma & mb, axis=1)
    oversized = int(np.count_nonzero((n_a > 1.1 * k) | (n_b > 1.1 * k)))
    if dice:
        return np.asarray(2.0 * inter / (n_a + n_b)), oversized
    return np.asarray(inter / (n_a + n_b - inter)), oversized


def warn_oversized(oversized: int, total: int, percent: float) -> None:
    """Warn that ties made ``oversized`` of ``total`` top-k regions larger than asked."""
    if oversized:
        from ..fixations import _caller_stacklevel

        warnings.warn(
            f"Ties at the top-{percent:g} % cut make the region of {oversized} of {total} "
            "map pair(s) more than 10 % larger than asked; the overlap is computed on the "
            "larger regions.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )


def _top_mask(rows: NDArray[np.float64], k: int) -> NDArray[np.bool_]:
    n = rows.shape[1]
    cut = np.partition(rows, n - k, axis=1)[:, n - k : n - k + 1]
    return np.asarray(rows >= cut)


def check_percent(percent: Any) -> float:
    if (
        isinstance(percent, bool)
        or not isinstance(percent, (int, float, np.integer, np.floating))
        or not 0 < float(percent) <= 100
    ):
        raise ValueError(
            "Invalid value for the 'percent' parameter: expected a percentage in (0, 100], "
            f"but got {percent!r} instead."
        )
    return float(percent)
