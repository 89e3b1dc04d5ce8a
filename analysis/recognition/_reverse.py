"""The reverse test: an ANN's recognition of images masked by human maps (Langlois et al. 2021).

What the authors' code does (czhao39/neurips-attention, commit ee580ee, folder
``section_6``), and what this module does the same way:

- **The mask** (``create_ANN_recognition_data_human_masks.ipynb``, ``get_mask``): the
  map is resized to the image, every value below the ``N // 2``-th smallest (the
  median, ``np.partition``) is raised to it, the median subtracted and the result
  divided by its maximum. Here: :func:`stimuli.make_mask` with ``kind="median"`` and
  the image's size, the same steps.
- **The blend** (same notebook, ``null_type = 'black'``): ``mask * image + (1 - mask)
  * 0``. Here: :func:`stimuli.render` with ``background="black"``.
- **The rank** (``analyze_ANN_recognition_human_masks_results.ipynb``,
  ``confs_to_ranking`` and ``ranking_distance`` with ``k = 1``): the network's top
  class on the *unmasked* image, and its 0-based rank ``r`` among all ``N`` classes on
  the masked image (0: still the top class). Here that is ``target="predicted"``;
  ``target="label"`` ranks the image's labelled class instead. Ties count in the
  target's favour (``r`` = classes scored strictly higher); the authors' ``argsort``
  breaks them arbitrarily.
- **The score** (same notebook, ``inverse_rank``): ``N / (N + r)`` with ``N`` the
  number of classes of the network's training set (1000 for ImageNet, 100 for
  CIFAR-100, 434 for their Places365 model): 1 for the top class, 1/2 at ``r = N``.

One difference, by design: the authors pair each image with *every* other image's
mask as its incorrect masks and average ``r`` over them; here, as in the human
experiment (``tasks.masked_recognition``), image ``i`` gets the map of image
``i + 1`` in the given order (circularly), one incorrect mask per image.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..comparison._stats import _bootstrap_indices, _percentile_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RANK_SCORES", "TARGETS", "ReverseTest", "rank_score", "reverse_test"]

#: Scores of a 0-based rank ``r`` among ``N`` classes (:func:`rank_score`).
RANK_SCORES = ("inverse_rank", "N/r", "1/(r+1)")
#: Whose class is ranked: the image's label, or the network's top class on the unmasked image.
TARGETS = ("label", "predicted")


def rank_score(rank: ArrayLike, n_classes: int, *, score: str = "inverse_rank") -> NDArray[Any]:
    """Score a 0-based rank ``r`` (0: the top class) among ``N = n_classes`` classes.

    Parameters
    ----------
    rank : array_like of int
        Ranks in ``[0, n_classes)``.
    n_classes : int
        ``N``, the number of classes the network scores (>= 1).
    score : {"inverse_rank", "N/r", "1/(r+1)"}
        - ``"inverse_rank"`` (default; Langlois et al.'s code): ``N / (N + r)``, in
          ``(1/2, 1]``: 1 at ``r = 0``, falling slowly, so that a class pushed from
          the top to rank 10 of 1000 loses 1 %.
        - ``"N/r"``: ``N / R`` with ``R = r + 1`` the rank counted from 1 (so the top
          class scores ``N``, not infinity), in ``[1, N]``.
        - ``"1/(r+1)"``: the reciprocal rank ``1 / R``, in ``[1/N, 1]`` (the mean
          reciprocal rank of retrieval).

    Returns
    -------
    ndarray of float64
        Scores of the shape of ``rank``.
    """
    if score not in RANK_SCORES:
        raise ValueError(
            "Invalid value for the 'score' parameter. Allowed values are "
            f"{', '.join(map(repr, RANK_SCORES))}, but got {score!r} instead."
        )
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 1:
        raise ValueError(
            "Invalid value for the 'n_classes' parameter: expected an integer >= 1, but got "
            f"{n_classes!r} instead."
        )
    r = np.asarray(rank, dtype=np.float64)
    if (
        not (np.isfinite(r).all() and (r >= 0).all() and (r < n_classes).all())
        or (r != np.round(r)).any()
    ):
        raise ValueError(
            f"Invalid value for the 'rank' parameter: expected integers in [0, {n_classes}) "
            f"(0-based ranks among n_classes), but got {np.ravel(r)[:5]!r}."
        )
    n = float(n_classes)
    if score == "inverse_rank":
        return np.asarray(n / (n + r))
    if score == "N/r":
        return np.asarray(n / (r + 1.0))
    return np.asarray(1.0 / (r + 1.0))


@dataclass(frozen=True, eq=False)
class ReverseTest:
    """Results of :func:`reverse_test`.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per measure x image x mask: ``measure``, ``image_id``, ``mask``
        (``"correct"``: the image's own map; ``"incorrect"``: the next image's),
        ``mask_image_id``, ``target_class`` (index into the network's outputs),
        ``target_name`` (its category name, or ``""``), ``rank`` (0-based, on the
        masked image), ``score``, ``unmasked_rank`` (the target's rank on the
        unmasked image; 0 with ``target="predicted"``).
    summary : pandas.DataFrame
        One row per measure: ``measure``, ``n_images``, ``mean_correct``,
        ``mean_incorrect``, ``difference`` (correct minus incorrect), ``ci_low``,
        ``ci_high`` (percentile bootstrap over images of the mean paired difference).
    n_classes : int
        ``N``, the number of network outputs.
    score, target : str
        The score and target used.
    model : str
        The model's identifier (:attr:`stimuli.LoadedModel.identifier`).
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    n_classes: int
    score: str
    target: str
    model: str

    def __repr__(self) -> str:
        return (
            f"ReverseTest({self.model}, target={self.target!r}, score={self.score!r}, "
            f"{len(self.summary)} measures, {self.scores['image_id'].nunique()} images)"
        )


def _images(stimuli: Any, labels: Mapping[str, Any] | None) -> tuple[Any, list[str], dict]:
    """(image getter, ids in order, labels) from a stimulus set, its path or a mapping."""
    from stimuli import StimulusSet, read_stimulus_set

    if isinstance(stimuli, (str, os.PathLike)):
        stimuli = read_stimulus_set(stimuli)
    if isinstance(stimuli, StimulusSet):
        ids = [str(i) for i in stimuli.ids]
        table = stimuli.table
        found = dict(zip(ids, table["label"], strict=True)) if "label" in table else {}
        return stimuli.image, ids, dict(labels) if labels is not None else found
    if isinstance(stimuli, Mapping):
        images = {str(k): v for k, v in stimuli.items()}
        return images.__getitem__, list(images), dict(labels or {})
    raise TypeError(
        "Invalid value for the 'stimuli' parameter: expected a stimulus-set path, a "
        f"StimulusSet or a mapping image_id -> image, but got {type(stimuli).__name__}."
    )


def _rgb(image: Any, image_id: str) -> NDArray[np.uint8]:
    array = np.asarray(image)
    if (
        array.dtype != np.uint8
        or array.ndim not in (2, 3)
        or (array.ndim == 3 and array.shape[2] != 3)
    ):
        raise ValueError(
            f"Image {image_id!r}: expected uint8 of shape (H, W, 3) or (H, W), but got shape "
            f"{array.shape} and dtype {array.dtype}."
        )
    return np.repeat(array[:, :, None], 3, axis=2) if array.ndim == 2 else array


def _categories(loaded: Any, n_classes: int) -> list[str] | None:
    """Category names of a torchvision model's weights (None when unknown or of other size)."""
    provenance = loaded.provenance
    if provenance.get("model_source") != "torchvision":
        return None
    import torchvision

    enum = torchvision.models.get_model_weights(str(provenance["model"]))
    weights = str(provenance.get("weights", ""))
    member = enum.__members__.get(weights.split(".", 1)[-1], enum.DEFAULT)
    names = member.meta.get("categories")
    return list(names) if names is not None and len(names) == n_classes else None


def _label_class(label: Any, names: list[str] | None, n_classes: int) -> int | None:
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        index = int(label)
    elif isinstance(label, str) and label.strip().isdigit():
        index = int(label.strip())
    elif names is not None:
        lookup = {name.strip().casefold(): i for i, name in enumerate(names)}
        return lookup.get(str(label).strip().casefold())
    else:
        return None
    return index if 0 <= index < n_classes else None


class _Network:
    """Logits of images in batches, on the model's device."""

    def __init__(self, loaded: Any, batch_size: int) -> None:
        self.loaded, self.batch_size = loaded, batch_size

    def logits(self, images: Sequence[NDArray[np.uint8]]) -> NDArray[np.float64]:
        import torch

        out = []
        device = self.loaded.device
        for start in range(0, len(images), self.batch_size):
            chunk = [self.loaded.preprocess(im) for im in images[start : start + self.batch_size]]
            if len({tuple(t.shape) for t in chunk}) == 1:
                groups = [torch.stack(chunk)]
            else:  # preprocess keeps each image's size (size=None): one pass per image
                groups = [t[None] for t in chunk]
            for batch in groups:
                with torch.inference_mode():
                    result = self.loaded.model(batch.to(device))
                if not isinstance(result, torch.Tensor) or result.ndim != 2:
                    raise ValueError(
                        "The model must return class scores of shape (batch, n_classes), but "
                        f"returned {type(result).__name__} "
                        f"{getattr(result, 'shape', '')}."
                    )
                out.append(result.detach().to("cpu", torch.float64).numpy())
        return np.concatenate(out, axis=0)


def _ranks(logits: NDArray[np.float64], targets: NDArray[np.int64]) -> NDArray[np.int64]:
    """0-based rank of each row's target: the classes scored strictly higher."""
    own = logits[np.arange(len(targets)), targets]
    return np.asarray((logits > own[:, None]).sum(axis=1), dtype=np.int64)


def _check_maps(human_maps: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Measure -> {image_id: map} of the images that have a map in it, in the stimuli's order."""
    if not isinstance(human_maps, Mapping) or not human_maps:
        raise ValueError(
            "Invalid value for the 'human_maps' parameter: expected a non-empty mapping "
            "measure -> {image_id: map}."
        )
    known = set(ids)
    out = {}
    for measure, maps in human_maps.items():
        if not isinstance(maps, Mapping):
            raise ValueError(
                f"human_maps[{measure!r}] is a {type(maps).__name__}; expected a mapping "
                "image_id -> map (the shape is measure -> image id -> map)."
            )
        keys = {str(k) for k in maps}
        unknown = sorted(keys - known)
        if unknown and not keys & known:
            raise ValueError(
                f"human_maps[{measure!r}] names images {unknown[:5]} that are not among the "
                f"stimuli ({ids[:5]} ...); the shape is measure -> image id -> map."
            )
        present = [i for i in ids if i in keys]
        if len(present) < 2:
            raise ValueError(
                f"human_maps[{measure!r}] has maps of {len(present)} of the images; the "
                "incorrect masks need at least 2."
            )
        if len(present) < len(ids):
            warnings.warn(
                f"human_maps[{measure!r}] lacks the maps of {len(ids) - len(present)} images "
                f"(e.g. {[i for i in ids if i not in keys][:3]}); they are left out of it.",
                stacklevel=3,
            )
        by_id = {str(k): v for k, v in maps.items()}
        out[str(measure)] = {i: by_id[i] for i in present}
    return out


def _cases(
    measures: dict[str, dict[str, Any]], image: Any
) -> Iterator[tuple[str, str, str, str, NDArray[np.uint8]]]:
    """(measure, image_id, mask, mask_image_id, masked image) for every case."""
    from stimuli import make_mask, render

    for measure, maps in measures.items():
        ids = list(maps)
        for position, image_id in enumerate(ids):
            pixels = image(image_id)
            following = ids[(position + 1) % len(ids)]
            for kind, other in (("correct", image_id), ("incorrect", following)):
                mask = make_mask(maps[other], kind="median", size=pixels.shape[:2])
                yield measure, image_id, kind, other, render(pixels, mask, background="black")


def reverse_test(
    stimuli: str | os.PathLike[str] | Any,
    human_maps: Mapping[str, Mapping[str, ArrayLike]],
    model: Any,
    *,
    weights: str | os.PathLike[str] | None = "default",
    labels: Mapping[str, Any] | None = None,
    target: str = "label",
    categories: Sequence[str] | None = None,
    score: str = "inverse_rank",
    device: str = "cpu",
    batch_size: int = 32,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    rng: int | np.random.Generator | None = None,
) -> ReverseTest:
    """How well a network recognises images seen through human maps: correct vs incorrect masks.

    For every measure and image, the image is masked by its own human map
    (``"correct"``) and by the next image's (``"incorrect"``; circularly, in the
    order of the stimuli) with the authors' mask (median threshold, blend to
    black: see the module docstring for their code and where this follows it);
    the network ranks the target class on each masked image, and the rank is
    scored (:func:`rank_score`). If human selectivity marks what the network
    needs, correct masks score higher.

    Parameters
    ----------
    stimuli : path, StimulusSet or mapping
        A stimulus-set file (or :class:`stimuli.StimulusSet`): its images, in its
        order, and its ``label`` column; or a mapping ``image_id -> image``
        (uint8, (H, W, 3) or (H, W)), in its order, with ``labels``.
    human_maps : mapping
        ``measure -> {image_id: map of shape (h, w)}`` (any size: resized to the
        image). Images without a map in a measure are left out of it (with a warning).
    model : stimuli.LoadedModel or str
        A :func:`stimuli.load_model` result, or a name for it (loaded with
        ``weights`` on ``device``). A loaded model stays on its device.
    weights : str, path or None
        Weights for a model given by name (as :func:`stimuli.load_model`).
    labels : mapping, optional
        ``image_id -> label``; default: the stimulus set's ``label`` column.
    target : {"label", "predicted"}
        ``"label"``: the class named by the image's label: an integer (or a
        string of digits) is a class index; a name is matched (case and
        surrounding spaces ignored) to ``categories``. ``"predicted"``: the
        network's top class on the unmasked image (the authors' choice; for sets
        whose labels are not the network's classes).
    categories : sequence of str, optional
        The network's class names, in output order; default: those of the
        torchvision weights (``weights.meta["categories"]``) when they match the
        number of outputs.
    score : {"inverse_rank", "N/r", "1/(r+1)"}
        See :func:`rank_score`; ``N`` is the number of network outputs.
    device : str
        Device of a model loaded by name.
    batch_size : int
        Images per forward pass.
    n_bootstrap : int
        Resamples of images (with replacement) for the interval of the mean
        correct-minus-incorrect difference; 0 gives NaN intervals.
    confidence : float
        Coverage of the percentile interval, in (0, 1).
    rng : int or numpy.random.Generator, optional
        Seed or generator of the resampling.

    Returns
    -------
    ReverseTest
        ``scores`` (one row per measure x image x mask) and ``summary`` (one row
        per measure).
    """
    import pandas as pd

    if target not in TARGETS:
        raise ValueError(
            "Invalid value for the 'target' parameter. Allowed values are "
            f"{', '.join(map(repr, TARGETS))}, but got {target!r} instead."
        )
    rank_score(0, 1, score=score)
    for name, value, low in (("batch_size", batch_size, 1), ("n_bootstrap", n_bootstrap, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected an integer >= {low}, but "
                f"got {value!r} instead."
            )
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(
            "Invalid value for the 'confidence' parameter: expected a number in (0, 1), but got "
            f"{confidence!r} instead."
        )
    image_of, ids, label_of = _images(stimuli, labels)
    measures = _check_maps(human_maps, ids)
    used = [i for i in ids if any(i in m for m in measures.values())]

    def image(image_id: str) -> NDArray[np.uint8]:
        return _rgb(image_of(image_id), image_id)

    if isinstance(model, str):
        from stimuli import load_model

        model = load_model(model, weights=weights, device=device)
    network = _Network(model, int(batch_size))
    unmasked = network.logits([image(i) for i in used])
    n_classes = int(unmasked.shape[1])
    names = list(categories) if categories is not None else _categories(model, n_classes)
    if names is not None and len(names) != n_classes:
        raise ValueError(
            f"Invalid value for the 'categories' parameter: the network has {n_classes} "
            f"outputs, but got {len(names)} names."
        )
    if target == "predicted":
        classes = {i: int(np.argmax(row)) for i, row in zip(used, unmasked, strict=True)}
    else:
        classes = _label_classes(used, label_of, names, n_classes)
    unmasked_rank = dict(
        zip(used, _ranks(unmasked, np.array([classes[i] for i in used])), strict=True)
    )
    rows: list[dict[str, Any]] = []
    batch: list[tuple[str, str, str, str, NDArray[np.uint8]]] = []

    def flush() -> None:
        logits = network.logits([case[4] for case in batch])
        targets = np.array([classes[case[1]] for case in batch], dtype=np.int64)
        for case, r in zip(batch, _ranks(logits, targets), strict=True):
            rows.append(
                {
                    "measure": case[0],
                    "image_id": case[1],
                    "mask": case[2],
                    "mask_image_id": case[3],
                    "target_class": classes[case[1]],
                    "target_name": names[classes[case[1]]] if names is not None else "",
                    "rank": int(r),
                    "score": float(rank_score(r, n_classes, score=score)),
                    "unmasked_rank": int(unmasked_rank[case[1]]),
                }
            )
        batch.clear()

    for case in _cases(measures, image):
        batch.append(case)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    scores = pd.DataFrame(rows)
    summary = _summary(scores, int(n_bootstrap), float(confidence), np.random.default_rng(rng))
    return ReverseTest(
        scores=scores,
        summary=summary,
        n_classes=n_classes,
        score=score,
        target=target,
        model=str(getattr(model, "identifier", "")),
    )


def _label_classes(
    ids: list[str], label_of: Mapping[str, Any], names: list[str] | None, n_classes: int
) -> dict[str, int]:
    missing = [i for i in ids if i not in label_of]
    if missing:
        raise ValueError(
            f"target='label' needs a label for every image, but {missing[:5]} have none; give "
            "labels= or use target='predicted'."
        )
    classes = {i: _label_class(label_of[i], names, n_classes) for i in ids}
    unmatched = sorted({str(label_of[i]) for i, c in classes.items() if c is None})
    if unmatched:
        known = "no category names" if names is None else f"categories such as {names[:5]}"
        raise ValueError(
            f"target='label': the labels {unmatched[:10]} are neither class indices in "
            f"[0, {n_classes}) nor names of the network's classes ({known}). Give "
            "categories=, integer labels, or target='predicted' (the network's top class on "
            "the unmasked image)."
        )
    return {i: int(c) for i, c in classes.items() if c is not None}


def _summary(
    scores: pd.DataFrame, n_bootstrap: int, confidence: float, rng: np.random.Generator
) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for measure, group in scores.groupby("measure", sort=False):
        wide = group.pivot(index="image_id", columns="mask", values="score")
        diff = (wide["correct"] - wide["incorrect"]).to_numpy(np.float64)
        low = high = float("nan")
        if n_bootstrap:
            means = diff[_bootstrap_indices(len(diff), n_bootstrap, rng)].mean(axis=1)
            low, high = _percentile_interval(means, confidence)
        rows.append(
            {
                "measure": measure,
                "n_images": len(diff),
                "mean_correct": float(wide["correct"].mean()),
                "mean_incorrect": float(wide["incorrect"].mean()),
                "difference": float(diff.mean()),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)
