"""The AIS computations: set-level and per-image scores, cross-validated pruning, the protocol.

The definitions are in :mod:`analysis.ais`'s docstring. Importing this module
does not import torch; the functions that run a network do.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ._pairs import PreparedSimilarity, check_splits, kfold_splits, prepare_similarity
from ._results import AISResult, PruningResult, pruning_result
from .config import DEFAULT_SEEDS, METHODS

__all__ = ["ais_protocol", "ais_pruning_cv", "alignment_importance", "default_modules"]


def default_modules(model: Any) -> tuple[str, str]:
    """The standard ``(layer, readout)`` module names for a torchvision architecture.

    Parameters
    ----------
    model : torch.nn.Module or stimuli.LoadedModel
        The network.

    Returns
    -------
    tuple of str
        - VGG (any depth, with or without batch norm): the ReLU after the
          last convolution (``features.29`` in VGG-16, ``features.35`` in
          VGG-19: 512 maps of 14 x 14 at 224 px) and the ReLU after fc7,
          ``classifier.4`` (4096-d).
        - AlexNet: ``features.11`` (ReLU after conv5, 256 maps of 13 x 13) and
          ``classifier.5`` (ReLU after fc7).
        - ResNet (and ResNeXt, Wide ResNet): ``layer4`` (512 or 2048 maps of
          7 x 7) and ``avgpool`` (their global average; ablating a map zeroes
          one feature of the representation).

    Raises
    ------
    ValueError
        For other architectures: pass ``layer=`` and ``readout=``.
    """
    from ._modules import default_modules as defaults
    from ._modules import unwrap

    return defaults(unwrap(model)[0])


def _check_options(method: str, batch_size: int, chunk_size: int | None) -> None:
    if method not in METHODS:
        raise ValueError(
            "Invalid value for the 'method' parameter. Allowed values are "
            f"{', '.join(map(repr, METHODS))}, but got {method!r} instead."
        )
    for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a positive int, but got "
                f"{value!r} instead."
            )


def alignment_importance(
    model: Any,
    images: Any,
    similarity: Any,
    *,
    layer: str | None = None,
    readout: str | None = None,
    dissimilarity: bool = False,
    method: Literal["auto", "linear", "batched", "hooks", "naive"] = "auto",
    device: str | None = None,
    batch_size: int = 32,
    chunk_size: int | None = None,
) -> AISResult:
    """Set-level and per-image alignment importance of every feature map of ``layer``.

    Parameters
    ----------
    model : torch.nn.Module or stimuli.LoadedModel
        The network; put in eval mode for the call (its modes are restored).
    images : torch.Tensor of shape (N, C, H, W) or sequence of ndarray
        Preprocessed images, or uint8 RGB images (H, W, 3) when ``model`` is a
        ``LoadedModel`` (its preprocessing is applied).
    similarity : array_like of shape (N, N) or SimilarityMatrix
        Human similarity H, rows and columns in the order of ``images``;
        symmetric; the diagonal is ignored. A plain array must be finite off
        the diagonal; a ``SimilarityMatrix`` may mark missing pairs.
    layer, readout : str, optional
        Module names (``model.named_modules()``) of the feature maps and of
        the representation; defaults from :func:`default_modules`.
    dissimilarity : bool
        ``similarity`` holds dissimilarities: H is its negation.
    method : {"auto", "linear", "batched", "hooks", "naive"}
        How ablations are computed; all give the same scores (to rounding).
        "linear": the exact shortcut for heads made of channelwise
        operations, a flatten and a Linear layer (VGG, AlexNet, a ResNet's
        global average): an ablation is a subtraction before the first later
        nonlinearity. "batched": the traced head (torch.fx) re-run on masked
        activations in batches ("hooks" when the model cannot be traced).
        "hooks": the whole network re-run with a
        forward hook (untraceable models). "auto": "linear" when the head
        allows it, else "batched", else "hooks". "naive": one forward pass
        per ablation, for checking.
    device : str, optional
        Where to compute (e.g. ``"cuda"``); the model is moved there. Default:
        the model's device.
    batch_size : int
        Images per forward pass of the whole network.
    chunk_size : int, optional
        Ablations evaluated together; default keeps batches near 128 MiB.

    Returns
    -------
    AISResult

    Raises
    ------
    ValueError
        For a non-square, asymmetric or non-finite H, N not matching the
        images, unknown module names (close names are listed), a layer that
        runs after the readout or more than once, or an unknown ``method``.

    Notes
    -----
    Images are processed independently (eval mode), so the representation of
    image i with map k ablated in image i only is the same vector as in the
    set-level ablation; both scores come from one ablated pass per map.
    Correlations are computed in float64. Where an ablation leaves an RSM
    constant up to rounding (entries spanning at most 1e-10, e.g. a
    representation reduced to one feature) its correlation with H is
    undefined and the fit is NaN instead of rounding noise; NaN fits are
    skipped by the pruning argmax and NaN scores trigger a warning.
    """
    return _compute(
        model,
        images,
        similarity,
        layer=layer,
        readout=readout,
        dissimilarity=dissimilarity,
        method=method,
        device=device,
        batch_size=batch_size,
        chunk_size=chunk_size,
        splits=None,
    )[0]


def ais_pruning_cv(
    model: Any,
    images: Any,
    similarity: Any,
    *,
    layer: str | None = None,
    readout: str | None = None,
    dissimilarity: bool = False,
    n_folds: int = 5,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    method: Literal["auto", "linear", "batched", "hooks", "naive"] = "auto",
    device: str | None = None,
    batch_size: int = 32,
    chunk_size: int | None = None,
) -> PruningResult:
    """Cross-validated pruning: does keeping the top-n maps generalise to new images?

    For each seed, the images are split into ``n_folds`` folds (the splits of
    scikit-learn's ``KFold(n_folds, shuffle=True, random_state=seed)``). In
    each fold the maps are ranked by set-level AIS computed on the training
    images only; for n = 1 ... maps, the top n are kept (the others ablated
    in every image) and the fit is computed on the training and on the test
    images. n* is the argmax of the training fit; the test fit at n* is
    compared with the unablated network's test fit by a paired one-sided
    t-test over folds. Parameters as in :func:`alignment_importance`.

    Parameters
    ----------
    n_folds : int
        Folds per seed (at least 2); every fold needs 3 rated test pairs.
    seeds : sequence of int
        One shuffled k-fold split per seed; default 111, 222, ..., 888.

    Returns
    -------
    PruningResult
    """
    return ais_protocol(
        model,
        images,
        similarity,
        layer=layer,
        readout=readout,
        dissimilarity=dissimilarity,
        method=method,
        device=device,
        batch_size=batch_size,
        chunk_size=chunk_size,
        n_folds=n_folds,
        seeds=seeds,
    )[1]


def ais_protocol(
    model: Any,
    images: Any,
    similarity: Any,
    *,
    layer: str | None = None,
    readout: str | None = None,
    dissimilarity: bool = False,
    n_folds: int = 5,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    method: Literal["auto", "linear", "batched", "hooks", "naive"] = "auto",
    device: str | None = None,
    batch_size: int = 32,
    chunk_size: int | None = None,
) -> tuple[AISResult, PruningResult]:
    """The whole protocol in one pass: :func:`alignment_importance` and :func:`ais_pruning_cv`.

    Shares the forward pass and the single-map ablations between the two, so
    it is cheaper than calling both. Parameters as in those functions.
    """
    result, pruned = _compute(
        model,
        images,
        similarity,
        layer=layer,
        readout=readout,
        dissimilarity=dissimilarity,
        method=method,
        device=device,
        batch_size=batch_size,
        chunk_size=chunk_size,
        splits=(n_folds, tuple(seeds)),
    )
    if pruned is None:  # pragma: no cover - splits were given
        raise RuntimeError("pruning was not computed")
    return result, pruned


def _compute(
    model: Any,
    images: Any,
    similarity: Any,
    *,
    layer: str | None,
    readout: str | None,
    dissimilarity: bool,
    method: str,
    device: str | None,
    batch_size: int,
    chunk_size: int | None,
    splits: tuple[int, tuple[int, ...]] | None,
) -> tuple[AISResult, PruningResult | None]:
    from . import _core, _engines, _naive
    from ._modules import evaluating, prepare_images, probe, resolve, unwrap

    _check_options(method, batch_size, chunk_size)
    module, loaded = unwrap(model)
    layer, readout = resolve(module, layer, readout)
    with evaluating(module):
        tensor = prepare_images(images, loaded, module, device)
        if device is not None:
            module.to(device)
        sim = prepare_similarity(similarity, tensor.shape[0], dissimilarity=dissimilarity)
        fold_list = _splits(splits, sim)
        probe(module, tensor[:1], layer, readout)
        if method == "naive":
            values, mask = sim.values, sim.mask
            scores = _naive.scores(module, tensor, values, mask, layer, readout)
            activations = _activations(module, tensor, layer, batch_size)
            scores["rsm"] = np.corrcoef(_naive.forward(module, tensor, layer, readout))
            scores["ablated_rsm"] = None
            folds = (
                _naive.pruning(module, tensor, values, mask, layer, readout, fold_list)
                if fold_list is not None
                else None
            )
            used = "naive"
        else:
            engine = _engines.build(
                module, tensor, layer, readout, method=method, batch_size=batch_size
            )
            chunk = engine.chunk(chunk_size)
            scores = _core.single_ablations(engine, sim, chunk)
            activations = engine.activations.detach().float().cpu().numpy()
            folds = (
                _core.pruning(engine, sim, fold_list, scores["rsm"], scores["ablated_rsm"], chunk)
                if fold_list is not None
                else None
            )
            used = engine.name
    result = AISResult(
        set_scores=scores["set_scores"],
        image_scores=scores["image_scores"],
        baseline_fit=float(scores["baseline_fit"]),
        ablated_fits=scores["ablated_fits"],
        image_baseline=scores["image_baseline"],
        image_ablated=scores["image_ablated"],
        activations=activations,
        rsm=scores["rsm"],
        ablated_rsm=scores["ablated_rsm"],
        similarity=sim.values,
        pair_mask=sim.mask,
        ids=sim.ids,
        layer=layer,
        readout=readout,
        method=used,
        input_size=(int(tensor.shape[2]), int(tensor.shape[3])),
    )
    if np.isnan(result.set_scores).any() or np.isnan(result.image_scores).any():
        warnings.warn(
            "Some alignment importance scores are NaN: an ablation left an image's "
            "representation constant (zero variance), so its correlations are undefined.",
            stacklevel=3,
        )
    return result, (None if folds is None else pruning_result(folds))


def _splits(
    splits: tuple[int, tuple[int, ...]] | None, sim: PreparedSimilarity
) -> list[tuple[int, int, NDArray[np.intp], NDArray[np.intp]]] | None:
    if splits is None:
        return None
    n_folds, seeds = splits
    if not isinstance(n_folds, int) or isinstance(n_folds, bool) or not 2 <= n_folds <= sim.n:
        raise ValueError(
            "Invalid value for the 'n_folds' parameter: expected an int from 2 to the number "
            f"of images ({sim.n}), but got {n_folds!r} instead."
        )
    if not seeds or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
        raise ValueError(
            "Invalid value for the 'seeds' parameter: expected a non-empty sequence of "
            f"non-negative ints, but got {seeds!r} instead."
        )
    fold_list = kfold_splits(sim.n, n_folds, tuple(int(s) for s in seeds))
    check_splits(fold_list, sim)
    return fold_list


def _activations(module: Any, tensor: Any, layer: str, batch_size: int) -> NDArray[np.float32]:
    captured: list[Any] = []
    named = dict(module.named_modules())
    handle = named[layer].register_forward_hook(lambda _m, _i, out: captured.append(out.clone()))
    try:
        for start in range(0, tensor.shape[0], batch_size):
            module(tensor[start : start + batch_size])
    finally:
        handle.remove()
    import torch

    return torch.cat(captured).detach().float().cpu().numpy()
