"""Cross-validation folds, smoothing choice, bootstrap and derangements for the map comparison."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []


def _fold_labels(
    cv_folds: int | Mapping[Any, Any] | Sequence[Any],
    image_ids: tuple[Hashable, ...],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Fold number (0 .. k-1) of each image, in the order of ``image_ids``.

    An integer ``k`` deals the images at random into ``k`` folds whose sizes
    differ by at most one; a mapping image id -> label or a sequence of labels
    (in image order) gives the folds explicitly.
    """
    n = len(image_ids)
    if isinstance(cv_folds, (int, np.integer)) and not isinstance(cv_folds, bool):
        k = int(cv_folds)
        if not 2 <= k <= n:
            raise ValueError(
                "Invalid value for the 'cv_folds' parameter: expected an integer from 2 to the "
                f"number of images ({n}), or explicit fold labels, but got {k} instead."
            )
        labels = np.arange(n, dtype=np.int64) % k
        return labels[rng.permutation(n)]
    if isinstance(cv_folds, Mapping):
        missing = [i for i in image_ids if i not in cv_folds]
        if missing:
            raise ValueError(
                "Invalid value for the 'cv_folds' parameter: the fold labels lack the images "
                f"{missing[:5]}{' ...' if len(missing) > 5 else ''}."
            )
        raw = [cv_folds[i] for i in image_ids]
    else:
        raw = list(np.asarray(cv_folds, dtype=object).ravel())
        if len(raw) != n:
            raise ValueError(
                "Invalid value for the 'cv_folds' parameter: expected an integer or one fold "
                f"label per image ({n}), but got {len(raw)} labels."
            )
    _, labels = np.unique(np.asarray(raw, dtype=str), return_inverse=True)
    if labels.max() < 1:
        raise ValueError(
            "Invalid value for the 'cv_folds' parameter: the fold labels name a single fold; "
            "cross-validation needs at least 2."
        )
    return labels.astype(np.int64)


def _choose_sigmas(
    scores: NDArray[np.float64], folds: NDArray[np.int64], *, higher_is_better: bool
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Index of the best smoothing for each fold, chosen on the *other* folds' images.

    Parameters
    ----------
    scores : ndarray of shape (n_sigmas, n_images)
        Score of every image at every smoothing.
    folds : ndarray of shape (n_images,)
        Fold of each image.

    Returns
    -------
    best : ndarray of shape (n_folds,)
        Index into the smoothings, per fold; ties go to the smaller index.
    train_means : ndarray of shape (n_folds, n_sigmas)
        Mean training score of every smoothing, per fold.
    """
    n_folds = int(folds.max()) + 1
    one_hot = folds[None, :] == np.arange(n_folds)[:, None]
    train = ~one_hot
    train_means = (train @ scores.T) / train.sum(axis=1, keepdims=True)
    pick = train_means if higher_is_better else -train_means
    return np.argmax(pick, axis=1).astype(np.int64), train_means


def _bootstrap_indices(
    n_images: int, n_bootstrap: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Image indices of ``n_bootstrap`` resamples with replacement, shape (n_bootstrap, n)."""
    return rng.integers(0, n_images, size=(n_bootstrap, n_images), dtype=np.int64)


def _derangements(
    n_images: int, n_permutations: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """``n_permutations`` random derangements of ``range(n_images)``, shape (n_permutations, n).

    Uniform over derangements: uniform permutations are drawn and those with a
    fixed point rejected (about 1 in e is kept).
    """
    if n_images < 2:
        raise ValueError(
            "The permutation test needs at least 2 images (each image's human map is scored "
            f"against another image's map), but got {n_images}; set n_permutations=0."
        )
    out = np.empty((n_permutations, n_images), dtype=np.int64)
    filled = 0
    arange = np.arange(n_images)
    while filled < n_permutations:
        batch = max(16, int(2.8 * (n_permutations - filled)))
        perms = rng.permuted(np.broadcast_to(arange, (batch, n_images)), axis=1)
        good = perms[(perms != arange).all(axis=1)]
        take = min(len(good), n_permutations - filled)
        out[filled : filled + take] = good[:take]
        filled += take
    return out


def _percentile_interval(values: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap values."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _p_value(observed: float, null: NDArray[np.float64], *, higher_is_better: bool) -> float:
    """One-sided permutation p-value with the +1 correction: (1 + #as good) / (1 + n).

    A null value counts as at least as good as the observed one within a
    relative tolerance of 1e-12, so ties from floating point round-off count.
    """
    tol = 1e-12 * max(1.0, abs(observed))
    as_good = null >= observed - tol if higher_is_better else null <= observed + tol
    return float((1 + np.count_nonzero(as_good)) / (1 + len(null)))
