"""Samples in, event tables out: the shared frame around the event-detection algorithms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..recording import SCHEMA
from ._velocity import Runs, runs_of, segment_rows, window_speed

__all__: list[str] = []


@dataclass
class EyeSamples:
    """One eye's samples as arrays, with the gap-free segments that events may not cross."""

    eye: Any
    time: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    pupil: NDArray[np.float64]
    #: Per-sample trial ids; None when the samples carry none.
    trial_id: pd.Series | None
    interval_ms: float
    segments: Runs


def split_segments(
    time: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], interval_ms: float
) -> Runs:
    """Runs of valid samples (finite time and position) without a time gap over 1.5 intervals."""
    valid = np.isfinite(time) & np.isfinite(x) & np.isfinite(y)
    first = np.ones(len(time), dtype=bool)
    if len(time) > 1:
        with np.errstate(invalid="ignore"):
            first[1:] = ~(np.diff(time) <= 1.5 * interval_ms)
    return runs_of(valid, first)


def _run_means(values: NDArray[np.float64], runs: Runs) -> NDArray[np.float64]:
    """NaN-ignoring mean of ``values[a:b]`` for every run (NaN where the run has no value)."""
    finite = np.isfinite(values)
    sums = np.r_[0.0, np.cumsum(np.where(finite, values, 0.0))]
    counts = np.r_[0, np.cumsum(finite)]
    a, b = runs[:, 0], runs[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums[b] - sums[a]) / (counts[b] - counts[a])


def _peak_speed(
    x_deg: NDArray[np.float64], y_deg: NDArray[np.float64], s: EyeSamples, runs: Runs
) -> NDArray[np.float64]:
    """Highest central-difference speed (deg/s) within each run."""
    if len(runs) == 0:
        return np.empty(0)
    rows, _, _ = segment_rows(runs)
    speed = window_speed(x_deg, y_deg, s.segments, s.interval_ms, 1, rows)
    starts = np.r_[0, np.cumsum(runs[:, 1] - runs[:, 0])[:-1]]
    return np.maximum.reduceat(speed, starts)


def _common(s: EyeSamples, runs: Runs, trial_dtype: object) -> dict[str, object]:
    a, last = runs[:, 0], runs[:, 1] - 1
    start, end = s.time[a], s.time[last]
    if s.trial_id is None:
        trial = np.full(len(a), pd.NA, dtype=object)
    else:
        trial = s.trial_id.iloc[a].to_numpy() if len(a) else np.empty(0, dtype=object)
    return {
        "eye": pd.array([s.eye] * len(runs), dtype="string"),
        "start": start,
        "end": end,
        "duration": end - start + s.interval_ms,
        "trial_id": pd.array(trial, dtype=trial_dtype),  # type: ignore[call-overload]
    }


def fixation_table(s: EyeSamples, runs: Runs, trial_dtype: object) -> pd.DataFrame:
    """Rows of ``Recording.fixations`` for the ``[start, stop)`` runs of one eye."""
    table = _common(s, runs, trial_dtype)
    table["x"] = _run_means(s.x, runs)
    table["y"] = _run_means(s.y, runs)
    table["pupil"] = _run_means(s.pupil, runs)
    return pd.DataFrame(table)[list(SCHEMA["fixations"])]


def saccade_table(
    s: EyeSamples,
    runs: Runs,
    x_deg: NDArray[np.float64],
    y_deg: NDArray[np.float64],
    trial_dtype: object,
) -> pd.DataFrame:
    """Rows of ``Recording.saccades`` for the ``[start, stop)`` runs of one eye."""
    table = _common(s, runs, trial_dtype)
    a, last = runs[:, 0], runs[:, 1] - 1
    table["x_start"], table["y_start"] = s.x[a], s.y[a]
    table["x_end"], table["y_end"] = s.x[last], s.y[last]
    table["amplitude_deg"] = np.hypot(x_deg[last] - x_deg[a], y_deg[last] - y_deg[a])
    table["peak_velocity"] = _peak_speed(x_deg, y_deg, s, runs)
    return pd.DataFrame(table)[list(SCHEMA["saccades"])]


def empty_table(name: str, trial_dtype: object) -> pd.DataFrame:
    """An empty events table with the schema's columns and dtypes."""
    columns = {
        col: pd.Series(dtype=trial_dtype if dtype == "trial_id" else dtype)  # type: ignore[call-overload]
        for col, dtype in SCHEMA[name].items()
    }
    return pd.DataFrame(columns)


def finish(tables: list[pd.DataFrame], name: str, trial_dtype: object) -> pd.DataFrame:
    """Concatenate per-eye tables, sorted by start time then eye, with the schema's dtypes."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return empty_table(name, trial_dtype)
    out = pd.concat(tables, ignore_index=True)
    out = out.sort_values(["start", "eye"], kind="stable").reset_index(drop=True)
    dtypes = {c: (trial_dtype if d == "trial_id" else d) for c, d in SCHEMA[name].items()}
    return out.astype(dtypes)  # type: ignore[arg-type]
