"""The session folders of a data root, read for the export: session.json, trials and runs."""

from __future__ import annotations

import itertools
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._labels import BidsExportError, bids_label, entity_label

if TYPE_CHECKING:
    import pandas as pd

    from eyetracking import Recording

__all__ = ["Run", "SessionFolder", "find_sessions", "read_eye_file"]

#: Columns of ``trials.tsv`` read as text whatever they hold (identifiers, paths).
_TEXT_COLUMNS = ("image_id", "image_a", "image_b", "mask_image_id", "eye_file", "chain_id")


@dataclass(frozen=True, eq=False)
class Run:
    """One continuous part of a session: one tracker file, or one run of a session without one.

    Attributes
    ----------
    number : int or None
        The BIDS ``run-`` index (1, 2, ...), None when the session has one run.
    trials : DataFrame
        The finished trials of this run, in file order.
    eye_file : Path or None
        The tracker's file of this run (absolute), None without eye tracking.
    """

    number: int | None
    trials: pd.DataFrame
    eye_file: Path | None


@dataclass(frozen=True, eq=False)
class SessionFolder:
    """A task's session folder ``<root>/sub-<p>/ses-<s>/<task>/``, read.

    Attributes
    ----------
    folder : Path
        The folder.
    subject, session : str
        Labels from the ``sub-`` and ``ses-`` folder names.
    task : str
        The task's name (the folder name, e.g. ``free-viewing``).
    task_label : str
        Its BIDS label (:func:`bids_label`, e.g. ``freeviewing``).
    info : dict
        ``session.json``.
    runs : tuple of Run
        One per tracker file (``session.json``'s ``eye_files``, in order), else one per
        run of the session (a resumed session without a tracker: split where each
        resume started).
    """

    folder: Path
    subject: str
    session: str
    task: str
    task_label: str
    info: dict[str, Any]
    runs: tuple[Run, ...]

    @property
    def simulated_tracker(self) -> bool:
        """Whether the eye data come from selectivity's simulated tracker (no hardware)."""
        return str(self.info.get("tracker", {}).get("kind")) == "simulated"


def find_sessions(data_root: Path) -> list[SessionFolder]:
    """Every session folder under ``data_root``, sorted by participant, session and task.

    Raises
    ------
    BidsExportError
        The data root does not exist or holds no ``sub-*/ses-*/<task>/`` folder, or a
        folder there is not a readable session (named in the message).
    """
    root = Path(data_root)
    if not root.is_dir():
        raise BidsExportError(f"The data root {root} does not exist or is not a folder.")
    found = []
    for sub in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        subject = entity_label(sub.name, "sub", sub)
        for ses in sorted(p for p in sub.glob("ses-*") if p.is_dir()):
            session = entity_label(ses.name, "ses", ses)
            for folder in sorted(p for p in ses.iterdir() if p.is_dir()):
                found.append(_read_session(folder, subject, session))
    if not found:
        raise BidsExportError(
            f"No session folders in {root}: expected sub-<participant>/ses-<session>/<task>/ "
            "folders as `selectivity run` writes them."
        )
    return found


def _read_session(folder: Path, subject: str, session: str) -> SessionFolder:
    info_path = folder / "session.json"
    if not info_path.is_file():
        raise BidsExportError(
            f"{folder} is not a session folder: it has no session.json (a task's session "
            "folder holds session.json, trials.tsv, frames.tsv and eye/)."
        )
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BidsExportError(f"{info_path}: unreadable session.json ({error}).") from None
    trials = _read_trials(folder / "trials.tsv")
    return SessionFolder(
        folder=folder,
        subject=subject,
        session=session,
        task=folder.name,
        task_label=bids_label(folder.name),
        info=info,
        runs=_runs(folder, info, trials),
    )


def _read_trials(path: Path) -> pd.DataFrame:
    from selectivity.tsv import read_table

    if not path.is_file():
        raise BidsExportError(f"{path.parent}: no trials.tsv in the session folder.")
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        last = f.read(1) if size and f.seek(-1, os.SEEK_END) >= 0 else b"\n"
    if last != b"\n":
        warnings.warn(
            f"{path}: the last line has no line end (a row cut short when the session "
            "stopped); it is not a finished trial and is not exported.",
            stacklevel=4,
        )
    try:
        with path.open(encoding="utf-8") as f:
            names = f.readline().rstrip("\n").split("\t")
        dtypes = {c: "string" for c in _TEXT_COLUMNS if c in names}
        trials = read_table(path, dtypes=dtypes, finished_rows_only=True)
    except ValueError as error:
        raise BidsExportError(f"{path}: {error}") from None
    if "trial_id" not in trials.columns:
        raise BidsExportError(f"{path}: no trial_id column (columns: {list(trials.columns)}).")
    return trials


def _runs(folder: Path, info: dict[str, Any], trials: pd.DataFrame) -> tuple[Run, ...]:
    eye_files = [str(p) for p in info.get("eye_files") or []]
    for name in eye_files:
        if not (folder / name).is_file():
            raise BidsExportError(
                f"{folder}: the eye file {name} that session.json lists (eye_files) does not exist."
            )
    if not eye_files:
        return _runs_without_tracker(info, trials)
    if len(eye_files) == 1:
        return (Run(None, trials, folder / eye_files[0]),)
    if "eye_file" not in trials.columns:
        raise BidsExportError(
            f"{folder / 'trials.tsv'}: session.json lists {len(eye_files)} eye files "
            f"{eye_files}, but trials.tsv has no eye_file column saying which trial is in which."
        )
    named = trials["eye_file"].astype(object)
    unknown = sorted({str(v) for v in named.dropna()} - set(eye_files))
    if unknown or named.isna().any():
        raise BidsExportError(
            f"{folder / 'trials.tsv'}: eye_file values {unknown or ['n/a']} are not among the "
            f"eye files of session.json {eye_files}."
        )
    return tuple(
        Run(k, trials[named == name].reset_index(drop=True), folder / name)
        for k, name in enumerate(eye_files, start=1)
    )


def _runs_without_tracker(info: dict[str, Any], trials: pd.DataFrame) -> tuple[Run, ...]:
    """A session without eye files: one run, or one per resume (the experiment clock restarts)."""
    starts = [0] + [int(r.get("after_trials", 0)) for r in info.get("resumes") or []]
    bounds = [*starts, len(trials)]
    parts = [trials.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(bounds)]
    parts = [p for p in parts if len(p)] or [trials]
    if len(parts) == 1:
        return (Run(None, parts[0], None),)
    return tuple(Run(k, p, None) for k, p in enumerate(parts, start=1))


def read_eye_file(path: Path, folder: Path) -> Recording:
    """The tracker's file of a run: an ASC, or an EDF (its ASC beside it when there is one).

    Raises
    ------
    BidsExportError
        The file cannot be read (for an EDF without ``edf2asc`` or eyelinkio: the
        converter error of :func:`eyetracking.read_edf`, saying what to install); the
        message names the session folder and the file.
    """
    from eyetracking import read_asc, read_edf

    name = path.relative_to(folder) if path.is_relative_to(folder) else path
    try:
        if path.suffix.lower() == ".edf":
            asc = path.with_suffix(".asc")
            return read_asc(asc) if asc.is_file() else read_edf(path)
        return read_asc(path)
    except (ImportError, OSError, ValueError, RuntimeError) as error:
        raise BidsExportError(f"{folder}: cannot read the eye file {name}: {error}") from None
