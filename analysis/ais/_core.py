"""Set-level, per-image and pruning computations on an engine's ablated representations (torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from ._engines import Engine
from ._pairs import PreparedSimilarity, fits, rank_order, row_correlations


def centred(X: torch.Tensor) -> torch.Tensor:
    """Rows minus their mean, in float64 (correlations of nearly parallel rows need it)."""
    out = X.to(torch.float64, copy=True)
    out -= out.mean(dim=-1, keepdim=True)
    return out


def _numpy(tensor: torch.Tensor) -> NDArray[np.float64]:
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)


def _correlations(gram: NDArray, left: NDArray, right: NDArray) -> NDArray[np.float64]:
    """Gram matrices of centred rows to Pearson r; a constant row gives NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(gram / (left[..., :, None] * right[..., None, :]), dtype=np.float64)


def _gram(xc: torch.Tensor) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RSMs of centred representations (c, N, D) and the rows' norms (c, N)."""
    gram = _numpy(torch.bmm(xc, xc.transpose(1, 2)))
    norms = np.sqrt(np.maximum(np.diagonal(gram, axis1=1, axis2=2), 0.0))
    return _correlations(gram, norms, norms), norms


def single_ablations(engine: Engine, sim: PreparedSimilarity, chunk: int) -> dict[str, Any]:
    """Fits with each map ablated in every image, and per-image r with it ablated in one.

    One ablated representation X^(-k) per map serves both: image i's row of the
    RSM with map k ablated in image i only is ``corr(X_i^(-k), X_j)``.
    """
    k_maps, n = engine.n_maps, engine.n_images
    x0 = centred(engine.baseline)
    rsm, norms0 = _gram(x0[None])
    rsm, norms0 = rsm[0], norms0[0]
    ablated_fits = np.empty(k_maps)
    image_ablated = np.empty((n, k_maps))
    ablated_rsm = np.empty((k_maps, n, n))
    for start in range(0, k_maps, chunk):
        stop = min(start + chunk, k_maps)
        xc = centred(engine.ablate_each(range(start, stop)))
        grams, norms = _gram(xc)
        rows = _correlations(_numpy(xc @ x0.T), norms, norms0[None])
        ablated_fits[start:stop] = fits(grams, sim)
        image_ablated[:, start:stop] = row_correlations(rows, sim).T
        ablated_rsm[start:stop] = grams
    baseline_fit = float(fits(rsm[None], sim)[0])
    image_baseline = row_correlations(rsm[None], sim)[0]
    return {
        "baseline_fit": baseline_fit,
        "ablated_fits": ablated_fits,
        "set_scores": baseline_fit - ablated_fits,
        "image_baseline": image_baseline,
        "image_ablated": image_ablated,
        "image_scores": image_baseline[:, None] - image_ablated,
        "rsm": rsm,
        "ablated_rsm": ablated_rsm,
    }


def pruning(
    engine: Engine,
    sim: PreparedSimilarity,
    splits: list[tuple[int, int, NDArray[np.intp], NDArray[np.intp]]],
    rsm: NDArray,
    ablated_rsm: NDArray,
    chunk: int,
) -> list[dict[str, Any]]:
    """Per fold: rank maps by training-set AIS, then train and test fit for every n."""
    k_maps = engine.n_maps
    out = []
    for seed, split, train, test in splits:
        train_scores = fits(rsm[None], sim, train)[0] - fits(ablated_rsm, sim, train)
        order = rank_order(train_scores)
        train_fit = np.empty(k_maps)
        test_fit = np.empty(k_maps)
        for start, X in engine.iter_keep(order.tolist(), chunk):
            grams = _gram(centred(X))[0]
            stop = start - 1 + X.shape[0]
            train_fit[start - 1 : stop] = fits(grams, sim, train)
            test_fit[start - 1 : stop] = fits(grams, sim, test)
        if np.isnan(train_fit).all():
            raise ValueError(f"Every training fit of fold (seed {seed}, split {split}) is NaN.")
        best = int(np.nanargmax(train_fit))
        out.append(
            {
                "seed": seed,
                "split": split,
                "train": train,
                "test": test,
                "order": order,
                "train_scores": train_scores,
                "train_fit": train_fit,
                "test_fit": test_fit,
                "n_star": best + 1,
                "train_fit_full": float(fits(rsm[None], sim, train)[0]),
                "test_fit_full": float(fits(rsm[None], sim, test)[0]),
            }
        )
    return out
