"""A task's session folder read back: its trials joined with the fixations made on each image."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from selectivity.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from eyetracking import Recording

__all__ = ["FIXATION_COLUMNS", "Session", "SessionDataError", "load_session", "read_frames"]

#: Columns of :attr:`Session.fixations`, in order.
FIXATION_COLUMNS = (
    "trial_id",
    "image_id",
    "eye",
    "start_tracker_ms",
    "end_tracker_ms",
    "duration_ms",
    "x_img",
    "y_img",
    "x_screen",
    "y_screen",
)
#: Columns ``trials.tsv`` must have: the join key, the image and where it was drawn.
_TRIAL_COLUMNS = (
    "trial_id",
    "image_id",
    "image_left_px",
    "image_top_px",
    "image_width_px",
    "image_height_px",
)


class SessionDataError(UserError, ValueError):
    """A session folder whose files are missing pieces or disagree with each other."""


@dataclass(frozen=True, eq=False)
class Session:
    """One session folder of an image task, read back.

    Attributes
    ----------
    folder : Path
        The session folder (``<root>/sub-<p>/ses-<s>/<task>/``).
    info : dict
        ``session.json`` (empty when the folder has none).
    trials : DataFrame
        ``trials.tsv``, one row per finished trial, in the file's order
        (missing values NaN).
    recordings : dict of str to Recording
        Each eye file the trials name (path relative to ``folder``, as
        ``trials.tsv`` writes it) read with :func:`eyetracking.read_asc` (or
        :func:`eyetracking.read_edf` when there is no ASC beside the EDF).
    fixations : DataFrame
        One row per fixation that *started* while the trial's image was on
        the screen and lies on the drawn image, in the columns of
        :data:`FIXATION_COLUMNS`: ``trial_id`` and ``image_id`` of the trial;
        ``eye`` ("L"/"R"); start and end on the tracker clock and duration
        (ms, as the tracker wrote them: a fixation that goes on after the image
        is removed keeps its whole duration); ``x_img``, ``y_img``: position in
        native image pixels (origin top left, y down, integers at pixel
        centres, see :func:`eyetracking.to_image_coords`); ``x_screen``,
        ``y_screen``: the same on the screen (pixels). Sorted by start time.
    n_outside : int
        Fixations that started while an image was shown but lie outside the
        drawn image (or have no position); they are not in ``fixations``.
    """

    folder: Path
    info: dict[str, Any]
    trials: pd.DataFrame
    recordings: dict[str, Recording]
    fixations: pd.DataFrame
    n_outside: int = 0

    @property
    def recording(self) -> Recording:
        """The session's eye recording, when it has exactly one (else use :attr:`recordings`)."""
        if len(self.recordings) != 1:
            raise SessionDataError(
                f"The session {self.folder} has {len(self.recordings)} eye recordings "
                f"({sorted(self.recordings)}); use Session.recordings."
            )
        return next(iter(self.recordings.values()))


def load_session(
    folder: str | os.PathLike[str],
    *,
    image_size_px: Mapping[str, tuple[int, int]] | None = None,
) -> Session:
    """Read a session folder and join its trials to the fixations made on each image.

    Trials join eye data on ``trial_id``, which the tracker file carries as
    ``TRIALID <n>``, within the eye file that the trial's ``eye_file`` column
    names (a resumed session has one per run), never on row order. A fixation
    belongs to a trial when it starts while the image is shown: at or after
    the trial's ``image_onset`` message and before its ``image_offset``
    message (the end of the trial when there is none). Fixations that started
    on the fixation cross before the onset are left out, even when they last
    into the image's display. Its position goes from the screen to image pixels
    through the placement the trial recorded (``image_left_px``,
    ``image_top_px``, ``image_width_px``, ``image_height_px``).

    Parameters
    ----------
    folder : path-like
        The session folder, holding ``trials.tsv`` and ``eye/``.
    image_size_px : mapping of str to (width, height), optional
        Native size of each image, by ``image_id``, when a task drew images
        scaled; by default each image's drawn size (no scaling).

    Returns
    -------
    Session

    Raises
    ------
    FileNotFoundError
        No folder, no ``trials.tsv``, or an eye file the trials name is missing.
    SessionDataError
        ``trials.tsv`` lacks the columns above or repeats a trial; the eye file
        records another image for a trial than ``trials.tsv``.

    Warns
    -----
    UserWarning
        A finished trial that names no eye file, or that its eye file does not
        record (it gets no fixations).
    selectivity.tsv.TsvCutLineWarning
        The last line of ``trials.tsv`` was cut short (a crash, a power loss):
        it is no finished trial and is left out; the warning names the file and
        the line.
    """
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No session folder at {folder}.")
    trials = _read_trials(folder / "trials.tsv")
    info_path = folder / "session.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    eye_of = _eye_files(trials, folder)
    if eye_of.isna().any():
        blind = trials["trial_id"][eye_of.isna()].tolist()
        warnings.warn(
            f"{folder / 'trials.tsv'}: the trials {blind[:10]} name no eye file; they have no "
            "fixations.",
            stacklevel=2,
        )
    recordings = {name: _read_eye(folder / name) for name in sorted(set(eye_of.dropna()))}
    parts, outside = [], 0
    for name, recording in recordings.items():
        # a trial that showed no image (e.g. serial reproduction with no chain free) has none
        mine = trials[(eye_of == name) & trials["image_id"].notna()]
        fixations, n_out = _fixations_on_images(recording, mine, image_size_px, folder / name)
        parts.append(fixations)
        outside += n_out
    fixations = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype=float) for c in FIXATION_COLUMNS})
    )
    fixations = fixations.sort_values(["start_tracker_ms", "eye"], kind="stable")
    return Session(
        folder=folder,
        info=info,
        trials=trials,
        recordings=recordings,
        fixations=fixations.reset_index(drop=True),
        n_outside=outside,
    )


def read_frames(folder: str | os.PathLike[str]) -> pd.DataFrame | None:
    """``frames.tsv`` of a session folder, each finished trial's rows once; None without it.

    A trial killed after its frame timing was written but before its
    ``trials.tsv`` row is run again by ``--resume``, which appends its frames
    again. Each resume records in ``session.json`` how many ``frames.tsv`` rows
    the file had (``resumes[k].frames_rows``): these marks cut the file into the
    runs that wrote it. A trial's rows are those of the last run that wrote any
    for it (the attempt that wrote its ``trials.tsv`` row; a trial whose answer
    a resume restored without showing it again, as serial reproduction does,
    keeps the rows of the attempt that answered). Rows of a trial that
    ``trials.tsv`` does not hold (an attempt in progress when the session ended)
    are left out.

    Parameters
    ----------
    folder : path-like
        The session folder, holding ``frames.tsv``, ``trials.tsv`` and ``session.json``.

    Returns
    -------
    DataFrame or None
        The kept rows, in file order (columns of ``frames.tsv``; index from 0).
    """
    import pandas as pd

    from selectivity.tsv import read_table

    folder = Path(folder)
    path = folder / "frames.tsv"
    if not path.is_file():
        return None
    frames = read_table(path, finished_rows_only=True)
    trials_path = folder / "trials.tsv"
    if "trial_id" not in frames.columns or not trials_path.is_file():
        return frames
    trials = read_table(trials_path, as_text=True, finished_rows_only=True)
    info_path = folder / "session.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    marks = sorted(int(r["frames_rows"]) for r in info.get("resumes", []) if "frames_rows" in r)
    run = np.searchsorted(np.asarray(marks, dtype=np.int64), np.arange(len(frames)), "right")
    ids = pd.Series(frames["trial_id"].astype(str).to_numpy())
    last_run = pd.Series(run).groupby(ids).transform("max").to_numpy()
    keep = (run == last_run) & ids.isin(set(trials["trial_id"].astype(str))).to_numpy()
    return frames[keep].reset_index(drop=True)


def _read_trials(path: Path) -> pd.DataFrame:
    from selectivity.tsv import read_table

    if not path.is_file():
        raise FileNotFoundError(f"No trials.tsv in the session folder {path.parent}.")
    # a last line cut by a crash or power loss is no finished trial: left out with a warning
    trials = read_table(
        path, dtypes={"image_id": "string", "eye_file": "string"}, finished_rows_only=True
    )
    lacking = [c for c in _TRIAL_COLUMNS if c not in trials.columns]
    if lacking:
        raise SessionDataError(
            f"{path}: the columns {lacking} are missing; loading a session needs "
            f"{list(_TRIAL_COLUMNS)} (columns: {list(trials.columns)})."
        )
    repeated = trials["trial_id"][trials["trial_id"].duplicated()].tolist()
    if repeated:
        raise SessionDataError(f"{path}: trial_id {repeated[:5]} appear more than once.")
    return trials


def _eye_files(trials: pd.DataFrame, folder: Path) -> pd.Series:
    """The eye file of each trial (relative to ``folder``): its ``eye_file``, else the only one."""
    import pandas as pd

    if "eye_file" in trials.columns:
        return trials["eye_file"]
    found = sorted(p.relative_to(folder).as_posix() for p in (folder / "eye").glob("*.asc"))
    if len(found) > 1:
        raise SessionDataError(
            f"{folder / 'trials.tsv'} has no eye_file column and {folder / 'eye'} holds "
            f"{len(found)} ASC files {found}: which trial is in which is unknown."
        )
    return pd.Series(found[0] if found else None, index=trials.index, dtype=object)


def _read_eye(path: Path) -> Recording:
    from eyetracking import read_asc, read_edf

    asc = path.with_suffix(".asc")
    if asc.is_file():
        return read_asc(asc)
    if path.suffix.lower() == ".edf" and path.is_file():
        return read_edf(path)
    raise FileNotFoundError(f"The eye file {path} named in trials.tsv does not exist.")


def _fixations_on_images(
    recording: Recording,
    trials: pd.DataFrame,
    image_size_px: Mapping[str, tuple[int, int]] | None,
    path: Path,
) -> tuple[pd.DataFrame, int]:
    """The fixations of ``recording`` made on the images of ``trials``, and how many fell off."""
    import pandas as pd

    from eyetracking import IMAGE_OFFSET, ImagePlacement, to_image_coords

    recorded = recording.trials.set_index("trial_id")
    ids = pd.Index(trials["trial_id"])
    absent = ids.difference(recorded.index).tolist()
    if absent:
        warnings.warn(
            f"{path} does not record the trials {absent[:10]} of trials.tsv (no TRIALID); "
            "they have no fixations.",
            stacklevel=3,
        )
    trials = trials[ids.isin(recorded.index)]
    if "image_id" in recorded.columns:
        theirs = recorded.loc[trials["trial_id"], "image_id"].astype(str).to_numpy()
        differ = trials["image_id"].astype(str).to_numpy() != theirs
        if differ.any():
            row = trials[differ].iloc[0]
            raise SessionDataError(
                f"{path} records image {theirs[differ][0]!r} for trial {row['trial_id']}, but "
                f"trials.tsv has {row['image_id']!r}: the eye file and the trials do not belong "
                "together."
            )
    placements = {}
    drawn = trials[["image_left_px", "image_top_px", "image_width_px", "image_height_px"]]
    for trial_id, image_id, box in zip(
        trials["trial_id"], trials["image_id"], drawn.to_numpy(dtype=float), strict=True
    ):
        native = (image_size_px or {}).get(str(image_id))
        left, top, width, height = (float(v) for v in box)
        placements[trial_id] = ImagePlacement(
            left, top, width, height, *(native if native is not None else (None, None))
        )
    fix = recording.fixations
    fix = fix[fix["trial_id"].isin(list(placements))].copy()
    fix["trial_id"] = fix["trial_id"].astype(trials["trial_id"].dtype)
    messages = recording.messages
    offsets = (
        messages[messages["text"].str.strip() == IMAGE_OFFSET].groupby("trial_id")["time"].min()
    )
    onset = fix["trial_id"].map(recorded["onset"]).astype(float)
    if "onset_tracker_ms" in trials.columns:  # an eye file without the onset message
        onset = onset.fillna(fix["trial_id"].map(trials.set_index("trial_id")["onset_tracker_ms"]))
    offset = fix["trial_id"].map(offsets).astype(float)
    offset = offset.fillna(fix["trial_id"].map(recorded["end"]).astype(float))
    shown = (fix["start"] >= onset) & (fix["start"] < offset.fillna(np.inf))
    fix = to_image_coords(fix[shown.to_numpy()], placements)
    image_of = trials.set_index("trial_id")["image_id"]
    kept = fix[fix["in_image"].to_numpy(dtype=bool)]
    out = pd.DataFrame(
        {
            "trial_id": kept["trial_id"].to_numpy(),
            "image_id": kept["trial_id"].map(image_of).astype(str).to_numpy(),
            "eye": kept["eye"].astype(str).to_numpy(),
            "start_tracker_ms": kept["start"].to_numpy(dtype=float),
            "end_tracker_ms": kept["end"].to_numpy(dtype=float),
            "duration_ms": kept["duration"].to_numpy(dtype=float),
            "x_img": kept["x_img"].to_numpy(dtype=float),
            "y_img": kept["y_img"].to_numpy(dtype=float),
            "x_screen": kept["x"].to_numpy(dtype=float),
            "y_screen": kept["y"].to_numpy(dtype=float),
        }
    )
    return out, int(len(fix) - len(kept))
