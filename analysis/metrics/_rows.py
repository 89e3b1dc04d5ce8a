"""Row kernels of the map-to-map metrics: many same-shaped map pairs, one row each."""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import EPS, check_distribution, constant_error
from ._pairs import cc_from_sums, dot, kl_from_sums


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
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (finite rows).

    From sums (:func:`cc_from_sums`) where they keep their digits, else from
    centred copies of the row pair.
    """
    check_rows_not_constant(a, names[0], offset)
    check_rows_not_constant(b, names[1], offset)
    out = np.empty(len(a), dtype=np.float64)
    for i in range(len(a)):
        fast = cc_from_sums(a[i], b[i])
        out[i] = _centred_cc(a[i], b[i]) if fast is None else fast
    return out


def _centred_cc(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return dot(a, b) / math.sqrt(dot(a, a) * dot(b, b))


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
    """KL divergence of each row of ``f`` (target) from the same row of ``s`` (finite rows)."""
    for rows, name in ((s, names[0]), (f, names[1])):
        for i in range(len(rows)):
            check_distribution(rows[i], label(name, offset, i))
    out = np.empty(len(s), dtype=np.float64)
    work = np.empty(s.shape[1], dtype=np.float64)
    for i in range(len(s)):
        fast = kl_from_sums(s[i], f[i], work)
        if fast is None:  # sums that overflow: the definition, term by term
            q = s[i] / s[i].sum()
            p = f[i] / f[i].sum()
            fast = float((p * np.log(EPS + p / (q + EPS))).sum())
        out[i] = fast
    return out


def average_ranks(x: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Ranks 1..n of a 1-D float array, ties given their average rank (as scipy's ``rankdata``)."""
    order, sorted_ranks = rank_order(x)
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = sorted_ranks
    return ranks


#: Flips the sign bit of a non-negative float64's bits, every bit of a negative one's:
#: the unsigned integers then sort as the floats do.
_SIGN = np.uint64(1 << 63)
_REST = np.uint64((1 << 63) - 1)


def rank_order(x: NDArray[np.floating[Any]]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The order that sorts ``x`` ascending and the average ranks in that order.

    Returns ``order`` and ``sorted_ranks`` with ``x[order]`` non-decreasing
    and ``sorted_ranks[k]`` the rank (1..n, ties averaged) of ``x[order[k]]``.

    Faster than :func:`numpy.argsort`: each value's bits are made into an
    unsigned key that sorts as the float does, its lowest ``b`` bits
    (``2**b >= n``) replaced by the value's index, and the keys sorted as
    plain integers (a SIMD sort), which carries the index along. Values that
    share all other bits (ties, or values closer than ``2**(b - 52)``
    relative; never for distinct float32 data) are then compared, and runs
    of them that differ sorted by value (usually a handful).
    """
    n = len(x)
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    # A float64 copy (float32 maps too: their values convert exactly); + 0.0 turns -0.0
    # into 0.0, which it equals.
    key = np.add(x, 0.0, dtype=np.float64).view(np.uint64)
    if key.max() >= _SIGN:  # negative values: flip their other bits too
        flip = key >> np.uint64(63)
        flip *= _REST
        key ^= flip
    key ^= _SIGN
    key &= ~low
    key |= _indices(n)
    key.sort()
    order = np.bitwise_and(key, low).view(np.intp)
    key >>= np.uint64(bits)
    same = key[1:] == key[:-1]
    if same.any():
        _sort_within_high_bits(x, order, same)
    return order, _sorted_average_ranks(same, n)


def _sort_within_high_bits(
    x: NDArray[np.floating[Any]], order: NDArray[np.intp], same: NDArray[np.bool_]
) -> None:
    """Put in order, in place, sorted positions whose keys differ only in the index bits.

    ``same[k]``: positions ``k`` and ``k + 1`` share their high bits (a tie,
    or values closer than the dropped bits). Runs of such positions that hold
    different values are sorted by value, and ``same`` is cleared where they differ.
    Values in different runs are already in order (their high bits differ).
    """
    k = np.flatnonzero(same)
    differ = x[order[k]] != x[order[k + 1]]
    if not differ.any():
        return  # only exact ties
    run = np.cumsum(np.concatenate([[True], k[1:] != k[:-1] + 1])) - 1
    mixed = np.zeros(int(run[-1]) + 1, dtype=bool)
    mixed[run[differ]] = True
    k = k[mixed[run]]
    in_run = np.zeros(len(order), dtype=bool)
    in_run[k] = True
    in_run[k + 1] = True
    members = np.flatnonzero(in_run)
    picked = order[members]
    order[members] = picked[np.argsort(x[picked], kind="stable")]
    same[k] = x[order[k]] == x[order[k + 1]]


@functools.lru_cache(maxsize=4)
def _indices(n: int) -> NDArray[np.uint64]:
    """``0..n-1`` as uint64 (read-only, shared between calls)."""
    out = np.arange(n, dtype=np.uint64)
    out.flags.writeable = False
    return out


def _sorted_average_ranks(same: NDArray[np.bool_], n: int) -> NDArray[np.float64]:
    """Average ranks of ``n`` sorted values; ``same[k]``: values ``k`` and ``k + 1`` are equal."""
    ranks = np.arange(1, n + 1, dtype=np.float64)
    k = np.flatnonzero(same)
    if len(k) == 0:
        return ranks
    in_run = np.zeros(n, dtype=bool)
    in_run[k] = True
    in_run[k + 1] = True
    tied = np.flatnonzero(in_run)
    is_start = np.ones(len(tied), dtype=bool)
    is_start[1:] = ~same[tied[1:] - 1]
    is_end = np.append(is_start[1:], True)
    # Positions s..e-1 (0-based) hold ranks s+1..e: their mean is (s + e + 1) / 2.
    mean_rank = (tied[is_start] + tied[is_end] + 2) / 2.0
    ranks[tied] = mean_rank[np.cumsum(is_start) - 1]
    return ranks


def spearman_rows(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    names: tuple[str, str] = ("map_a", "map_b"),
    offset: int | None = None,
) -> NDArray[np.float64]:
    """Spearman correlation of each row pair (finite rows).

    Pearson's correlation of the average ranks. Average ranks have mean
    ``(n + 1) / 2`` whatever the ties, so only the cross term needs the two
    rank vectors in one order: ``b``'s centred ranks are put in pixel order
    (:func:`centred_ranks`) and read in ``a``'s sorted order.
    """
    check_rows_not_constant(a, names[0], offset)
    check_rows_not_constant(b, names[1], offset)
    out = np.empty(len(a), dtype=np.float64)
    for i in range(len(a)):
        out[i] = spearman_against(a[i], *centred_ranks(b[i]))
    return out


def centred_ranks(x: NDArray[np.floating[Any]]) -> tuple[NDArray[np.float64], float]:
    """Average ranks of a flat finite map minus their mean ``(n + 1) / 2``, in pixel order.

    Returns the centred ranks and their sum of squares: what
    :func:`spearman_against` needs of the map that stays fixed (the human
    map scored against many model maps).
    """
    order, ranks = rank_order(x)
    ranks -= (len(x) + 1) / 2.0
    out = np.empty(len(x), dtype=np.float64)
    out[order] = ranks
    return out, dot(ranks, ranks)


def spearman_against(
    a: NDArray[np.floating[Any]],
    ranked_b: NDArray[np.float64],
    norm_b: float,
    work: NDArray[np.float64] | None = None,
) -> float:
    """Spearman correlation of a flat finite map ``a`` with a map ranked by :func:`centred_ranks`.

    ``a`` is ranked with one integer sort (:func:`rank_order`); its centred
    ranks in sorted order meet ``b``'s read in the same order.
    """
    order, ranks = rank_order(a)
    ranks -= (len(a) + 1) / 2.0
    gathered = np.take(ranked_b, order, out=work)
    return dot(gathered, ranks) / math.sqrt(dot(ranks, ranks) * norm_b)


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
