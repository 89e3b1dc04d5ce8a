"""Calibration and drift-check results as values, from the text EyeLink reports; needs no pylink."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ACCEPTED_RATINGS", "calibration_values", "drift_values", "validation_accepted"]

#: Validation ratings a session goes on with (EyeLink rates GOOD, FAIR, POOR).
ACCEPTED_RATINGS = ("GOOD", "FAIR")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_EYE = r"(?:[LR]{1,2}\s+)?(?P<eye>LEFT|RIGHT)"
_CALIBRATION = re.compile(rf"CALIBRATION\s+(?P<type>H3|HV\d+)\s+{_EYE}\s+(?P<rating>[A-Z]+)")
_VALIDATION = re.compile(
    rf"VALIDATION\s+(?P<type>H3|HV\d+)\s+{_EYE}\s+(?P<rating>[A-Z]+)\s+ERROR\s+"
    rf"(?P<avg>{_NUM})\s+avg\.\s+(?P<max>{_NUM})\s+max(?:\s+OFFSET\s+(?P<off>{_NUM})\s+deg\.\s+"
    rf"(?P<dx>{_NUM}),\s*(?P<dy>{_NUM})\s+pix\.)?"
)
_POINT = re.compile(
    rf"VALIDATE\s+(?:[LR]{{1,2}}\s+)?\d*POINT\s+(?P<point>\d+)\s+(?P<eye>LEFT|RIGHT)\s+at\s+"
    rf"(?P<x>{_NUM}),\s*(?P<y>{_NUM})\s+OFFSET\s+(?P<off>{_NUM})\s+deg\.\s+"
    rf"(?P<dx>{_NUM}),\s*(?P<dy>{_NUM})\s+pix\."
)
_DRIFT = re.compile(
    rf"DRIFTCORRECT\s+{_EYE}\s+at\s+(?P<x>{_NUM}),\s*(?P<y>{_NUM})\s+OFFSET\s+"
    rf"(?P<off>{_NUM})\s+deg\.\s+(?P<dx>{_NUM}),\s*(?P<dy>{_NUM})\s+pix\."
)
# What pylink's getCalibrationMessage() may hold instead: numbers without the eye.
_BARE_OFFSET = re.compile(rf"OFFSET\s+(?P<off>{_NUM})\s+deg\.\s+(?P<dx>{_NUM}),\s*(?P<dy>{_NUM})")


def _eye_entry(eyes: dict[str, dict[str, Any]], eye: str) -> dict[str, Any]:
    return eyes.setdefault(
        eye,
        {
            "calibration": None,
            "validation": None,
            "error_avg_deg": None,
            "error_max_deg": None,
            "offset_deg": None,
            "offset_px": None,
            "points": [],
        },
    )


def calibration_values(text: str) -> dict[str, dict[str, Any]]:
    """Per-eye values of the ``!CAL CALIBRATION``, ``!CAL VALIDATION`` and ``VALIDATE`` lines.

    Lines that say nothing known are ignored; an eye appears once any line
    names it. The last validation of an eye wins (its points replace earlier
    ones), as a repeated validation replaces the last on the Host PC.
    """
    eyes: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if (m := _VALIDATION.search(line)) is not None:
            entry = _eye_entry(eyes, m["eye"])
            entry.update(
                validation=m["rating"],
                error_avg_deg=float(m["avg"]),
                error_max_deg=float(m["max"]),
                offset_deg=None if m["off"] is None else float(m["off"]),
                offset_px=None if m["dx"] is None else [float(m["dx"]), float(m["dy"])],
                points=[],
            )
        elif (m := _CALIBRATION.search(line)) is not None:
            _eye_entry(eyes, m["eye"])["calibration"] = m["rating"]
        elif (m := _POINT.search(line)) is not None:
            _eye_entry(eyes, m["eye"])["points"].append(
                {
                    "x_px": float(m["x"]),
                    "y_px": float(m["y"]),
                    "offset_deg": float(m["off"]),
                    "offset_px": [float(m["dx"]), float(m["dy"])],
                }
            )
    return eyes


def validation_accepted(eyes: dict[str, dict[str, Any]]) -> bool | None:
    """Whether every eye's validation is GOOD or FAIR; None when no eye was validated."""
    ratings = [e["validation"] for e in eyes.values() if e["validation"] is not None]
    if not ratings:
        return None
    return all(r in ACCEPTED_RATINGS for r in ratings)


def drift_values(text: str, *, default_eye: str | None) -> dict[str, dict[str, Any]]:
    """Per-eye ``offset_deg`` and ``offset_px`` of the ``DRIFTCORRECT`` text in ``text``.

    Text of the form ``OFFSET 0.32 deg. -0.9,11.2 pix.`` without an eye is
    given to ``default_eye`` (the eye recorded), when there is one.
    """
    eyes: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        m = _DRIFT.search(line)
        eye = m["eye"] if m is not None else default_eye
        if m is None:
            m = _BARE_OFFSET.search(line)
        if m is not None and eye is not None:
            offset_px = [float(m["dx"]), float(m["dy"])]
            eyes[eye] = {"offset_deg": float(m["off"]), "offset_px": offset_px}
    return eyes
