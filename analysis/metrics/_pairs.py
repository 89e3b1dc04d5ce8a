"""One map pair in few passes: CC and KL from sums, without centred copies.

Each ``*_from_sums`` kernel reads two flat float32 or float64 maps of equal
size as given (CC converts a float32 map to float64 once; no centred copy
is made) and returns None when it cannot vouch for its result: a non-finite
sum (a NaN or infinite value somewhere), a negative value where a
distribution is needed, or a spread about the mean so small against the
values that the sums would lose digits. The caller then takes the plain
path of :mod:`._rows`, which raises the documented errors or computes the
centred way, so that results and messages stay those of the plain path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import EPS

#: Share of a map's sum of squares that its sum of squared deviations must keep for the
#: sums formulas: at most 2 of the 16 digits are lost to the subtraction (scores then agree
#: with the centred computation to about 1e-14). Below it, the centred path is taken.
MIN_SPREAD = 1e-2

Flat = NDArray[np.floating[Any]]


def native_flat(value: Any) -> Flat | None:
    """A non-empty 2-D float32 or float64 array as a flat view (values unchecked); else None."""
    if (
        isinstance(value, np.ndarray)
        and value.dtype in (np.float32, np.float64)
        and value.ndim == 2
        and value.size
    ):
        return value.reshape(-1)
    return None


def _float64(x: Flat) -> NDArray[np.float64]:
    return x.astype(np.float64, copy=False)


def dot(x: Flat, y: Flat) -> float:
    # einsum, not np.dot: a BLAS dot on one long vector can stall on busy threads.
    return float(np.einsum("i,i->", x, y))


def cc_from_sums(a: Flat, b: Flat) -> float | None:
    """Pearson's CC of two flat maps from five sums (float64), or None (see the module)."""
    a64, b64 = _float64(a), _float64(b)
    n = a64.size
    sa, sb = float(a64.sum()), float(b64.sum())
    saa, sbb = dot(a64, a64), dot(b64, b64)
    if not all(math.isfinite(v) for v in (sa, sb, saa, sbb)):
        return None
    spread_a, spread_b = saa - sa * sa / n, sbb - sb * sb / n
    if not (spread_a > MIN_SPREAD * saa and spread_b > MIN_SPREAD * sbb):
        return None
    cross = dot(a64, b64) - sa * sb / n
    return cross / math.sqrt(spread_a * spread_b)


def kl_from_sums(s: Flat, f: Flat, work: NDArray[np.float64] | None = None) -> float | None:
    """MIT KL divergence of ``f`` (target) from ``s`` with one log pass, or None (see the module).

    ``sum(P log(eps + P / (Q + eps)))`` with ``P = f / F``, ``Q = s / S``
    (``F``, ``S`` the sums) is computed as ``sum(f log(eps + f / (s F / S +
    F eps))) / F``: the ratio inside the log is the same number up to
    rounding, and neither ``P`` nor ``Q`` is stored. ``work``: an optional
    float64 buffer of the maps' size.
    """
    big_s, big_f = float(s.sum(dtype=np.float64)), float(f.sum(dtype=np.float64))
    if not (math.isfinite(big_s) and math.isfinite(big_f) and big_s > 0 and big_f > 0):
        return None
    if s.min() < 0 or f.min() < 0:
        return None
    d = np.multiply(s, big_f / big_s, out=work, dtype=np.float64)
    d += big_f * EPS
    np.divide(f, d, out=d)
    d += EPS
    np.log(d, out=d)
    return float(np.einsum("i,i->", f, d, dtype=np.float64)) / big_f
