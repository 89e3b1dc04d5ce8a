"""Kernels of the location-based metrics: one flat map and the indices of its fixated pixels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import EPS, check_finite, constant_error, minmax, trapezoid

#: Size of the MIT benchmark's tie-breaking jitter: ``rand(size) / 10000000``.
JITTER = 1e-7

#: Largest finite value of each float type the exact shuffled AUC reads, by dtype character.
_LARGEST = {"f": float(np.finfo(np.float32).max), "d": float(np.finfo(np.float64).max)}

#: Bins of the histogram through which :func:`count_at_or_above` counts a map's values.
COUNT_BINS = 1 << 16


def auc_judd_kernel(
    s: NDArray[np.floating[Any]],
    idx: NDArray[np.int64],
    *,
    rng: np.random.Generator | None,
    name: str,
    value_range: tuple[float, float] | None = None,
) -> float:
    """AUC-Judd of a flat map ``s`` (float32 or float64) at the unique fixated indices ``idx``.

    ``value_range``: ``(s.min(), s.max())`` when the caller has them (no jitter).
    """
    if rng is not None:
        s = s + rng.random(s.shape) * JITTER
        value_range = None
    lo, hi = _range(s, name) if value_range is None else value_range
    if lo == hi:
        raise constant_error(name, lo)
    n, n_pixels = len(idx), s.size
    if n == n_pixels:
        raise ValueError(
            f"Every one of the {n_pixels} pixels is fixated: no pixel is left as a negative, "
            "so the AUC is undefined."
        )
    above = count_at_or_above(s, idx, lo, hi)
    i = np.arange(1, n + 1)
    tp = np.concatenate([[0.0], i / n, [1.0]])
    fp = np.concatenate([[0.0], (above - i) / (n_pixels - n), [1.0]])
    return float(trapezoid(tp, fp))


def count_at_or_above(
    s: NDArray[np.floating[Any]], idx: NDArray[np.int64], lo: float, hi: float
) -> NDArray[np.int64]:
    """AUC-Judd's counts: ``#{x >= t}`` for each threshold ``t``, exactly, without a full sort.

    ``x`` is the min-max normalised map ``(s - lo) / (hi - lo)`` in float64
    (the MIT code's arithmetic) and the thresholds are its values at ``idx``,
    in descending order, as the counts are. Sorting the whole
    map costs more than a histogram: ``s`` is binned into
    :data:`COUNT_BINS` equal bins in its own precision (monotone in ``s``,
    and so in ``x``). A value two or more bins from a threshold's lies on
    the same side of it after the normalisation's rounding (bins are far
    wider than that rounding), so only values in a threshold's bin or the
    one below are normalised and compared with it one by one.
    """
    scale = (COUNT_BINS - 2) / (hi - lo)  # keeps (hi - lo) * scale below COUNT_BINS
    if s.dtype != np.float64 and not scale < 1e30:  # a range too narrow for float32 bins
        s = s.astype(np.float64)
    if not math.isfinite(scale):  # a subnormal range: bin the normalised map itself
        x = _normalised(s.astype(np.float64), lo, hi)
        return count_at_or_above(x, idx, 0.0, 1.0)
    shifted = s - s.dtype.type(lo)
    shifted *= s.dtype.type(scale)
    bins = shifted.astype(np.uint16)
    counts = np.bincount(bins, minlength=COUNT_BINS)
    at_or_below = np.cumsum(counts)
    thresholds = np.sort(_normalised(s[idx].astype(np.float64), lo, hi))[::-1]
    t_bins = np.sort(bins[idx].astype(np.intp))[::-1]
    shared = np.zeros(COUNT_BINS + 1, dtype=bool)
    shared[t_bins] = True
    shared[np.maximum(t_bins - 1, 0)] = True
    near = np.flatnonzero(shared.take(bins))
    values = s[near].astype(np.float64)
    order = np.argsort(values, kind="stable")
    near_x = _normalised(values[order], lo, hi)
    near_bins = bins[near][order]
    # Near values at or above a threshold, not already counted in the bins above
    # its own: those in bins up to its own minus those below it.
    within = np.searchsorted(near_bins, t_bins, side="right") - np.searchsorted(
        near_x, thresholds, side="left"
    )
    return np.asarray(s.size - at_or_below[t_bins] + within, dtype=np.int64)


def auc_borji_kernel(
    s: NDArray[np.float64],
    idx: NDArray[np.int64],
    *,
    n_splits: int,
    step: float,
    rng: np.random.Generator,
    name: str,
) -> float:
    """AUC-Borji of a flat map ``s``: negatives uniform over all pixels, with replacement."""
    lo, hi = _range(s, name)
    draws = rng.integers(0, s.size, size=(n_splits, len(idx)))
    return _split_auc(_normalised(s[idx], lo, hi), _normalised(s[draws], lo, hi), step)


def auc_shuffled_kernel(
    s: NDArray[np.float64],
    idx: NDArray[np.int64],
    other_idx: NDArray[np.int64],
    *,
    n_splits: int,
    step: float,
    rng: np.random.Generator,
    name: str,
) -> float:
    """Shuffled AUC of a flat map ``s``: negatives drawn from ``other_idx`` without replacement."""
    lo, hi = _range(s, name)
    m = min(len(idx), len(other_idx))
    if m == len(other_idx):
        picks = np.broadcast_to(other_idx, (n_splits, m))
    else:
        keys = rng.random((n_splits, len(other_idx)))
        picks = other_idx[np.argpartition(keys, m - 1, axis=1)[:, :m]]
    return _split_auc(_normalised(s[idx], lo, hi), _normalised(s[picks], lo, hi), step)


def auc_shuffled_exact_kernel(
    s: NDArray[np.floating[Any]],
    idx: NDArray[np.int64],
    other_idx: NDArray[np.int64],
    *,
    name: str,
) -> float:
    """Exact shuffled AUC of a flat float32 or float64 map ``s``, as given.

    Every value at ``idx`` (the fixated pixels) is ranked against every
    value at ``other_idx`` (the other images' pixels): the area under the
    ROC curve through all thresholds equals the Mann-Whitney statistic, the
    fraction of (fixated, other) pairs in which the fixated value is
    higher, ties counting one half. The counts are integers, so the score
    does not depend on the order of the arithmetic.

    Only the values read are checked, as they alone decide the score: a NaN
    or infinite one raises (the message counts the whole map's), a value
    elsewhere is not read. The map is constant only if every value read is
    the same, which alone calls for its minimum and maximum. Both sets are
    sorted (NaN last, infinities at the ends, so their ends show any
    non-finite value); the fixated ones so that the binary searches for
    them run in order.
    """
    positives = s.take(idx)
    negatives = s.take(other_idx)
    positives.sort()
    negatives.sort()
    p_lo, p_hi, n_lo, n_hi = positives[0], positives[-1], negatives[0], negatives[-1]
    if not (
        math.isfinite(p_lo) and math.isfinite(p_hi) and math.isfinite(n_lo) and math.isfinite(n_hi)
    ):
        check_finite(s, name)
    if p_lo == p_hi == n_lo == n_hi and float(s.min()) == float(s.max()):
        raise constant_error(name, float(p_lo))
    # Twice the pairs won, ties counting one: #{q < p} + #{q <= p}, summed over p,
    # in one search: for finite values #{q <= p} = #{q < p'}, p' the next float
    # above p in the map's precision (searchsorted's "right" side, exactly).
    if p_hi < _LARGEST[positives.dtype.char]:
        above = np.nextafter(positives, np.inf, dtype=positives.dtype)
        twice = int(negatives.searchsorted(np.concatenate((positives, above))).sum())
    else:  # no next float below infinity
        twice = int(negatives.searchsorted(positives, "left").sum()) + int(
            negatives.searchsorted(positives, "right").sum()
        )
    return twice / (2.0 * len(positives) * len(negatives))


def _range(s: NDArray[np.floating[Any]], name: str) -> tuple[float, float]:
    """Minimum and maximum of a map that min-max normalisation needs; constant maps raise."""
    lo, hi = float(s.min()), float(s.max())
    if lo == hi:
        raise constant_error(name, lo)
    return lo, hi


def _normalised(values: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    """Min-max normalised values, computed exactly as for the whole map (MIT code)."""
    out = values - lo
    out /= hi - lo
    return out


def _split_auc(
    positives: NDArray[np.float64], negatives: NDArray[np.float64], step: float
) -> float:
    """Mean over rows of ``negatives`` of the AUC at thresholds ``k * step``, descending.

    Thresholds above a split's largest value add points at (0, 0), which add
    no area, so one threshold list up to 1 serves every split.
    """
    n_thr = int(np.floor(1.0 / step + 1e-9)) + 1
    thresholds = np.arange(n_thr) * step
    tp = (len(positives) - np.searchsorted(np.sort(positives), thresholds, side="left")) / len(
        positives
    )
    n_splits, m = negatives.shape
    # Number of thresholds at or below each value; a value counts for threshold k when > k.
    below = np.searchsorted(thresholds, negatives, side="right")
    flat = (np.arange(n_splits)[:, None] * (n_thr + 1) + below).ravel()
    hist = np.bincount(flat, minlength=n_splits * (n_thr + 1)).reshape(n_splits, n_thr + 1)
    fp = (m - np.cumsum(hist, axis=1)[:, :n_thr]) / m
    ones, zeros = np.ones((n_splits, 1)), np.zeros((n_splits, 1))
    tp_curve = np.concatenate([zeros, np.broadcast_to(tp[::-1], (n_splits, n_thr)), ones], axis=1)
    fp_curve = np.concatenate([zeros, fp[:, ::-1], ones], axis=1)
    return float(trapezoid(tp_curve, fp_curve).mean())


def nss_kernel(
    s: NDArray[np.floating[Any]],
    idx: NDArray[np.int64],
    *,
    ddof: int,
    name: str,
    value_range: tuple[float, float] | None = None,
) -> float:
    """NSS of a flat map ``s`` (float32 or float64) at the unique fixated indices ``idx``.

    The variance comes from the sums of the values and of their squares (no
    centred copy of the map) unless the mean is so far from zero, against
    the spread, that the subtraction would lose more than about 4 digits.
    """
    lo, hi = (float(s.min()), float(s.max())) if value_range is None else value_range
    if lo == hi:
        raise constant_error(name, lo)
    mean = float(s.sum(dtype=np.float64)) / s.size
    squares = float(np.einsum("i,i->", s, s, dtype=np.float64))
    spread = squares - s.size * mean * mean
    if spread > 1e-4 * squares:
        std = math.sqrt(spread / (s.size - ddof))
        return float((s[idx].astype(np.float64) - mean).mean() / std)
    s = s.astype(np.float64, copy=False)
    centred = s - s.mean()
    # einsum, not np.dot: a BLAS dot on one long vector can stall on busy threads.
    std = math.sqrt(float(np.einsum("i,i->", centred, centred)) / (s.size - ddof))
    return float(centred[idx].mean() / std)


def info_gain_kernel(
    s: NDArray[np.float64], b: NDArray[np.float64], idx: NDArray[np.int64], *, name: str
) -> float:
    """Information gain (bits) of flat map ``s`` at ``idx`` over a baseline distribution ``b``.

    ``b`` comes from :func:`baseline_distribution`. Only the fixated values of
    the normalised saliency map are divided by its sum (the same numbers as
    normalising the whole map).
    """
    sn = minmax(s, name)
    at_fix = sn[idx] / sn.sum()
    return float(np.mean(np.log2(EPS + at_fix) - np.log2(EPS + b[idx])))


def baseline_distribution(b: NDArray[np.float64]) -> NDArray[np.float64]:
    """A baseline map min-max normalised and scaled to sum 1; constant means uniform."""
    if b.min() == b.max():
        return np.full(b.shape, 1.0 / b.size)
    bn = minmax(b, "baseline_map")
    bn /= bn.sum()
    return bn


def check_step(step: Any) -> float:
    if (
        isinstance(step, bool)
        or not isinstance(step, (int, float, np.integer, np.floating))
        or not 0 < float(step) <= 1
    ):
        raise ValueError(
            "Invalid value for the 'step' parameter: expected a threshold step in (0, 1] on the "
            f"min-max normalised map, but got {step!r} instead."
        )
    return float(step)
