"""Split-half reliability of a task's maps over participants: the ceiling of other measures."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..ceilings import Ceiling, spearman_brown
from ..metrics import cc
from ._registry import estimator_for, task_table
from ._result import HumanMaps, HumanMapsError, MapReliability
from ._settings import MapSettings

if TYPE_CHECKING:
    import pandas as pd


def split_half_reliability(
    task: str,
    trials: pd.DataFrame | Mapping[str, pd.DataFrame] | None,
    fixations: pd.DataFrame | None,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | None = None,
    *,
    n_splits: int = 10,
    rng: int | np.random.Generator | None = None,
) -> MapReliability:
    """How well the maps of two random halves of the participants agree, per image.

    The whole group's maps are made first (with a bandwidth chosen by
    cross-validation where the settings ask for it); then, ``n_splits`` times,
    the participants are split at random into halves of ``n // 2`` and ``n -
    n // 2`` and each half's maps are made with that same bandwidth. Per image,
    the two halves' maps are correlated (:func:`analysis.metrics.cc`), the
    correlations averaged over splits, and the mean ``r`` corrected by
    Spearman-Brown, ``2 r / (1 + r)``: the reliability of the whole group's map,
    the noise ceiling of a model's CC with it (classical test theory; the halves
    are parallel measurements, approximately so when ``n`` is odd).

    Parameters
    ----------
    task, trials, fixations, image_shapes, settings
        As in :func:`estimate_human_maps`.
    n_splits : int
        Random splits (>= 1).
    rng : int or numpy.random.Generator, optional
        Seed or generator of the splits.

    Returns
    -------
    MapReliability
        ``image_ids`` and a :class:`analysis.Ceiling` (metric ``"cc"``, method
        ``"split_half"``) over them. A split where an image has no data in a
        half, or a constant map, gives no correlation for it; an image with no
        correlation in any split is NaN.

    Raises
    ------
    HumanMapsError
        Fewer than two participants, a bad ``n_splits``, and the reasons of
        :func:`estimate_human_maps`.

    Notes
    -----
    Structure that every map has whatever the participants did counts as
    agreement: the fixation and chain densities lose kernel mass beyond the
    image border (the convention of :func:`analysis.fixation_map`), so even
    uniformly scattered fixations give two halves that both fall off at the
    edges, and a positive reliability (0.26 for 30 uniform fixations per
    participant on 40 x 40 px at sigma 2 px, 10 participants). The accuracy
    surface at chance has no such common part.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise HumanMapsError(
            "Invalid value for the 'n_splits' parameter: expected a positive integer, but got "
            f"{n_splits!r} instead."
        )
    entry = estimator_for(task)
    table = task_table(task, trials, fixations)
    settings = MapSettings() if settings is None else settings
    whole = entry.function(table, image_shapes, settings)
    people = whole.participants
    if len(people) < 2:
        raise HumanMapsError(
            f"Split-half reliability needs at least two participants; the {task!r} maps have "
            f"{list(people)}."
        )
    fixed = _fixed_bandwidth(settings, entry.family, entry.width, whole)
    generator = np.random.default_rng(rng)
    image_ids = tuple(whole.maps)
    values = np.full((int(n_splits), len(image_ids)), np.nan)
    for split in range(int(n_splits)):
        order = generator.permutation(len(people))
        halves = [
            _half(entry.function, table, image_shapes, fixed, [people[i] for i in part])
            for part in (order[: len(people) // 2], order[len(people) // 2 :])
        ]
        for k, image_id in enumerate(image_ids):
            a, b = (None if h is None else h.maps.get(image_id) for h in halves)
            if a is None or b is None or np.ptp(a) == 0 or np.ptp(b) == 0:
                continue
            values[split, k] = cc(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN images stay NaN
        per_image = np.nanmean(values, axis=0)
    n_subjects = whole.parameters.get("participants_per_image", {})
    ceiling = Ceiling(
        "cc",
        "split_half",
        np.asarray(per_image, dtype=np.float64),
        spearman_brown(per_image),
        np.array([int(n_subjects.get(i, 0)) for i in image_ids], dtype=np.int64),
        True,
        int(n_splits),
    )
    return MapReliability(task, image_ids, ceiling, whole.parameters)


def _fixed_bandwidth(
    settings: MapSettings, family: str, width: str, whole: HumanMaps
) -> MapSettings:
    """``settings`` with ``family``'s bandwidth fixed at the width the whole group used."""
    part = getattr(settings, family)
    changes: dict[str, object] = {}
    if hasattr(part, "bandwidth"):
        changes["bandwidth"] = "fixed"
        changes[width] = float(whole.parameters[width])
    return dataclasses.replace(settings, **{family: dataclasses.replace(part, **changes)})


def _half(
    function: Callable[..., HumanMaps],
    table: object,
    image_shapes: object,
    settings: MapSettings,
    people: list[str],
) -> HumanMaps | None:
    """One half's maps (None when the half has no usable data at all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # images without data in this half
        try:
            return function(table, image_shapes, settings, participants=people)
        except HumanMapsError:
            return None
