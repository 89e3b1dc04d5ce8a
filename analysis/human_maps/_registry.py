"""The estimators by task name: one registry, and the dispatch through it."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ._chains import chain_density
from ._discrimination import accuracy_surface
from ._fixations import FIXATION_TASKS, fixation_density
from ._patches import patch_rating_map
from ._result import HumanMaps, HumanMapsError
from ._settings import MapSettings

if TYPE_CHECKING:
    import pandas as pd


@dataclasses.dataclass(frozen=True)
class Estimator:
    """How one task's maps are made.

    Attributes
    ----------
    function : callable
        ``function(table, image_shapes, settings, *, participants=None) -> HumanMaps``.
    table : {"trials", "fixations"}
        Which of the study's tables it reads.
    family : str
        The :class:`MapSettings` field with its settings.
    width : str
        The field of those settings with the fixed kernel width, degrees.
    """

    function: Callable[..., HumanMaps]
    table: Literal["trials", "fixations"]
    family: str
    width: str


def _fixations_of(task: str) -> Estimator:
    return Estimator(
        functools.partial(fixation_density, measure=task), "fixations", "fixations", "sigma_deg"
    )


#: Task registry name -> its estimator (read-only).
ESTIMATORS: Mapping[str, Estimator] = MappingProxyType(
    {
        **{task: _fixations_of(task) for task in FIXATION_TASKS},
        "dot-discrimination": Estimator(
            accuracy_surface, "trials", "discrimination", "bandwidth_deg"
        ),
        "serial-reproduction": Estimator(
            chain_density, "trials", "serial_reproduction", "sigma_deg"
        ),
        "patch-rating": Estimator(patch_rating_map, "trials", "patch_rating", "sigma_deg"),
    }
)


def estimator_for(task: str) -> Estimator:
    """The registry's entry for ``task``, or an error naming the allowed tasks."""
    if task not in ESTIMATORS:
        raise HumanMapsError(
            "Invalid value for the 'task' parameter. Allowed values are "
            f"{list(ESTIMATORS)}, but got {task!r} instead."
        )
    return ESTIMATORS[task]


def task_table(task: str, trials: Any, fixations: Any) -> Any:
    """The table ``task``'s estimator reads: the fixations, or its trials (a table, or a
    mapping task -> table such as ``Study.trials``)."""
    entry = estimator_for(task)
    if entry.table == "fixations":
        if fixations is None:
            raise HumanMapsError(f"The {task!r} maps are made from fixations, but none were given.")
        return fixations
    if isinstance(trials, Mapping):
        if task not in trials:
            raise HumanMapsError(
                f"The trials have no table for task {task!r}; they have {sorted(trials)}."
            )
        return trials[task]
    if trials is None:
        raise HumanMapsError(f"The {task!r} maps are made from trials, but none were given.")
    return trials


def estimate_human_maps(
    task: str,
    trials: pd.DataFrame | Mapping[str, pd.DataFrame] | None,
    fixations: pd.DataFrame | None,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | None = None,
    *,
    participants: Sequence[str] | None = None,
) -> HumanMaps:
    """The human maps of one task, by its registry name (:data:`ESTIMATORS`).

    Parameters
    ----------
    task : str
        ``"free-viewing"``, ``"object-search"``, ``"saliency-search"`` (from
        ``fixations``), ``"dot-discrimination"``, ``"serial-reproduction"`` or
        ``"patch-rating"`` (from ``trials``).
    trials : pandas.DataFrame, mapping of str to DataFrame, or None
        The task's trial table, or the study's tables by task (``Study.trials``).
    fixations : pandas.DataFrame or None
        The study's fixation table (``Study.fixations``).
    image_shapes : mapping of str to (int, int)
        Image id -> ``(height, width)`` native pixels.
    settings : MapSettings, optional
        Default: :class:`MapSettings` ().
    participants : sequence of str, optional
        Use only these participants.

    Returns
    -------
    HumanMaps

    Raises
    ------
    HumanMapsError
        For an unknown task (the message lists the allowed ones), a missing
        table, and whatever the task's estimator refuses.
    """
    entry = estimator_for(task)
    table = task_table(task, trials, fixations)
    return entry.function(table, image_shapes, settings, participants=participants)
