"""A run's trials as BIDS ``_events.tsv``: onsets in seconds from the run's first eye sample."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np

from ._labels import BidsExportError

if TYPE_CHECKING:
    import pandas as pd

    from eyetracking import Recording

    from ._sessions import Run, SessionFolder

__all__ = ["events_sidecar", "events_table", "stimulus_presentation", "trial_times_ms"]

#: Columns of ``trials.tsv`` that are not exported (the run says which tracker file).
_DROPPED = ("eye_file",)
#: Onset columns (experiment clock, s) of sessions without a tracker, first found is used.
_EXPERIMENT_ONSETS = ("onset_s", "target_onset_s")

#: Descriptions of the columns most tasks share; other columns get a generic one.
_DESCRIPTIONS = {
    "trial_id": "Trial number, unique in the session; the tracker file carries it (TRIALID).",
    "block": "Block number (1, 2, ...).",
    "practice": "1 for a practice trial (not analysed), else 0.",
    "repetition": "Repetition of the stimulus in the session (1, 2, ...).",
    "image_id": "Stimulus id in the stimulus set (its image is stimuli/<image_id>.png).",
    "label": "Category label of the stimulus.",
    "onset_s": "Onset of the trial's stimulus on the experiment clock (PsychoPy), from the "
    "flip that showed it.",
    "offset_s": "Flip that removed the stimulus, experiment clock.",
    "onset_tracker_ms": "The stimulus onset flip on the eye tracker's clock (the timestamp "
    "column of the physio files).",
    "rt_s": "Response time from the onset of the response display.",
    "response": "The participant's answer.",
    "correct": "1 when the answer was right, else 0.",
    "timed_out": "1 when no answer came in the response window, else 0.",
    "image_left_px": "Screen x of the drawn image's top-left pixel (origin top left, y down).",
    "image_top_px": "Screen y of the drawn image's top-left pixel (origin top left, y down).",
    "image_width_px": "Drawn width of the image on the screen.",
    "image_height_px": "Drawn height of the image on the screen.",
    "response_x_px": "Answered position, image pixels (origin top left, y down).",
    "response_y_px": "Answered position, image pixels (origin top left, y down).",
}
_UNITS = {"_s": "s", "_ms": "ms", "_px": "pixel", "_deg": "degree", "_hz": "Hz"}


def trial_times_ms(
    trials: pd.DataFrame, recording: Recording, where: object
) -> tuple[np.ndarray, np.ndarray]:
    """Each trial's onset and end on the tracker clock (ms), joined on ``trial_id``.

    The onset is ``trials.tsv``'s ``onset_tracker_ms`` where the task writes it, else
    the trial's first ``image_onset`` message in the tracker file, else its ``TRIALID``
    message; the end is its ``TRIAL_RESULT`` message (NaN when absent).

    Returns
    -------
    onset_ms, end_ms : ndarray of shape (n_trials,)
        NaN where the tracker file has no such trial.
    """
    rec = recording.trials
    by_id = {}
    columns = (rec["trial_id"], rec["start"], rec["onset"], rec["end"])
    for tid, start, onset, end in zip(*columns, strict=True):
        key = str(tid)
        if key not in by_id:
            by_id[key] = (float(onset) if not math.isnan(onset) else float(start), float(end))
    ids = [str(int(t)) if isinstance(t, (int, np.integer)) else str(t) for t in trials["trial_id"]]
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise BidsExportError(
            f"{where}: trials {missing[:5]} of trials.tsv are not in the tracker file (no "
            "TRIALID message); trials join eye data on trial_id."
        )
    onset = np.array([by_id[i][0] for i in ids], dtype=float)
    end = np.array([by_id[i][1] for i in ids], dtype=float)
    if "onset_tracker_ms" in trials.columns:
        written = trials["onset_tracker_ms"].to_numpy(dtype=float, na_value=np.nan)
        onset = np.where(np.isnan(written), onset, written)
    return onset, end


def events_table(
    run: Run,
    recording: Recording | None,
    *,
    zero_ms: float,
    where: object,
    stimulus_ids: Collection[str] = (),
) -> pd.DataFrame:
    """A run's ``_events.tsv`` table: ``onset``, ``duration``, ``stim_file``, the task's columns.

    Parameters
    ----------
    run : Run
        Its trials.
    recording : Recording or None
        The run's tracker file; None without eye tracking.
    zero_ms : float
        Time zero of the run on the tracker clock (its first sample), ms.
    where : object
        The session folder, for messages.
    stimulus_ids : collection of str
        Stimuli written to ``stimuli/``; ``stim_file`` is ``<image_id>.png`` for them.

    Returns
    -------
    DataFrame
        With a tracker: ``onset`` (s from ``zero_ms``) and ``duration`` (s, to the
        trial's end) from :func:`trial_times_ms`. Without: ``onset`` from the
        experiment clock (``onset_s``, else ``target_onset_s``; s from the clock's
        start) and ``duration`` to ``offset_s`` where the task writes it, else n/a.
    """
    import pandas as pd

    trials = run.trials
    if recording is not None:
        onset_ms, end_ms = trial_times_ms(trials, recording, where)
        onset = (onset_ms - zero_ms) / 1000.0
        duration = np.clip((end_ms - onset_ms) / 1000.0, 0.0, None)
    else:
        column = next((c for c in _EXPERIMENT_ONSETS if c in trials.columns), None)
        if column is None:
            raise BidsExportError(
                f"{where}: trials.tsv has none of the onset columns {list(_EXPERIMENT_ONSETS)} "
                "and the session has no tracker file: the trials cannot be placed in time."
            )
        onset = trials[column].to_numpy(dtype=float, na_value=np.nan)
        if "offset_s" in trials.columns:
            offset = trials["offset_s"].to_numpy(dtype=float, na_value=np.nan)
            duration = np.clip(offset - onset, 0.0, None)
        else:
            duration = np.full(len(trials), np.nan)
    table = pd.DataFrame({"onset": np.round(onset, 6), "duration": np.round(duration, 6)})
    if "image_id" in trials.columns:
        table["stim_file"] = [
            f"{i}.png" if not pd.isna(i) and str(i) in stimulus_ids else None
            for i in trials["image_id"]
        ]
    for column in trials.columns:
        if column not in _DROPPED:
            table[column] = trials[column].to_numpy()
    return table


def stimulus_presentation(info: dict[str, Any], where: object) -> dict[str, Any]:
    """BIDS ``StimulusPresentation`` from ``session.json``'s screen geometry and software.

    ``ScreenSize`` height is the width times the pixel aspect (square pixels) unless the
    screen gives ``height_cm``.

    Raises
    ------
    BidsExportError
        ``session.json`` has no usable ``screen`` (resolution_px, width_cm, distance_cm).
    """
    screen = info.get("screen") or {}
    try:
        width_px, height_px = (int(v) for v in screen["resolution_px"])
        width_cm = float(screen["width_cm"])
        distance_cm = float(screen["distance_cm"])
        height_cm = float(screen.get("height_cm") or width_cm * height_px / width_px)
    except (KeyError, TypeError, ValueError):
        raise BidsExportError(
            f"{where}/session.json: no screen geometry (screen.resolution_px, width_cm, "
            f"distance_cm), which BIDS needs with eye tracking; it has {screen!r}."
        ) from None
    software = info.get("software") or {}
    presentation: dict[str, Any] = {
        "ScreenDistance": round(distance_cm / 100.0, 6),
        "ScreenOrigin": ["top", "left"],
        "ScreenResolution": [width_px, height_px],
        "ScreenSize": [round(width_cm / 100.0, 6), round(height_cm / 100.0, 6)],
    }
    if screen.get("refresh_hz"):
        presentation["ScreenRefreshRate"] = float(screen["refresh_hz"])
    if software.get("platform"):
        presentation["OperatingSystem"] = str(software["platform"])
    presentation["SoftwareName"] = "PsychoPy"
    if software.get("psychopy"):
        presentation["SoftwareVersion"] = str(software["psychopy"])
    presentation["Code"] = "selectivity " + str(software.get("selectivity", "(version unknown)"))
    return presentation


def events_sidecar(session: SessionFolder, table: pd.DataFrame, *, tracked: bool) -> dict[str, Any]:
    """The ``_events.json`` of a run: task name and label, StimulusPresentation, columns."""
    task, label = session.task, session.task_label
    sidecar: dict[str, Any] = {
        "TaskName": task,
        "TaskDescription": (
            f"selectivity task `{task}` (`selectivity run {task}`); BIDS task label "
            f"`{label}` is the task name without its non-alphanumeric characters."
        ),
        "StimulusPresentation": stimulus_presentation(session.info, session.folder),
    }
    instructions = (session.info.get("config") or {}).get("task", {}).get("instructions")
    if instructions:
        sidecar["Instructions"] = str(instructions)
    sidecar |= {
        "onset": {
            "Description": (
                "Trial onset: the stimulus onset flip, from the run's first eye-tracker "
                "sample (the physio files' StartTime 0). Taken from onset_tracker_ms where "
                "the task writes it, else from the trial's image_onset message (else its "
                "TRIALID message) in the tracker file."
                if tracked
                else "Trial onset on the experiment clock (PsychoPy), from the clock's start "
                "(the session has no eye tracker)."
            ),
            "Units": "s",
        },
        "duration": {
            "Description": (
                "From the onset to the trial's end (its TRIAL_RESULT message)."
                if tracked
                else "From the onset to offset_s (the flip that removed the stimulus); n/a "
                "when the task writes no offset."
            ),
            "Units": "s",
        },
    }
    if "stim_file" in table.columns:
        sidecar["stim_file"] = {
            "Description": "The trial's stimulus image (image_id) as stored in the stimulus "
            "set, relative to stimuli/; tasks that change what is drawn (masks, dots, "
            "patches) say so in their own columns."
        }
    for column in table.columns:
        if column in ("onset", "duration", "stim_file"):
            continue
        entry = {
            "Description": _DESCRIPTIONS.get(
                column, f"Column {column} of the task's trials.tsv (see `selectivity run {task}`)."
            )
        }
        unit = next((u for suffix, u in _UNITS.items() if column.endswith(suffix)), None)
        if unit is not None:
            entry["Units"] = unit
        sidecar[column] = entry
    return sidecar
