"""What the estimators return: the maps of one task with what was used to make them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from selectivity.config import to_record
from selectivity.errors import UserError

from ..ceilings import Ceiling

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HumanMaps", "HumanMapsError", "MapReliability"]


class HumanMapsError(UserError, ValueError):
    """The tables or the task given to a human-map estimator are wrong: the message says what,
    where, and what is allowed."""


@dataclasses.dataclass(frozen=True)
class HumanMaps:
    """The human maps of one task, one per image, with what made them.

    Attributes
    ----------
    measure : str
        The task's registry name (``"free-viewing"``, ``"dot-discrimination"``,
        ...); the maps belong in the stimulus set as ``human/<measure>``.
    maps : mapping of str to ndarray of shape (H, W), float64
        Image id -> map at the image's native shape, indexed ``[row, col]``.
        Densities (fixations, chain nodes) sum to 1; the accuracy surface is a
        probability of a correct answer; the patch map is in rating points.
        Images without usable data have no map.
    parameters : mapping
        What was used: the settings, the bandwidth in degrees and, where it was
        chosen by cross-validation, the candidates and their scores; the image
        pixels per degree of each image.
    participants : tuple of str
        Participants whose data made the maps, sorted.
    counts : mapping of str to int
        Image id -> number of data used for its map (fixations, trials, nodes
        or patches: ``parameters["unit"]``).
    excluded : mapping of str to int
        Reason -> number of rows of this task left out for it (e.g.
        ``"first_fixation"``, ``"timed_out"``, ``"catch"``).
    """

    measure: str
    maps: Mapping[str, NDArray[np.float64]] = dataclasses.field(repr=False)
    parameters: Mapping[str, Any] = dataclasses.field(repr=False)
    participants: tuple[str, ...]
    counts: Mapping[str, int] = dataclasses.field(repr=False)
    excluded: Mapping[str, int]

    def __post_init__(self) -> None:
        for name in ("maps", "parameters", "counts", "excluded"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def source(self) -> str:
        """The map source in a stimulus set: ``human/<measure>``."""
        return f"human/{self.measure}"

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record for :func:`stimuli.add_maps` (``provenance=``).

        Keys: ``kind`` ("human"), ``measure``, ``estimator``, ``participants``,
        ``n_participants``, ``counts`` (per image), ``unit``, ``excluded``
        (reason -> rows) and ``parameters``.
        """
        return {
            "kind": "human",
            "measure": self.measure,
            "estimator": self.parameters.get("estimator", ""),
            "participants": list(self.participants),
            "n_participants": len(self.participants),
            "counts": {k: int(v) for k, v in self.counts.items()},
            "unit": self.parameters.get("unit", ""),
            "excluded": {k: int(v) for k, v in self.excluded.items()},
            "parameters": _json_ready(dict(self.parameters)),
        }


@dataclasses.dataclass(frozen=True)
class MapReliability:
    """Split-half reliability of one task's maps, per image.

    Attributes
    ----------
    measure : str
        The task's registry name.
    image_ids : tuple of str
        The images, in the order of the ceiling's arrays.
    ceiling : analysis.Ceiling
        ``metric = "cc"``, ``method = "split_half"``: ``per_image`` the mean
        correlation of the two halves' maps, ``per_image_corrected`` its
        Spearman-Brown correction ``2 r / (1 + r)`` (the reliability of the
        whole group's map), ``n_subjects`` participants with data per image.
    parameters : mapping
        The estimator's parameters used for every half (bandwidth fixed at the
        whole group's choice).
    """

    measure: str
    image_ids: tuple[str, ...]
    ceiling: Ceiling
    parameters: Mapping[str, Any] = dataclasses.field(repr=False)

    @property
    def value(self) -> float:
        """Mean corrected reliability over images (NaN images left out)."""
        return self.ceiling.value

    def per_image(self) -> dict[str, float]:
        """Image id -> Spearman-Brown corrected reliability."""
        corrected = self.ceiling.per_image_corrected
        if corrected is None:  # not for metric "cc"; kept total for other ceilings
            corrected = self.ceiling.per_image
        return {i: float(v) for i, v in zip(self.image_ids, corrected, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """One row per image: ``measure``, ``image_id``, ``n_participants``, ``cc``, ``cc_sb``."""
        import pandas as pd

        return pd.DataFrame(
            {
                "measure": self.measure,
                "image_id": list(self.image_ids),
                "n_participants": self.ceiling.n_subjects,
                "cc": self.ceiling.per_image,
                "cc_sb": self.ceiling.per_image_corrected,
            }
        )


def _json_ready(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json_ready(to_record(value))
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if np.isfinite(number) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
