"""Calibration, validation and drift-check results of an EyeLink ASC file, from its messages."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_CALIBRATION = re.compile(
    r"!CAL\s+CALIBRATION\s+(?P<type>\S+)\s+(?:[LR]{1,2}\s+)?(?P<eye>LEFT|RIGHT)\s+(?P<result>\S+)"
)
_VALIDATION = re.compile(
    rf"!CAL\s+VALIDATION\s+(?P<type>\S+)\s+(?:[LR]{{1,2}}\s+)?(?P<eye>LEFT|RIGHT)\s+(?P<result>\S+)"
    rf"(?:\s+ERROR\s+(?P<error_avg_deg>{_NUM})\s+avg\.\s+(?P<error_max_deg>{_NUM})\s+max"
    rf"(?:\s+OFFSET\s+(?P<offset_deg>{_NUM})\s+deg\.\s+(?P<offset_x_px>{_NUM}),\s*"
    rf"(?P<offset_y_px>{_NUM})\s+pix\.)?)?"
)
# Binocular files spell the second eye's points "4POINT" (or "<n>POINT").
_VALIDATE_POINT = re.compile(
    rf"VALIDATE\s+(?:[LR]{{1,2}}\s+)?\d*POINT\s+(?P<point>\d+)\s+(?P<eye>LEFT|RIGHT)\s+at\s+"
    rf"(?P<target_x_px>{_NUM}),\s*(?P<target_y_px>{_NUM})\s+OFFSET\s+(?P<offset_deg>{_NUM})\s+"
    rf"deg\.\s+(?P<offset_x_px>{_NUM}),\s*(?P<offset_y_px>{_NUM})\s+pix\."
)
_DRIFT = re.compile(
    rf"DRIFTCORRECT\s+(?:[LR]{{1,2}}\s+)?(?P<eye>LEFT|RIGHT)\s+at\s+(?P<target_x_px>{_NUM}),\s*"
    rf"(?P<target_y_px>{_NUM})\s+OFFSET\s+(?P<offset_deg>{_NUM})\s+deg\.\s+"
    rf"(?P<offset_x_px>{_NUM}),\s*(?P<offset_y_px>{_NUM})\s+pix\."
)
_OFFSETS = ("offset_deg", "offset_x_px", "offset_y_px")


_TEXT = frozenset({"type", "eye", "result"})


def _extract(
    texts: list[str],
    times: np.ndarray,
    pattern: re.Pattern[str],
    prefix: str,
    numeric: tuple[str, ...],
) -> dict[str, Any]:
    """Columns of the named groups of ``pattern`` in the messages that start with ``prefix``.

    ``time`` first; ``eye`` as its first letter; the groups in ``numeric`` as
    floats (NaN where absent), ``type``/``eye``/``result`` as strings.
    """
    rows, found_times = [], []
    for k, text in enumerate(texts):
        if text.startswith(prefix) and (found := pattern.search(text)) is not None:
            rows.append(found.groupdict())
            found_times.append(times[k])
    columns: dict[str, Any] = {"time": np.asarray(found_times, dtype=np.float64)}
    for name in pattern.groupindex:
        values = [row[name] for row in rows]
        if name == "eye":
            values = [v[0] for v in values]
        if name in numeric:
            columns[name] = np.array([np.nan if v is None else float(v) for v in values], float)
        elif name in _TEXT:
            columns[name] = pd.array(values, dtype="string")
        else:
            columns[name] = values
    return columns


def calibration_tables(
    texts: list[str], times: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Calibrations, validations and validation points from ``!CAL`` / ``VALIDATE`` messages.

    Each validation point belongs to the latest validation of its eye at or
    before it (``validation``: row index into the validations table).
    """
    cal = _extract(texts, times, _CALIBRATION, "!CAL", ())
    val = _extract(texts, times, _VALIDATION, "!CAL", ("error_avg_deg", "error_max_deg", *_OFFSETS))
    points = _extract(
        texts, times, _VALIDATE_POINT, "VALIDATE", ("target_x_px", "target_y_px", *_OFFSETS)
    )
    points["point"] = np.array([int(p) for p in points["point"]], dtype=np.int64)
    which = np.zeros(len(points["time"]), dtype=np.int64)
    unknown = np.ones(len(points["time"]), dtype=bool)
    val_eye = np.asarray(val["eye"], dtype=object)
    point_eyes = np.asarray(points["eye"], dtype=object)
    for i, t in enumerate(points["time"].tolist()):
        earlier = np.flatnonzero((val["time"] <= t) & (val_eye == point_eyes[i]))
        if len(earlier):
            which[i], unknown[i] = earlier[-1], False
    points["validation"] = pd.arrays.IntegerArray(which, unknown)
    return pd.DataFrame(cal), pd.DataFrame(val), pd.DataFrame(points)


def drift_checks_table(texts: list[str], times: np.ndarray) -> pd.DataFrame:
    """One row per eye per ``DRIFTCORRECT`` result message.

    ``time``, ``eye``, ``target_x_px``, ``target_y_px`` (where the target
    was), ``offset_deg``, ``offset_x_px``, ``offset_y_px`` (how far gaze was
    from it). Aborted or unparsable drift checks are left out.
    """
    numeric = ("target_x_px", "target_y_px", *_OFFSETS)
    return pd.DataFrame(_extract(texts, times, _DRIFT, "DRIFTCORRECT", numeric))
