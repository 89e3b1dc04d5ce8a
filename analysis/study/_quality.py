"""Per-session data quality and the rules that exclude sessions, trials and fixations."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from selectivity.config import Location, choice_message, setting

if TYPE_CHECKING:
    import pandas as pd

    from eyetracking import Recording

__all__ = ["QUALITY_COLUMNS", "ExclusionRules", "session_quality", "session_reasons"]

#: Columns of the per-session quality table (after ``participant, session, task``).
QUALITY_COLUMNS = (
    "status",
    "simulated",
    "n_trials",
    "n_practice",
    "validation_error_deg",
    "samples_lost",
    "dropped_frame_trials",
    "catch_rating",
    "n_flagged",
)

#: Session statuses whose finished trials are analysed by default: every one (a session that
#: stopped early keeps its finished trials; ``statuses = ["completed"]`` keeps whole ones only).
_STATUSES = ("completed", "aborted", "paused", "crashed", "running")


@dataclasses.dataclass(frozen=True)
class ExclusionRules:
    """What leaves the analysis, read from a ``[exclusions]`` table of a study configuration.

    A rule set to ``None`` (``"none"`` in the file) is not applied. Every exclusion is
    counted in :attr:`analysis.study.Study.exclusions` with the rule that made it. Which
    fixations a map uses (the first of each trial, short ones) is the map's setting
    (``[maps.fixations] exclude_first, min_duration_ms``), counted with the map.

    Attributes
    ----------
    statuses : tuple of str
        Session statuses (``session.json`` ``status``) whose trials are used.
    max_validation_error_deg : float or None
        A session whose last accepted validation has a mean error above this (degrees,
        the worse eye) is excluded. 1.0 deg is a common limit for free viewing
        (Holmqvist et al. 2011 recommend re-calibrating above 0.5-1 deg).
    max_samples_lost : float or None
        A session whose eye recording lost more than this share of the samples (no
        position: blinks, lost tracking, gaps in the file), 0..1, is excluded.
    max_dropped_frame_trials : float or None
        A session in which more than this share of trials dropped a frame (``frames.tsv``),
        0..1, is excluded.
    max_catch_rating : float or None
        Patch rating: a participant whose mean rating of the catch patches (scrambled
        pixels, nothing to recognise) is above this is excluded (on the 1-6 scale).
    exclude_participants : tuple of str
        Participants left out by hand (e.g. after debriefing), by label.
    eye : {"best", "left", "right", "both"}
        Which eye's fixations a binocular session gives: the eye with the smaller
        validation error (``"best"``; the left one when unknown), one eye, or both.
    """

    statuses: tuple[str, ...] = dataclasses.field(
        default=_STATUSES, metadata=setting(single=True, min_items=1)
    )
    max_validation_error_deg: float | None = dataclasses.field(
        default=1.0, metadata=setting(gt=0, none="none")
    )
    max_samples_lost: float | None = dataclasses.field(
        default=0.25, metadata=setting(ge=0, le=1, none="none")
    )
    max_dropped_frame_trials: float | None = dataclasses.field(
        default=0.1, metadata=setting(ge=0, le=1, none="none")
    )
    max_catch_rating: float | None = dataclasses.field(
        default=3.0, metadata=setting(ge=1, none="none")
    )
    exclude_participants: tuple[str, ...] = ()
    eye: str = dataclasses.field(
        default="best", metadata=setting(choices=("best", "left", "right", "both"))
    )

    def validate(self, at: Location) -> None:
        """Every status named is one a session can have."""
        unknown = [s for s in self.statuses if s not in _STATUSES]
        if unknown:
            raise at.error("statuses", choice_message(_STATUSES, unknown[0]))


def validation_error(info: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """Mean validation error (deg) of the last accepted calibration: the worse eye, and per eye."""
    accepted = [c for c in info.get("calibrations", []) if c.get("accepted", True)]
    for calibration in reversed(accepted):
        errors = {
            str(eye): float(values["error_avg_deg"])
            for eye, values in (calibration.get("eyes") or {}).items()
            if isinstance(values, dict) and values.get("error_avg_deg") is not None
        }
        if errors:
            return max(errors.values()), errors
    return math.nan, {}


def samples_lost(recordings: dict[str, Recording]) -> float:
    """Share of an eye's samples without a position, or absent from the file (gaps), 0..1."""
    from eyetracking import data_quality

    lost = total = 0.0
    for recording in recordings.values():
        if recording.samples is None or len(recording.samples) == 0:
            continue
        quality = data_quality(recording)
        lost += float((quality["n_missing"] + quality["n_gap"]).sum())
        total += float((quality["n_samples"] + quality["n_gap"]).sum())
    return lost / total if total else math.nan


def session_quality(
    task: str,
    info: dict[str, Any],
    trials: pd.DataFrame,
    frames: pd.DataFrame | None,
    recordings: dict[str, Recording],
    n_practice: int,
) -> dict[str, Any]:
    """One session's row of the quality table (see :data:`QUALITY_COLUMNS`)."""
    dropped = math.nan
    if frames is not None and len(frames) and "dropped_frames" in frames.columns:
        kept = frames[frames["trial_id"].isin(trials["trial_id"])]
        per_trial = kept.groupby("trial_id")["dropped_frames"].sum()
        dropped = float((per_trial > 0).mean()) if len(per_trial) else math.nan
    catch = math.nan
    if task == "patch-rating" and {"catch", "rating"} <= set(trials.columns):
        ratings = trials.loc[trials["catch"] == 1, "rating"].dropna()
        catch = float(ratings.mean()) if len(ratings) else math.nan
    flagged = int(trials["flagged"].fillna(0).astype(int).sum()) if "flagged" in trials else 0
    return {
        "status": str(info.get("status", "unknown")),
        "simulated": bool(info.get("simulated", False)),
        "n_trials": len(trials),
        "n_practice": n_practice,
        "validation_error_deg": validation_error(info)[0],
        "samples_lost": samples_lost(recordings),
        "dropped_frame_trials": dropped,
        "catch_rating": catch,
        "n_flagged": flagged,
    }


def session_reasons(row: dict[str, Any], participant: str, rules: ExclusionRules) -> list[str]:
    """The rules that exclude a session, each as a short phrase (empty: the session is kept)."""
    reasons = []
    if participant in rules.exclude_participants:
        reasons.append("participant excluded by hand")
    if row["status"] not in rules.statuses:
        reasons.append(f"status {row['status']!r} not in {list(rules.statuses)}")
    limits = (
        ("validation_error_deg", rules.max_validation_error_deg, "validation error {:.2f} deg"),
        ("samples_lost", rules.max_samples_lost, "samples lost {:.1%}"),
        ("dropped_frame_trials", rules.max_dropped_frame_trials, "trials dropping frames {:.1%}"),
        ("catch_rating", rules.max_catch_rating, "catch-patch rating {:.2f}"),
    )
    for key, limit, text in limits:
        value = row[key]
        if limit is not None and not np.isnan(value) and value > limit:
            reasons.append(f"{text.format(value)} > {limit:g}")
    return reasons
