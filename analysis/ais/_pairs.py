"""Similarity-matrix checks, Pearson fits over image pairs and k-fold splits (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Relative tolerance of the symmetry check of a similarity matrix.
SYMMETRY_RTOL = 1e-7
#: RSM entries (correlations, in [-1, 1]) that span no more than this are constant up to
#: rounding: their correlation with H is undefined, and the fit is NaN rather than noise
#: (e.g. a representation left with one feature, where every correlation is 1).
CONSTANT_ATOL = 1e-10


@dataclass(frozen=True, eq=False)
class PreparedSimilarity:
    """A checked similarity matrix H and the image pairs that enter the fits.

    Attributes
    ----------
    values : ndarray of shape (N, N), float64
        H (negated when it was a dissimilarity), NaN where a pair is missing
        and on the diagonal.
    mask : ndarray of shape (N, N), bool
        Observed pairs: symmetric, False on the diagonal.
    ids : tuple of str or None
        Image ids when the matrix carried them.
    """

    values: NDArray[np.float64]
    mask: NDArray[np.bool_]
    ids: tuple[str, ...] | None

    @property
    def n(self) -> int:
        """Number of images."""
        return int(self.values.shape[0])

    def pairs(self, subset: NDArray[np.intp] | None = None) -> tuple[NDArray, NDArray]:
        """Rows and columns ``(i, j)``, ``i < j``, of the observed pairs within ``subset``."""
        index = np.arange(self.n) if subset is None else np.sort(np.asarray(subset))
        rows, cols = np.triu_indices(len(index), k=1)
        rows, cols = index[rows], index[cols]
        keep = self.mask[rows, cols]
        return rows[keep], cols[keep]


def prepare_similarity(
    similarity: Any, n_images: int, *, dissimilarity: bool
) -> PreparedSimilarity:
    """Check H (square, symmetric, N matching the images) and negate a dissimilarity.

    A plain array must be finite off the diagonal; a
    :class:`analysis.similarity.SimilarityMatrix` may have missing pairs
    (NaN), which are left out of every fit. The diagonal is never used.
    """
    ids: tuple[str, ...] | None = None
    allow_missing = False
    if hasattr(similarity, "values") and hasattr(similarity, "ids"):
        ids = tuple(similarity.ids)
        allow_missing = True
        similarity = similarity.values
    values = np.array(similarity, dtype=np.float64, copy=True)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(
            "Invalid value for the 'similarity' parameter: expected a square N x N matrix, but "
            f"got shape {values.shape} instead."
        )
    n = values.shape[0]
    if n != n_images:
        raise ValueError(
            f"The similarity matrix is {n} x {n}, but there are {n_images} images: they must "
            "match, in the same order."
        )
    if n < 3:
        raise ValueError(f"At least 3 images are needed (3 pairs for a correlation); got {n}.")
    np.fill_diagonal(values, np.nan)
    off = ~np.eye(n, dtype=bool)
    missing = off & ~np.isfinite(values)
    if missing.any() and not allow_missing:
        i, j = np.argwhere(missing)[0]
        raise ValueError(
            f"The similarity matrix has {int(missing.sum()) // 2 or 1} pairs that are NaN or "
            f"infinite off the diagonal, e.g. [{i}, {j}]. Give missing pairs explicitly: read "
            "the ratings with analysis.similarity.read_similarity(..., missing='mask'), whose "
            "SimilarityMatrix leaves them out of every fit."
        )
    values[missing] = np.nan
    both = off & np.isfinite(values) & np.isfinite(values.T)
    scale = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    gap = np.where(both, np.abs(values - values.T), 0.0)
    if gap.max(initial=0.0) > SYMMETRY_RTOL * max(scale, np.finfo(float).tiny):
        i, j = np.unravel_index(int(np.argmax(gap)), gap.shape)
        raise ValueError(
            f"The similarity matrix is not symmetric: entry [{i}, {j}] = {float(values[i, j])!r} "
            f"but [{j}, {i}] = {float(values[j, i])!r}. Average the two orders first "
            "(analysis.similarity.read_similarity(..., asymmetric='average'))."
        )
    if (np.isfinite(values) != np.isfinite(values.T)).any():
        raise ValueError("The similarity matrix has pairs missing in one order only.")
    mask = off & np.isfinite(values)
    if dissimilarity:
        values = -values
    prepared = PreparedSimilarity(values, mask, ids)
    rows, cols = prepared.pairs()
    if len(rows) < 3 or np.ptp(values[rows, cols]) == 0:
        raise ValueError(
            "The similarity matrix needs at least 3 observed pairs with different values; got "
            f"{len(rows)} pairs{' that are all equal' if len(rows) >= 3 else ''}."
        )
    return prepared


def pearson_rows(values: NDArray, target: NDArray) -> NDArray[np.float64]:
    """Pearson r between each row of ``values`` (B, P) and ``target`` (P,).

    NaN where a row is constant (spans at most ``CONSTANT_ATOL``) or NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    constant = np.ptp(x, axis=-1) <= CONSTANT_ATOL if x.shape[-1] else np.ones(x.shape[:-1], bool)
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x @ y) / (np.sqrt((x * x).sum(axis=-1)) * np.sqrt(y @ y))
    return np.where(constant, np.nan, r)


def fits(rsms: NDArray, sim: PreparedSimilarity, subset: NDArray | None = None) -> NDArray:
    """fit = r^2 between the upper triangles of each RSM (B, N, N) and H, over ``subset``."""
    rows, cols = sim.pairs(subset)
    r = pearson_rows(np.asarray(rsms)[..., rows, cols], sim.values[rows, cols])
    return np.asarray(r * r, dtype=np.float64)


def row_correlations(rows: NDArray, sim: PreparedSimilarity) -> NDArray[np.float64]:
    """Per-image r: row i of ``rows`` (B, N, N) against row i of H, without the diagonal.

    Entries ``rows[b, i, j]`` are the correlations of image i with image j
    under condition b; only observed pairs ``(i, j)``, ``j != i``, count.
    Returns (B, N); NaN where fewer than 2 pairs or a constant row.
    """
    weights = sim.mask.astype(np.float64)
    target = np.where(sim.mask, sim.values, 0.0)
    count = weights.sum(axis=1)
    x = np.where(sim.mask, np.asarray(rows, dtype=np.float64), 0.0)
    spread = np.where(sim.mask, x, -np.inf).max(axis=-1) - np.where(sim.mask, x, np.inf).min(
        axis=-1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = x.sum(axis=-1) / count
        mean_y = target.sum(axis=-1) / count
        xc = (x - mean_x[..., None]) * weights
        yc = (target - mean_y[:, None]) * weights
        r = (xc * yc).sum(axis=-1) / np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    return np.where((count >= 2) & (spread > CONSTANT_ATOL), r, np.nan)


def rank_order(scores: NDArray) -> NDArray[np.intp]:
    """Map indices by decreasing score; ties keep channel order, NaN comes last."""
    values = np.asarray(scores, dtype=np.float64)
    return np.argsort(-np.where(np.isnan(values), -np.inf, values), kind="stable")


def kfold_splits(
    n_images: int, n_folds: int, seeds: tuple[int, ...]
) -> list[tuple[int, int, NDArray[np.intp], NDArray[np.intp]]]:
    """(seed, split, train, test) for each seed and split, as scikit-learn's shuffled KFold.

    The same splits as ``KFold(n_folds, shuffle=True, random_state=seed)``:
    ``numpy.random.RandomState(seed)`` shuffles the indices, the first
    ``n_images % n_folds`` test blocks get one extra image, and both index
    arrays come back sorted.
    """
    out = []
    for seed in seeds:
        order = np.arange(n_images)
        np.random.RandomState(seed).shuffle(order)
        sizes = np.full(n_folds, n_images // n_folds)
        sizes[: n_images % n_folds] += 1
        start = 0
        for split, size in enumerate(sizes):
            test = np.sort(order[start : start + size])
            train = np.setdiff1d(np.arange(n_images), test)
            out.append((int(seed), split, train, test))
            start += size
    return out


def check_splits(splits: list, sim: PreparedSimilarity) -> None:
    """Every train and test set needs 3 observed pairs for a correlation."""
    for seed, split, train, test in splits:
        for name, subset in (("training", train), ("test", test)):
            if len(sim.pairs(subset)[0]) < 3:
                raise ValueError(
                    f"Fold (seed {seed}, split {split}) has {len(subset)} {name} images with "
                    f"{len(sim.pairs(subset)[0])} rated pairs; a fit needs at least 3 pairs. "
                    "Use fewer folds or more images."
                )
