"""A data root of sessions read into tidy tables: trials, fixations, quality, exclusions."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..sessions import FIXATION_COLUMNS, SessionDataError, load_session, read_frames
from ._quality import QUALITY_COLUMNS, ExclusionRules, session_quality, session_reasons

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXCLUSION_COLUMNS", "STUDY_FIXATION_COLUMNS", "Study", "load_study"]

#: Columns of :attr:`Study.fixations`, in order.
STUDY_FIXATION_COLUMNS = (
    "participant",
    "session",
    "task",
    *FIXATION_COLUMNS[:2],  # trial_id, image_id
    "fixation_index",
    *FIXATION_COLUMNS[2:],  # eye, times, image and screen positions
    "px_per_deg_img",
)
#: Columns of :attr:`Study.exclusions`.
EXCLUSION_COLUMNS = (
    "participant",
    "session",
    "task",
    "rule",
    "n_trials",
    "n_fixations",
)
_KEYS = ("participant", "session", "task")


@dataclass(frozen=True, eq=False)
class Study:
    """Every session of a data root, as tidy tables.

    Attributes
    ----------
    root : Path
        The data root (``<root>/sub-<participant>/ses-<session>/<task>/``).
    stimulus_set : Path or None
        The stimulus-set file the sessions showed (from their ``session.json``).
    trials : dict of str to DataFrame
        Task name -> one row per finished, non-practice trial of the sessions kept:
        ``participant``, ``session``, then the task's ``trials.tsv`` columns, then
        ``px_per_deg_img`` (image pixels per degree of visual angle in that trial: the
        screen's px/deg times the image's native width over its drawn width).
    fixations : DataFrame
        The fixations of the kept trials of every task with images, in the columns of
        :data:`STUDY_FIXATION_COLUMNS`: those that started while the image was shown and
        lie on it (:func:`analysis.load_session`), in native image pixels, numbered in
        time order within each trial and eye (``fixation_index`` from 0: the first is
        where the fixation cross was; ``[maps.fixations] exclude_first`` leaves it out of
        the maps), of the eye the rules choose.
    sessions : DataFrame
        One row per session found: ``participant, session, task, folder``, the quality
        columns (:data:`analysis.study.QUALITY_COLUMNS`: status, simulated, finished and
        practice trials, validation error in degrees, share of samples lost, share of
        trials that dropped a frame, mean catch-patch rating, flagged trials),
        ``excluded`` (bool) and ``reasons``.
    exclusions : DataFrame
        What the rules removed (:data:`EXCLUSION_COLUMNS`): the practice trials of each
        session; each excluded session once, under its first reason (``sessions`` lists
        every reason), with its trials and fixations; the other eye's fixations.
    image_shapes : dict of str to (int, int)
        ``(height, width)`` of each image of the stimulus set, native pixels.
    rules : ExclusionRules
        The rules applied.
    warnings : tuple of str
        What reading the sessions warned about (each also raised as a UserWarning).
    """

    root: Path
    stimulus_set: Path | None
    trials: dict[str, pd.DataFrame]
    fixations: pd.DataFrame
    sessions: pd.DataFrame
    exclusions: pd.DataFrame
    image_shapes: dict[str, tuple[int, int]]
    rules: ExclusionRules = field(default_factory=ExclusionRules)
    warnings: tuple[str, ...] = ()

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks that have trials, in registry order."""
        return tuple(t for t in sorted(self.trials) if len(self.trials[t]))

    def participants(self, task: str | None = None) -> tuple[str, ...]:
        """Labels of the participants with kept trials (of ``task``, or of any task)."""
        frames = [self.trials[task]] if task is not None else list(self.trials.values())
        labels = {str(p) for frame in frames if len(frame) for p in frame["participant"]}
        return tuple(sorted(labels))

    def exclusion_counts(self) -> pd.DataFrame:
        """Exclusions summed per task and rule: sessions, trials and fixations removed."""
        import pandas as pd

        if not len(self.exclusions):
            return pd.DataFrame(columns=["task", "rule", "n_sessions", "n_trials", "n_fixations"])
        grouped = self.exclusions.groupby(["task", "rule"], sort=True)
        return grouped.agg(
            n_sessions=("session", "size"),
            n_trials=("n_trials", "sum"),
            n_fixations=("n_fixations", "sum"),
        ).reset_index()


def find_sessions(root: Path) -> list[tuple[str, str, str, Path]]:
    """``(participant, session, task, folder)`` of every session folder under ``root``.

    A session folder is ``sub-<participant>/ses-<session>/<task>/`` holding ``trials.tsv``
    and a ``session.json`` that names the same task; other folders are left out with a
    warning.
    """
    found = []
    for trials in sorted(root.glob("sub-*/ses-*/*/trials.tsv")):
        folder = trials.parent
        info = folder / "session.json"
        named = _read_info(folder).get("task") if info.is_file() else None
        if named != folder.name:
            why = "no session.json" if not info.is_file() else f"session.json names {named!r}"
            warnings.warn(f"{folder}: not a task's session folder ({why}); left out.", stacklevel=3)
            continue
        participant = folder.parent.parent.name.removeprefix("sub-")
        session = folder.parent.name.removeprefix("ses-")
        found.append((participant, session, folder.name, folder))
    return found


def load_study(
    root: str | os.PathLike[str],
    *,
    stimulus_set: str | os.PathLike[str] | None = None,
    rules: ExclusionRules | None = None,
    tasks: Iterable[str] | None = None,
    progress: bool | None = None,
) -> Study:
    """Read every session of a data root into tidy tables, with quality and exclusions.

    Each session folder ``<root>/sub-<participant>/ses-<session>/<task>/`` is read with
    :func:`analysis.load_session` (trials joined to the eye data on ``trial_id``, never on
    row order; fixations in native image pixels within the image window). Practice
    trials are left out. Then the ``rules`` exclude whole sessions (status, validation
    error, samples lost, dropped frames, catch patches, participants by hand) and the
    fixations of the other eye of a binocular recording, and every exclusion is counted.

    Parameters
    ----------
    root : path-like
        The data root.
    stimulus_set : path-like, optional
        The stimulus-set file (for the images' native sizes); by default the one the
        sessions' ``session.json`` name (they must agree).
    rules : ExclusionRules, optional
        Default: :class:`ExclusionRules` ().
    tasks : iterable of str, optional
        Read only these tasks (default: every task found).
    progress : bool, optional
        A tqdm progress bar over the sessions (default: on a terminal).

    Returns
    -------
    Study

    Raises
    ------
    FileNotFoundError
        No data root, no session in it, or no stimulus-set file.
    SessionDataError
        A session folder whose files are malformed or disagree (the message names the
        file), or sessions that name different stimulus sets without ``stimulus_set``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    rules = rules if rules is not None else ExclusionRules()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"No data root at {root}.")
    found = find_sessions(root)
    if tasks is not None:
        wanted = set(tasks)
        found = [f for f in found if f[2] in wanted]
    if not found:
        raise FileNotFoundError(
            f"No session under {root}: expected sub-<participant>/ses-<session>/<task>/trials.tsv."
        )
    infos = {folder: _read_info(folder) for *_, folder in found}
    set_path = _stimulus_set(stimulus_set, infos)
    shapes = _image_shapes(set_path)
    trial_parts: dict[str, list[pd.DataFrame]] = {}
    fixation_parts: list[pd.DataFrame] = []
    quality_rows: list[dict[str, Any]] = []
    exclusion_rows: list[dict[str, Any]] = []
    messages: list[str] = []
    for participant, session, task, folder in tqdm(
        found, desc="sessions", unit="session", disable=None if progress is None else not progress
    ):
        info = infos[folder]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trials, fixations, recordings = _read_session(folder, task, shapes)
            # a last line cut by a power loss is left out, and reported; each finished
            # trial's frame rows from the attempt that finished it
            frames = read_frames(folder)
        # each once (trials.tsv is read twice when it is joined to eye data)
        messages.extend(dict.fromkeys(f"{folder}: {w.message}" for w in caught))
        keys = {"participant": participant, "session": session, "task": task}
        practice = trials["practice"].fillna(0).astype(int) == 1 if "practice" in trials else None
        n_practice = int(practice.sum()) if practice is not None else 0
        if practice is not None and n_practice:
            trials = trials[~practice]
            n_practice_fix = int((~fixations["trial_id"].isin(trials["trial_id"])).sum())
            fixations = fixations[fixations["trial_id"].isin(trials["trial_id"])]
            exclusion_rows.append(
                {**keys, "rule": "practice", "n_trials": n_practice, "n_fixations": n_practice_fix}
            )
        quality = session_quality(task, info, trials, frames, recordings, n_practice)
        reasons = session_reasons(quality, participant, rules)
        quality_rows.append(
            {
                **keys,
                "folder": str(folder),
                **quality,
                "excluded": bool(reasons),
                "reasons": "; ".join(reasons),
            }
        )
        if reasons:  # counted once, under its first reason (sessions.tsv lists them all)
            exclusion_rows.append(
                {**keys, "rule": reasons[0], "n_trials": len(trials), "n_fixations": len(fixations)}
            )
            continue
        trials = _with_scale(trials, info, shapes, folder)
        fixations, removed = _fixation_rules(fixations, trials, info, rules)
        exclusion_rows.extend(
            {**keys, "rule": rule, "n_trials": 0, "n_fixations": n} for rule, n in removed if n
        )
        trial_parts.setdefault(task, []).append(
            trials.assign(participant=participant, session=session)
        )
        if len(fixations):
            fixation_parts.append(
                fixations.assign(participant=participant, session=session, task=task)
            )
    for message in messages:
        warnings.warn(message, stacklevel=2)
    return Study(
        root=root,
        stimulus_set=set_path,
        trials={
            task: _front(pd.concat(parts, ignore_index=True)) for task, parts in trial_parts.items()
        },
        fixations=_fixation_table(fixation_parts),
        sessions=pd.DataFrame(
            quality_rows,
            columns=[*_KEYS, "folder", *QUALITY_COLUMNS, "excluded", "reasons"],
        ),
        exclusions=pd.DataFrame(exclusion_rows, columns=list(EXCLUSION_COLUMNS)),
        image_shapes=shapes,
        rules=rules,
        warnings=tuple(messages),
    )


def _read_info(folder: Path) -> dict[str, Any]:
    path = folder / "session.json"
    if not path.is_file():
        raise SessionDataError(f"{folder}: no session.json (a session folder written by a task).")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SessionDataError(f"{path}: not valid JSON ({err}).") from None
    if not isinstance(info, dict):
        raise SessionDataError(f"{path}: expected a JSON object.")
    return info


def _stimulus_set(given: str | os.PathLike[str] | None, infos: dict[Path, dict]) -> Path | None:
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"No stimulus-set file at {path}.")
        return path
    named = {str(info["stimulus_set"]) for info in infos.values() if info.get("stimulus_set")}
    if len(named) > 1:
        raise SessionDataError(
            f"The sessions name {len(named)} stimulus sets ({sorted(named)}); pass the one to "
            "analyse (stimulus_set=, or [data] stimulus_set in the study configuration)."
        )
    if not named:
        return None
    path = Path(named.pop())
    if not path.is_file():
        raise FileNotFoundError(
            f"The sessions name the stimulus set {path}, which does not exist; pass its "
            "current path (stimulus_set=, or [data] stimulus_set in the study configuration)."
        )
    return path


def _image_shapes(path: Path | None) -> dict[str, tuple[int, int]]:
    if path is None:
        return {}
    from stimuli import read_stimulus_set

    stimuli = read_stimulus_set(path)
    table = stimuli.table
    if {"height", "width"} <= set(table.columns):
        return {
            str(i): (int(h), int(w))
            for i, h, w in zip(table["id"], table["height"], table["width"], strict=True)
        }
    return {i: stimuli.image(i, verify=False).shape[:2] for i in stimuli.ids}


def _read_session(
    folder: Path, task: str, shapes: dict[str, tuple[int, int]]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A session's trials, its fixations on the images, and its eye recordings."""
    import pandas as pd

    from selectivity.tsv import read_table

    none = pd.DataFrame({c: pd.Series(dtype=float) for c in FIXATION_COLUMNS})
    path = folder / "trials.tsv"
    dtypes = {c: "string" for c in ("image_id", "eye_file", "image_a", "image_b", "participant")}
    trials = read_table(path, dtypes=dtypes, finished_rows_only=True)
    tracked = "eye_file" in trials.columns and trials["eye_file"].notna().any()
    if "image_id" not in trials.columns or not tracked:
        recordings = {}
        if tracked:
            from eyetracking import read_asc

            for name in sorted(set(trials["eye_file"].dropna())):
                asc = (folder / str(name)).with_suffix(".asc")
                if asc.is_file():
                    recordings[str(name)] = read_asc(asc)
        return trials, none, recordings
    sizes = {i: (w, h) for i, (h, w) in shapes.items()}
    session = load_session(folder, image_size_px=sizes or None)
    return session.trials, session.fixations, dict(session.recordings)


def _with_scale(
    trials: pd.DataFrame, info: dict[str, Any], shapes: dict[str, tuple[int, int]], folder: Path
) -> pd.DataFrame:
    """``trials`` with ``px_per_deg_img``: image pixels per degree in each trial."""
    px_per_deg = (info.get("screen") or {}).get("px_per_deg")
    if px_per_deg is None:
        raise SessionDataError(
            f"{folder / 'session.json'} has no screen px_per_deg: degrees cannot be converted "
            "to image pixels."
        )
    scale = np.ones(len(trials))
    if "image_id" in trials.columns and "image_width_px" in trials.columns:
        native = trials["image_id"].map(lambda i: shapes.get(str(i), (math.nan, math.nan))[1])
        drawn = trials["image_width_px"].astype(float)
        ratio = native.astype(float).to_numpy() / drawn.to_numpy()
        scale = np.where(np.isfinite(ratio), ratio, 1.0)
    return trials.assign(px_per_deg_img=float(px_per_deg) * scale)


def _fixation_rules(
    fixations: pd.DataFrame, trials: pd.DataFrame, info: dict[str, Any], rules: ExclusionRules
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """Fixations of the kept trials, of the eye the rules choose, numbered within each trial."""
    from ._quality import validation_error

    fixations = fixations[fixations["trial_id"].isin(trials["trial_id"])]
    removed = []
    eyes = sorted(set(fixations["eye"].astype(str)))
    if len(eyes) > 1 and rules.eye != "both":
        if rules.eye == "best":
            errors = validation_error(info)[1]
            named = {"L": errors.get("LEFT", math.nan), "R": errors.get("RIGHT", math.nan)}
            keep = min(eyes, key=lambda e: (np.nan_to_num(named.get(e, math.nan), nan=np.inf), e))
        else:
            keep = rules.eye[0].upper()
        other = fixations["eye"].astype(str) != keep
        removed.append((f"eye: the {keep} eye kept", int(other.sum())))
        fixations = fixations[~other]
    fixations = fixations.sort_values(["trial_id", "eye", "start_tracker_ms"], kind="stable")
    index = fixations.groupby(["trial_id", "eye"]).cumcount()
    fixations = fixations.assign(fixation_index=index.to_numpy())
    scale = trials.set_index("trial_id")["px_per_deg_img"]
    return fixations.assign(px_per_deg_img=fixations["trial_id"].map(scale)), removed


def _front(trials: pd.DataFrame) -> pd.DataFrame:
    first = ["participant", "session"]
    return trials[first + [c for c in trials.columns if c not in first]].reset_index(drop=True)


def _fixation_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in STUDY_FIXATION_COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    return table[list(STUDY_FIXATION_COLUMNS)]
