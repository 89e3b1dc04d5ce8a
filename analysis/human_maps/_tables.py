"""The contract tables on the way in: columns checked, rows selected and counted, images grouped."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fixations import _caller_stacklevel
from ..fixations._input import is_dataframe, pixel_indices
from ._result import HumanMapsError

if TYPE_CHECKING:
    import pandas as pd

#: Relative spread of ``px_per_deg_img`` within one image beyond which it is reported as varying.
PX_PER_DEG_TOLERANCE = 0.01


@dataclass
class Selection:
    """Rows of one task's table on their way to the maps, with what was dropped and why."""

    table: pd.DataFrame
    what: str
    excluded: dict[str, int] = field(default_factory=dict)

    def drop(self, mask: Any, reason: str) -> None:
        """Drop the rows where ``mask`` is True, counted under ``reason``."""
        flags = np.asarray(mask, dtype=bool)
        n = int(flags.sum())
        if n:
            self.excluded[reason] = self.excluded.get(reason, 0) + n
            self.table = self.table[~flags]

    def numbers(self, column: str) -> NDArray[np.float64]:
        """A column as floats (missing: NaN)."""
        values: NDArray[np.float64] = self.table[column].to_numpy(dtype=np.float64, na_value=np.nan)
        return values


def start(
    table: Any,
    what: str,
    required: Sequence[str],
    *,
    participants: Sequence[str] | None,
    task: str | None = None,
) -> Selection:
    """Check ``table`` (a DataFrame with ``required`` columns) and select the task and participants.

    ``participant`` and ``image_id`` become strings. With ``task``, rows of a
    ``task`` column naming another task are left out (not counted: they are
    another measure's).
    """
    if not is_dataframe(table):
        raise HumanMapsError(
            f"Invalid value for the '{what}' parameter: expected a pandas DataFrame (the "
            f"study's {what} table), but got {type(table).__name__}."
        )
    missing = [c for c in ("participant", "image_id", *required) if c not in table.columns]
    if missing:
        raise HumanMapsError(
            f"The {what} table lacks the column(s) {missing}; it has {list(table.columns)}."
        )
    df = table
    if task is not None and "task" in df.columns:
        df = df[df["task"].astype(str).to_numpy() == task]
    df = df.assign(participant=df["participant"].astype(str), image_id=df["image_id"].astype(str))
    if participants is not None:
        if isinstance(participants, str):
            participants = [participants]
        wanted = {str(p) for p in participants}
        df = df[df["participant"].isin(wanted).to_numpy()]
    return Selection(df, what)


def check_shapes(image_shapes: Any) -> dict[str, tuple[int, int]]:
    """``image_shapes`` as image id -> (height, width), positive integers."""
    if not isinstance(image_shapes, Mapping) or not image_shapes:
        raise HumanMapsError(
            "Invalid value for the 'image_shapes' parameter: expected a non-empty mapping "
            f"image id -> (height, width), but got {type(image_shapes).__name__}."
        )
    shapes = {}
    for key, shape in image_shapes.items():
        ok = (
            isinstance(shape, (tuple, list))
            and len(shape) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in shape)
            and min(shape) > 0
        )
        if not ok:
            raise HumanMapsError(
                f"Invalid value for the 'image_shapes' parameter: image {key!r} has shape "
                f"{shape!r}; expected (height, width) as two positive integers."
            )
        shapes[str(key)] = (int(shape[0]), int(shape[1]))
    return shapes


def by_image(
    selection: Selection, shapes: Mapping[str, tuple[int, int]]
) -> dict[str, pd.DataFrame]:
    """Image id -> its rows, in the order of ``shapes``; unknown images raise, empty ones warn."""
    df = selection.table
    unknown = sorted(set(df["image_id"]) - set(shapes))
    if unknown:
        raise HumanMapsError(
            f"The {selection.what} table has rows for image(s) {unknown[:10]} that "
            f"'image_shapes' lacks; it has {sorted(shapes)[:10]}"
            f"{' ...' if len(shapes) > 10 else ''}."
        )
    groups = {key: rows for key, rows in df.groupby("image_id", sort=False)}
    empty = [key for key in shapes if key not in groups]
    if not groups:
        raise HumanMapsError(
            f"No usable rows in the {selection.what} table (after the exclusions "
            f"{selection.excluded or 'none'}): no map can be made."
        )
    if empty:
        warnings.warn(
            f"{len(empty)} image(s) have no usable {selection.what} rows and get no map: "
            f"{empty[:10]}{' ...' if len(empty) > 10 else ''}.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    return {key: groups[key] for key in shapes if key in groups}


def px_per_deg(rows: pd.DataFrame, image_id: str, what: str) -> tuple[float, bool]:
    """Median ``px_per_deg_img`` of an image's rows, and whether it varies by more than 1 %."""
    values = rows["px_per_deg_img"].to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    if len(values) == 0 or not (values > 0).all():
        raise HumanMapsError(
            f"The {what} rows of image {image_id!r} need positive 'px_per_deg_img' values "
            "(image pixels per degree) to convert degrees to pixels, but they are missing or "
            "not positive."
        )
    median = float(np.median(values))
    varies = bool(values.max() - values.min() > PX_PER_DEG_TOLERANCE * median)
    return median, varies


def inside(
    x: NDArray[np.float64], y: NDArray[np.float64], shape: tuple[int, int]
) -> NDArray[np.bool_]:
    """Whether positions (image pixels) round to a pixel of an image of ``shape``."""
    finite = np.isfinite(x) & np.isfinite(y)
    xy = np.column_stack([np.where(finite, x, -1.0), np.where(finite, y, -1.0)])
    return np.asarray(finite & pixel_indices(xy, shape)[2])


def flag(selection: Selection, column: str) -> NDArray[np.bool_]:
    """Rows where a 0/1 column is 1 (False where the table lacks it or the value is missing)."""
    if column not in selection.table.columns:
        return np.zeros(len(selection.table), dtype=bool)
    return np.asarray(selection.numbers(column) == 1)
