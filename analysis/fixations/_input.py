"""Fixations as given (arrays, scanpath lists, DataFrames) to validated (x, y) and weights."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import pandas as pd

#: DataFrame columns that identify one scanpath, used (those present) when
#: ``exclude_first`` is set and ``scanpath_by`` is not given.
SCANPATH_COLUMNS = ("participant", "subject", "session", "trial_id", "eye")

#: DataFrame column pairs read as ``(x, y)`` image coordinates, in order of preference.
_XY_COLUMNS = (("x_img", "y_img"), ("x", "y"))


def fixation_xy(
    fixations: Any,
    weights: ArrayLike | str | Sequence[ArrayLike] | None,
    *,
    exclude_first: bool = False,
    scanpath_by: str | Sequence[str] | None = None,
    allow_empty: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Fixations as an (N, 2) float array of (x, y) and their weights, validated.

    ``fixations`` is an (N, 2) array (one scanpath), a list of such arrays (one
    scanpath each) or a DataFrame. With ``exclude_first`` the first fixation
    of every scanpath is dropped; then rows of a DataFrame with ``in_image``
    False are dropped, with their weights. No fixation left raises unless
    ``allow_empty``.
    """
    if not isinstance(exclude_first, (bool, np.bool_)):
        raise ValueError(
            "Invalid value for the 'exclude_first' parameter: expected True or False, but got "
            f"{exclude_first!r} instead."
        )
    if scanpath_by is not None and not is_dataframe(fixations):
        raise ValueError(
            "The 'scanpath_by' parameter names DataFrame columns, so it needs fixations given "
            f"as a pandas DataFrame, but got {type(fixations).__name__}."
        )
    keep: NDArray[np.bool_] | None = None
    if is_dataframe(fixations):
        xy, w, keep, first = _from_dataframe(fixations, weights, scanpath_by)
    elif is_scanpath_list(fixations):
        xy, w, first = _from_scanpaths(fixations, weights)
    else:
        if isinstance(weights, str):
            raise ValueError(
                f"The 'weights' parameter can name a column ({weights!r}) only when fixations "
                "is a pandas DataFrame."
            )
        xy = _xy_array(fixations, "fixations")
        w = None if weights is None else check_weights(weights, len(xy))
        first = np.zeros(len(xy), dtype=bool)
        first[:1] = True
    drop = first if exclude_first else np.zeros(len(xy), dtype=bool)
    if keep is not None:
        drop = drop | ~keep
    if drop.any():
        xy = xy[~drop]
        w = None if w is None else w[~drop]
    if len(xy) == 0 and not allow_empty:
        what = " after the first fixation of each scanpath is excluded" if exclude_first else ""
        raise ValueError(f"No fixations given{what}: cannot make a fixation map from an empty set.")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(xy)} fixations have non-finite coordinates (the "
            f"first is number {int(np.flatnonzero(bad)[0])}, counting from 0 after excluded "
            "rows are dropped); drop them first."
        )
    return xy, w


def pixel_indices(
    xy: NDArray[np.float64], shape: tuple[int, int]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Rows, columns (nearest pixel, halves up) and in-image flags of (x, y) positions."""
    height, width = shape
    cols = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    rows = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    return rows, cols, inside


def is_scanpath_list(obj: object) -> bool:
    """A non-empty list or tuple whose every item is 2-D: one (N_i, 2) scanpath each."""
    return (
        isinstance(obj, (list, tuple)) and len(obj) > 0 and all(np.ndim(item) == 2 for item in obj)
    )


def is_dataframe(obj: object) -> TypeGuard[pd.DataFrame]:
    """Whether ``obj`` is a DataFrame, without importing pandas."""
    # Without pandas imported, obj cannot be a DataFrame: no need to import it here.
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)


def check_weights(weights: Any, n: int) -> NDArray[np.float64]:
    """Weights as a finite, non-negative float array of shape (n,)."""
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Invalid value for the 'weights' parameter: expected numbers ({err})."
        ) from None
    if w.shape != (n,):
        raise ValueError(
            f"Invalid value for the 'weights' parameter: expected shape ({n},), one per "
            f"fixation, but got shape {w.shape} instead."
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            "Invalid value for the 'weights' parameter: weights must be finite and non-negative."
        )
    return w


def _xy_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        xy = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected an array of shape (N, 2) "
            f"holding (x, y) image pixels ({err})."
        ) from None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected an array of shape "
            f"(N, 2) holding (x, y) image pixels, but got shape {xy.shape} instead."
        )
    return xy


def _from_scanpaths(
    scanpaths: Sequence[ArrayLike], weights: ArrayLike | str | Sequence[ArrayLike] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.bool_]]:
    """Stack a list of (N_i, 2) scanpaths; weights flat or one array per scanpath."""
    parts = [_xy_array(p, f"fixations[{i}]") for i, p in enumerate(scanpaths)]
    xy = np.concatenate(parts) if parts else np.empty((0, 2))
    first = np.zeros(len(xy), dtype=bool)
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    lengths = np.array([len(p) for p in parts])
    first[starts[lengths > 0]] = True
    if isinstance(weights, str):
        raise ValueError(
            f"The 'weights' parameter can name a column ({weights!r}) only when fixations "
            "is a pandas DataFrame."
        )
    if weights is None:
        return xy, None, first
    if (
        isinstance(weights, (list, tuple))
        and len(weights) == len(parts)
        and all(np.ndim(wi) == 1 for wi in weights)
    ):
        for i, (wi, p) in enumerate(zip(weights, parts, strict=True)):
            if np.shape(wi) != (len(p),):
                raise ValueError(
                    f"Invalid value for the 'weights' parameter: weights[{i}] has shape "
                    f"{np.shape(wi)}, but scanpath {i} has {len(p)} fixations."
                )
        weights = np.concatenate([np.asarray(wi, dtype=np.float64) for wi in weights])
    return xy, check_weights(weights, len(xy)), first


def _from_dataframe(
    df: pd.DataFrame,
    weights: ArrayLike | str | Sequence[ArrayLike] | None,
    scanpath_by: str | Sequence[str] | None,
) -> tuple[
    NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.bool_] | None, NDArray[np.bool_]
]:
    xy = _dataframe_xy(df)
    keep = None
    if "in_image" in df.columns:
        flag = df["in_image"]
        if flag.isna().any():
            raise ValueError("The 'in_image' column of the fixations has missing values.")
        keep = flag.to_numpy(dtype=bool)
    if isinstance(weights, str):
        if weights not in df.columns:
            raise ValueError(
                f"Invalid value for the 'weights' parameter: no column {weights!r} in the "
                f"fixations; columns are {list(df.columns)}."
            )
        weights = df[weights].to_numpy(dtype=np.float64, na_value=np.nan)
    w = None if weights is None else check_weights(weights, len(xy))
    return xy, w, keep, _first_of_scanpaths(df, scanpath_by)


def _dataframe_xy(df: pd.DataFrame) -> NDArray[np.float64]:
    for x_col, y_col in _XY_COLUMNS:
        if x_col in df.columns and y_col in df.columns:
            return np.column_stack(
                [
                    df[x_col].to_numpy(dtype=np.float64, na_value=np.nan),
                    df[y_col].to_numpy(dtype=np.float64, na_value=np.nan),
                ]
            )
    raise ValueError(
        "The fixations DataFrame needs image coordinates in columns 'x_img'/'y_img' or "
        f"'x'/'y', but has columns {list(df.columns)}."
    )


def _first_of_scanpaths(df: pd.DataFrame, scanpath_by: str | Sequence[str] | None) -> np.ndarray:
    """Flags of the rows that are the first (earliest ``start``, else first row) of a scanpath."""
    if scanpath_by is None:
        columns = [c for c in SCANPATH_COLUMNS if c in df.columns]
    else:
        columns = [scanpath_by] if isinstance(scanpath_by, str) else list(scanpath_by)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"Invalid value for the 'scanpath_by' parameter: no column(s) {missing} in the "
                f"fixations; columns are {list(df.columns)}."
            )
    first = np.zeros(len(df), dtype=bool)
    if len(df) == 0:
        return first
    position = np.arange(len(df))
    order = position
    if "start" in df.columns:
        start = df["start"].to_numpy(dtype=np.float64, na_value=np.inf)
        order = np.argsort(start, kind="stable")
    if not columns:
        first[order[0]] = True
        return first
    keys = df[columns].iloc[order].reset_index(drop=True)
    firsts = keys.assign(_pos=order).groupby(columns, sort=False, dropna=False)["_pos"].first()
    first[firsts.to_numpy(dtype=np.int64)] = True
    return first
