"""``export_bids``: a data root of session folders as a BIDS 1.11 dataset with eye tracking."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._dataset import (
    PARTICIPANTS_SIDECAR,
    dataset_description,
    participants_rows,
    readme_text,
    write_json,
    write_stimuli,
)
from ._events import events_sidecar, events_table
from ._labels import BidsExportError, file_stem
from ._physio import (
    eye_labels,
    physio_sidecar,
    physio_table,
    physioevents_sidecar,
    physioevents_table,
)
from ._sessions import Run, SessionFolder, find_sessions, read_eye_file

__all__ = ["BidsExport", "export_bids"]


@dataclass(frozen=True)
class BidsExport:
    """What :func:`export_bids` wrote.

    Attributes
    ----------
    root : Path
        The dataset folder (``out``).
    files : tuple of Path
        Every file written, relative to ``root``, sorted.
    sessions : tuple of Path
        The session folders exported, in order.
    task_labels : dict of str to str
        Task name -> BIDS task label (``free-viewing`` -> ``freeviewing``).
    """

    root: Path
    files: tuple[Path, ...]
    sessions: tuple[Path, ...]
    task_labels: dict[str, str]


def export_bids(
    data_root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    stimulus_set: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    name: str | None = None,
    authors: Sequence[str] = (),
    license: str | None = None,
) -> BidsExport:
    """Export every session folder of ``data_root`` as a BIDS dataset with eye tracking.

    For each ``sub-<p>/ses-<s>/<task>/`` folder (``selectivity run``'s session folders)
    it writes into ``out/sub-<p>/ses-<s>/beh/``, with the BIDS task label of the task
    (``free-viewing`` -> ``freeviewing``):

    - ``..._events.tsv`` + ``.json``: one row per finished trial (``onset``, ``duration``
      in s, ``stim_file``, then the task's ``trials.tsv`` columns), with
      ``StimulusPresentation`` from ``session.json``'s screen geometry;
    - per eye, ``..._recording-eye1|eye2_physio.tsv.gz`` + ``.json`` (samples: tracker
      timestamp in ms, gaze x/y in screen px, pupil; sampling rate, calibration and
      validation figures, tracker make and model) and ``..._physioevents.tsv.gz`` +
      ``.json`` (fixations, saccades, blinks, messages);

    and ``dataset_description.json``, ``participants.tsv`` + ``.json``, ``README`` and
    ``stimuli/<id>.png``. Events onsets count from the run's first eye sample (physio
    ``StartTime`` 0); physio timestamps keep the tracker clock. A session resumed after
    an interruption has one tracker file per run: they become ``run-1``, ``run-2``, ...
    (a physio file is one continuous recording; concatenating runs would join two
    clocks). Sessions without a tracker get events only, on the experiment clock. The
    eye file may be the simulated tracker's ASC, an EyeLink ASC or an EDF (read with
    :func:`eyetracking.read_edf`). Everything is written into a folder beside ``out``
    and moved into place at the end, so a failed export leaves no partial dataset.

    Parameters
    ----------
    data_root : path-like
        The data root of the sessions.
    out : path-like
        The dataset folder to create; it must not exist or be empty.
    stimulus_set : path-like, optional
        The stimulus-set file of every session, instead of the one each
        ``session.json`` names.
    overwrite : bool
        Replace an earlier export in ``out`` (a folder with ``dataset_description.json``);
        any other non-empty folder is refused all the same.
    name, authors, license : optional
        ``Name``, ``Authors`` and ``License`` of ``dataset_description.json``.

    Returns
    -------
    BidsExport

    Raises
    ------
    BidsExportError
        ``out`` is not empty (and not an earlier export with ``overwrite``), lies inside
        the data root or holds it; a session folder lacks session.json or trials.tsv, a
        listed eye file is missing or unreadable (an EDF without a converter), trials
        are not in the tracker file, or the screen geometry is missing. The message
        names the session folder and file.
    """
    root = Path(data_root)
    target = Path(out)
    _check_out(root, target, overwrite=overwrite)
    sessions = find_sessions(root)
    labels = _task_labels(sessions)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        stimuli = write_stimuli(
            sessions, staging, stimulus_set=None if stimulus_set is None else Path(stimulus_set)
        )
        for session in sessions:
            _export_session(session, staging, stimuli)
        write_json(
            staging / "dataset_description.json",
            dataset_description(root, name=name, authors=authors, license=license),
        )
        from selectivity.tsv import write_table

        write_table(participants_rows(sessions), staging / "participants.tsv")
        write_json(staging / "participants.json", PARTICIPANTS_SIDECAR)
        (staging / "README").write_text(readme_text(sessions, labels), encoding="utf-8")
        files = tuple(sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file()))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BidsExport(
        root=target,
        files=files,
        sessions=tuple(s.folder for s in sessions),
        task_labels=labels,
    )


def _check_out(root: Path, out: Path, *, overwrite: bool) -> None:
    resolved_root, resolved_out = root.resolve(), out.resolve()
    if resolved_out == resolved_root or resolved_root.is_relative_to(resolved_out):
        raise BidsExportError(
            f"The output folder {out} holds the data root {root}: choose a folder outside it."
        )
    if resolved_out.is_relative_to(resolved_root):
        raise BidsExportError(
            f"The output folder {out} lies inside the data root {root}: choose a folder "
            "outside it (a data root holds session folders only)."
        )
    if out.exists() and not out.is_dir():
        raise BidsExportError(f"The output {out} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise BidsExportError(
                f"The output folder {out} exists and is not empty: nothing is overwritten "
                "unless asked (--overwrite replaces an earlier export)."
            )
        if not (out / "dataset_description.json").is_file():
            raise BidsExportError(
                f"The output folder {out} is not empty and holds no dataset_description.json: "
                "--overwrite replaces an earlier BIDS export only; choose an empty folder."
            )


def _task_labels(sessions: Sequence[SessionFolder]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for s in sessions:
        labels[s.task] = s.task_label
    by_label: dict[str, list[str]] = {}
    for task, label in labels.items():
        by_label.setdefault(label, []).append(task)
    clashes = {k: v for k, v in by_label.items() if len(v) > 1}
    if clashes:
        label, tasks = next(iter(clashes.items()))
        raise BidsExportError(
            f"The tasks {sorted(tasks)} would share the BIDS task label {label!r} (labels are "
            "the names' letters and digits): rename one of the task folders."
        )
    return labels


def _export_session(session: SessionFolder, out: Path, stimuli: set[str]) -> None:
    folder = out / f"sub-{session.subject}" / f"ses-{session.session}" / "beh"
    folder.mkdir(parents=True, exist_ok=True)
    for run in session.runs:
        _export_run(session, run, folder, stimuli)


def _export_run(session: SessionFolder, run: Run, folder: Path, stimuli: set[str]) -> None:
    from selectivity.tsv import write_table

    stem = file_stem(session.subject, session.session, session.task_label, run=run.number)
    recording = None if run.eye_file is None else read_eye_file(run.eye_file, session.folder)
    where = session.folder if run.eye_file is None else f"{session.folder} ({run.eye_file.name})"
    if recording is not None and not len(recording.samples):
        raise BidsExportError(f"{where}: the tracker file holds no samples.")
    zero_ms = float(recording.samples["time"].min()) if recording is not None else 0.0
    table = events_table(run, recording, zero_ms=zero_ms, where=where, stimulus_ids=stimuli)
    write_table(table, folder / f"{stem}_events.tsv")
    write_json(
        folder / f"{stem}_events.json",
        events_sidecar(session, table, tracked=recording is not None),
    )
    if recording is None:
        return
    model = session.info.get("tracker", {}).get("model")
    simulated = session.simulated_tracker or recording.header.get("SIMULATED", "").startswith(
        "true"
    )
    for label, eye in eye_labels(recording):
        eye_stem = file_stem(
            session.subject, session.session, session.task_label, run=run.number, recording=label
        )
        samples = physio_table(recording, eye)
        write_table(samples, folder / f"{eye_stem}_physio.tsv.gz", header=False)
        write_json(
            folder / f"{eye_stem}_physio.json",
            {
                "TaskName": session.task,
                **physio_sidecar(recording, eye, simulated=simulated, model=model, where=where),
            },
        )
        write_table(
            physioevents_table(recording, eye),
            folder / f"{eye_stem}_physioevents.tsv.gz",
            header=False,
        )
        write_json(
            folder / f"{eye_stem}_physioevents.json",
            {"TaskName": session.task, **physioevents_sidecar(simulated=simulated)},
        )
