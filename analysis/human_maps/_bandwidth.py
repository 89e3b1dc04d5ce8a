"""Bandwidths chosen by held-out likelihood: densities (LOPO) and accuracy surfaces (CV).

Both evaluate :func:`analysis.fixation_map`'s own kernel (the sampled Gaussian
cut at :data:`analysis.fixations.GAUSSIAN_TRUNCATE` sigmas, rows and columns
separately, mass beyond the image border lost) at the held-out points only,
instead of making a map per fold: a test checks that the values equal the
maps'.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..fixations import GAUSSIAN_TRUNCATE, _caller_stacklevel, _gaussian_kernel

#: Share of a uniform map mixed into each held-out density, so that a
#: held-out fixation far from every other one scores a finite log-likelihood:
#: ``q = (1 - UNIFORM_SHARE) * density + UNIFORM_SHARE / n_pixels``.
UNIFORM_SHARE = 1e-3

#: Held-out accuracy predictions are kept in ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]``
#: (they reach 0 or 1 only without pseudo-counts).
PROBABILITY_FLOOR = 1e-3


@dataclass(frozen=True)
class Points:
    """One image's data for a bandwidth choice: pixels, fold labels, outcomes."""

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    groups: NDArray[np.int64]
    shape: tuple[int, int]
    px_per_deg: float
    outcomes: NDArray[np.float64] | None = None


def kernel(sigma_px: float) -> tuple[NDArray[np.float64], int]:
    """The 1-D kernel of :func:`analysis.fixation_map` (sums to 1) and its radius."""
    radius = int(GAUSSIAN_TRUNCATE * sigma_px + 0.5)
    return _gaussian_kernel(sigma_px, radius), radius


def pair_weights(
    g: NDArray[np.float64],
    radius: int,
    rows_a: NDArray[np.int64],
    cols_a: NDArray[np.int64],
    rows_b: NDArray[np.int64],
    cols_b: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Kernel value of every point b at every point a, shape (len(a), len(b)); 0 beyond the cut."""
    dr = rows_a[:, None] - rows_b[None, :]
    dc = cols_a[:, None] - cols_b[None, :]
    near = (np.abs(dr) <= radius) & (np.abs(dc) <= radius)
    dr = np.clip(dr, -radius, radius) + radius
    dc = np.clip(dc, -radius, radius) + radius
    return np.where(near, g[dr] * g[dc], 0.0)


def inside_mass(
    g: NDArray[np.float64],
    radius: int,
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    shape: tuple[int, int],
) -> NDArray[np.float64]:
    """Mass of each point's kernel that falls inside the image (the rest is lost at the border)."""
    cumulative = np.concatenate([[0.0], np.cumsum(g)])

    def along(pos: NDArray[np.int64], size: int) -> NDArray[np.float64]:
        lo = np.clip(radius - pos, 0, 2 * radius + 1)
        hi = np.clip(radius + size - pos, 0, 2 * radius + 1)
        return np.asarray(cumulative[hi] - cumulative[lo])

    return along(rows, shape[0]) * along(cols, shape[1])


def density_scores(
    images: Sequence[Points], candidates_deg: Sequence[float]
) -> tuple[NDArray[np.float64], int]:
    """Held-out log-likelihood per candidate, bits per point relative to uniform, and the points.

    For each image and fold (participant) the density of the other folds'
    points (normalised to sum 1 over the image, as ``fixation_map(...,
    normalize="sum")``), mixed with :data:`UNIFORM_SHARE` of uniform, is read
    at the held-out points: ``log2(q * n_pixels)``. A point whose image has no
    point of another fold is not scored.
    """
    totals = np.zeros(len(candidates_deg))
    n_scored = 0
    for k, sigma_deg in enumerate(candidates_deg):
        for im in images:
            n_pixels = im.shape[0] * im.shape[1]
            g, radius = kernel(sigma_deg * im.px_per_deg)
            mass = inside_mass(g, radius, im.rows, im.cols, im.shape)
            for label in np.unique(im.groups):
                held = im.groups == label
                if held.all():
                    continue
                others = ~held
                w = pair_weights(
                    g, radius, im.rows[held], im.cols[held], im.rows[others], im.cols[others]
                )
                density = w.sum(axis=1) / mass[others].sum()
                q = (1.0 - UNIFORM_SHARE) * density + UNIFORM_SHARE / n_pixels
                totals[k] += float(np.log2(q * n_pixels).sum())
                if k == 0:
                    n_scored += int(held.sum())
    if n_scored == 0:
        raise ValueError("no held-out point has points of another participant on its image")
    return totals / n_scored, n_scored


def accuracy_scores(
    images: Sequence[Points],
    candidates_deg: Sequence[float],
    *,
    pseudo_counts: float,
    chance: float,
) -> tuple[NDArray[np.float64], int]:
    """Held-out Bernoulli log-likelihood per candidate, bits per trial relative to chance.

    Each held-out trial's predicted accuracy is the surface of the other
    folds' trials at its dot, ``(sum_j w_j c_j + a p0) / (sum_j w_j + a)`` with
    the peak-1 kernel of the maps (``p0`` where the denominator is 0), kept
    within :data:`PROBABILITY_FLOOR` of 0 and 1.
    """
    totals = np.zeros(len(candidates_deg))
    n_scored = 0
    for k, sigma_deg in enumerate(candidates_deg):
        for im in images:
            if im.outcomes is None:
                raise TypeError("accuracy_scores needs the outcomes of every image's trials")
            g, radius = kernel(sigma_deg * im.px_per_deg)
            peak = g[radius] ** 2
            for label in np.unique(im.groups):
                held = im.groups == label
                others = ~held
                w = (
                    pair_weights(
                        g, radius, im.rows[held], im.cols[held], im.rows[others], im.cols[others]
                    )
                    / peak
                )
                num = w @ im.outcomes[others] + pseudo_counts * chance
                den = w.sum(axis=1) + pseudo_counts
                p = np.where(den > 0, num / np.where(den > 0, den, 1.0), chance)
                p = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
                c = im.outcomes[held]
                ll = c * np.log2(p) + (1 - c) * np.log2(1 - p)
                ll0 = c * math.log2(chance) + (1 - c) * math.log2(1 - chance)
                totals[k] += float((ll - ll0).sum())
                if k == 0:
                    n_scored += int(held.sum())
    return totals / max(n_scored, 1), n_scored


def choose(candidates_deg: Sequence[float], scores: NDArray[np.float64], *, what: str) -> float:
    """The best-scoring candidate (ties: the smaller); warns when it is an edge of the grid.

    ``candidates_deg`` is sorted ascending.
    """
    best = float(np.max(scores))
    tolerance = 1e-12 * max(abs(best), 1.0)
    index = int(np.flatnonzero(scores >= best - tolerance)[0])
    chosen = float(candidates_deg[index])
    if len(candidates_deg) > 1 and index in (0, len(candidates_deg) - 1):
        side = "smallest" if index == 0 else "largest"
        warnings.warn(
            f"The {what} bandwidth chosen by cross-validation, {chosen:g} deg, is the {side} "
            f"of the candidates {[float(c) for c in candidates_deg]}: the best may lie beyond "
            "them; widen 'candidates_deg'.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    return chosen


def sorted_candidates(candidates_deg: Sequence[float]) -> tuple[float, ...]:
    """Candidates ascending, without repeats."""
    return tuple(sorted({float(c) for c in candidates_deg}))
