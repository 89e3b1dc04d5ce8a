"""The reference AIS computation: the definitions run literally, one forward pass per ablation.

Nothing here is shared with the fast paths except the module lookup: the fits
use ``numpy.corrcoef`` and every ablated representation comes from running the
whole network with channels of the layer's output set to zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from ._pairs import CONSTANT_ATOL


def forward(
    module: nn.Module,
    images: torch.Tensor,
    layer: str,
    readout: str,
    zeroed: NDArray[np.bool_] | None = None,
    *,
    batch_size: int = 32,
) -> NDArray[np.float64]:
    """Readout (N, D) with ``zeroed[n, k]`` channels of the layer set to zero in image n."""
    named = dict(module.named_modules())
    outputs: list[torch.Tensor] = []
    state: dict[str, Any] = {}

    def ablate(_m: nn.Module, _i: Any, output: torch.Tensor) -> torch.Tensor | None:
        if state["zeroed"] is None:
            return None
        output = output.clone()
        output[torch.as_tensor(state["zeroed"], device=output.device)] = 0
        return output

    def capture(_m: nn.Module, _i: Any, output: torch.Tensor) -> None:
        outputs.append(output.reshape(output.shape[0], -1).detach().double().cpu().clone())

    handles = [
        named[layer].register_forward_hook(ablate),
        named[readout].register_forward_hook(capture),
    ]
    try:
        for start in range(0, images.shape[0], batch_size):
            stop = min(start + batch_size, images.shape[0])
            state["zeroed"] = None if zeroed is None else zeroed[start:stop]
            module(images[start:stop])
    finally:
        for handle in handles:
            handle.remove()
    return torch.cat(outputs).numpy()


def _n_maps(module: nn.Module, images: torch.Tensor, layer: str) -> int:
    seen: list[int] = []
    handle = dict(module.named_modules())[layer].register_forward_hook(
        lambda _m, _i, out: seen.append(out.shape[1])
    )
    try:
        module(images[:1])
    finally:
        handle.remove()
    return seen[0]


def _upper(matrix: NDArray, index: NDArray, mask: NDArray) -> tuple[NDArray, NDArray]:
    rows, cols = np.triu_indices(len(index), k=1)
    rows, cols = index[rows], index[cols]
    keep = mask[rows, cols]
    return matrix[rows[keep], cols[keep]], np.stack([rows[keep], cols[keep]])


def fit(X: NDArray, H: NDArray, mask: NDArray, index: NDArray | None = None) -> float:
    """Squared Pearson r of the upper triangles of corrcoef(X[index]) and H[index]."""
    index = np.arange(len(X)) if index is None else np.sort(index)
    rsm = np.full((len(X), len(X)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsm[np.ix_(index, index)] = np.corrcoef(X[index])
    a, pairs = _upper(rsm, index, mask)
    b = H[pairs[0], pairs[1]]
    return _r(a, b) ** 2


def row_r(X: NDArray, H: NDArray, mask: NDArray, i: int) -> float:
    """Pearson r of row i of corrcoef(X) and row i of H, diagonal and missing pairs left out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rsm = np.corrcoef(X)
    keep = mask[i].copy()
    keep[i] = False
    return _r(rsm[i, keep], H[i, keep])


def _r(a: NDArray, b: NDArray) -> float:
    """Pearson r; NaN when ``a`` is constant up to rounding (CONSTANT_ATOL) or has NaN."""
    if len(a) < 2 or not np.isfinite(a).all() or np.ptp(a) <= CONSTANT_ATOL:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def scores(
    module: nn.Module, images: torch.Tensor, H: NDArray, mask: NDArray, layer: str, readout: str
) -> dict[str, Any]:
    """Baseline fit, set-level and per-image AIS by the definitions, literally."""
    n = images.shape[0]
    k_maps = _n_maps(module, images, layer)
    X = forward(module, images, layer, readout)
    base = fit(X, H, mask)
    ablated = np.empty(k_maps)
    for k in range(k_maps):
        zeroed = np.zeros((n, k_maps), bool)
        zeroed[:, k] = True
        ablated[k] = fit(forward(module, images, layer, readout, zeroed), H, mask)
    r = np.array([row_r(X, H, mask, i) for i in range(n)])
    r_ablated = np.empty((n, k_maps))
    for i in range(n):
        for k in range(k_maps):
            zeroed = np.zeros((1, k_maps), bool)
            zeroed[0, k] = True
            X_i = X.copy()
            X_i[i] = forward(module, images[i : i + 1], layer, readout, zeroed)[0]
            r_ablated[i, k] = row_r(X_i, H, mask, i)
    return {
        "baseline_fit": base,
        "ablated_fits": ablated,
        "set_scores": base - ablated,
        "image_baseline": r,
        "image_ablated": r_ablated,
        "image_scores": r[:, None] - r_ablated,
    }


def pruning(
    module: nn.Module,
    images: torch.Tensor,
    H: NDArray,
    mask: NDArray,
    layer: str,
    readout: str,
    splits: list[tuple[int, int, NDArray, NDArray]],
) -> list[dict[str, Any]]:
    """Per fold: ranking by training-set AIS, train and test fit for every n, n*."""
    n = images.shape[0]
    k_maps = _n_maps(module, images, layer)
    X = forward(module, images, layer, readout)
    out = []
    for seed, split, train, test in splits:
        base = fit(X, H, mask, train)
        ais = np.empty(k_maps)
        for k in range(k_maps):
            zeroed = np.zeros((len(train), k_maps), bool)
            zeroed[:, k] = True
            X_k = np.full_like(X, np.nan)
            X_k[train] = forward(module, images[train], layer, readout, zeroed)
            ais[k] = base - fit(X_k, H, mask, train)
        order = np.argsort(-np.where(np.isnan(ais), -np.inf, ais), kind="stable")
        train_fit = np.empty(k_maps)
        test_fit = np.empty(k_maps)
        for count in range(1, k_maps + 1):
            zeroed = np.ones((n, k_maps), bool)
            zeroed[:, order[:count]] = False
            X_n = forward(module, images, layer, readout, zeroed)
            train_fit[count - 1] = fit(X_n, H, mask, train)
            test_fit[count - 1] = fit(X_n, H, mask, test)
        best = int(np.nanargmax(train_fit))
        out.append(
            {
                "seed": seed,
                "split": split,
                "train": train,
                "test": test,
                "order": order,
                "train_scores": ais,
                "train_fit": train_fit,
                "test_fit": test_fit,
                "n_star": best + 1,
                "train_fit_full": base,
                "test_fit_full": fit(X, H, mask, test),
            }
        )
    return out
