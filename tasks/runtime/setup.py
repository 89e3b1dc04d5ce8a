"""What every task script shares: opening the session, the tracker and the simulated observer."""

from __future__ import annotations

import contextlib
import errno
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eyetracking.trackers import Tracker, open_tracker

from ..config import ExperimentConfig, to_dict
from .session import Session, SessionError, session_folder

__all__ = [
    "EDF_STEM_MAX",
    "SIMULATION_TRUTH_SOURCE",
    "check_eye_file_names",
    "eye_file_stem",
    "open_session",
    "open_session_tracker",
    "resolve_seed",
    "shuffled_schedule",
]

#: Map source in a stimulus set that drives the simulated observer's gaze
#: (the "true" selectivity map that an analysis should recover).
SIMULATION_TRUTH_SOURCE = "simulation/truth"


def resolve_seed(seed: int | None) -> int:
    """The configured seed, or a fresh one (recorded in ``session.json`` either way)."""
    return int(seed) if seed is not None else secrets.randbelow(2**31)


def shuffled_schedule(
    items: Sequence[Mapping[str, Any]], *, repetitions: int, seed: int
) -> list[dict[str, Any]]:
    """Trials in a seeded random order, each item once per repetition.

    Parameters
    ----------
    items : sequence of mapping
        One entry per stimulus (e.g. ``{"image_id": ..., "label": ...}``).
    repetitions : int
        Passes through the items; each pass is shuffled anew.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    list of dict
        The items with ``trial_id`` (1, 2, ...) and ``repetition`` (1, 2, ...) added.
    """
    rng = np.random.default_rng(seed)
    trials: list[dict[str, Any]] = []
    for rep in range(1, repetitions + 1):
        for index in rng.permutation(len(items)):
            trials.append(
                {"trial_id": len(trials) + 1, "repetition": rep, **dict(items[int(index)])}
            )
    return trials


#: Longest EDF file name (without ``.EDF``) that the EyeLink Host PC accepts.
EDF_STEM_MAX = 8


def eye_file_stem(participant: str, session: str, run_index: int) -> str:
    """``<participant>s<session>`` plus ``r<n>`` after a resume; EyeLink allows 8 characters."""
    return f"{participant}s{session}" + (f"r{run_index}" if run_index else "")


def check_eye_file_names(participant: str, session: str, run_index: int) -> None:
    """Refuse labels whose EDF file names would not fit EyeLink's 8 characters.

    A new session (``run_index`` 0) must leave room for the first resume's
    ``r1``, so that a session that runs can always be resumed; a resume is checked
    for the name it will use (``r10`` needs one character more than ``r9``).

    Raises
    ------
    SessionError
        Naming the labels, the limit and the longest name the run would need.
    """
    longest = eye_file_stem(participant, session, max(run_index, 1))
    if len(longest) <= EDF_STEM_MAX:
        return
    room = EDF_STEM_MAX - len(eye_file_stem("", session, max(run_index, 1)))
    what = "this resume" if run_index else "a resume of this session"
    raise SessionError(
        f"Participant label {participant!r} with session {session!r} is too long for "
        f"EyeLink: EDF file names have at most {EDF_STEM_MAX} characters, and {what} "
        f"would need {longest!r} ({len(longest)}). With session {session!r} use a "
        f"participant label of at most {max(room, 0)} characters."
    )


def open_session(
    config: ExperimentConfig,
    *,
    participant: str,
    session: str,
    data_root: Path | None,
    trial_columns: Sequence[str],
    frame_columns: Sequence[str],
    info: Mapping[str, Any],
    resume: bool,
    fixed_on_resume: Sequence[str] = (),
    free_on_resume: Sequence[str] = (),
    check_resume: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None = None,
    break_lock: bool = False,
) -> Session:
    """Create (or resume) the session folder of DESIGN.md for this task.

    With an EyeLink tracker, labels whose EDF names would pass 8 characters are
    refused before anything is written (:func:`check_eye_file_names`).
    ``fixed_on_resume``, ``free_on_resume``, ``check_resume`` and ``break_lock`` are
    passed to :class:`Session`.
    """
    root = Path(data_root) if data_root is not None else config.lab.data.root
    folder = session_folder(root, participant, session, config.task_name)
    screen = config.lab.display.geometry
    snapshot = {
        "task": config.task_name,
        "participant": participant,
        "session": session,
        "config_file": str(config.path),
        "config": {"task": to_dict(config.task), "lab": to_dict(config.lab)},
        "screen": {
            "resolution_px": list(screen.size_px),
            "width_cm": screen.width_cm,
            "distance_cm": screen.distance_cm,
            "px_per_deg": screen.px_per_deg,
            "refresh_hz": config.lab.display.refresh_hz,
        },
        **dict(info),
    }

    def check(run_index: int) -> None:
        check_eye_file_names(participant, session, run_index)

    return Session(
        folder,
        trial_columns=trial_columns,
        frame_columns=frame_columns,
        info=snapshot,
        resume=resume,
        check_run=check if config.lab.tracker.kind == "eyelink" else None,
        fixed_on_resume=fixed_on_resume,
        free_on_resume=free_on_resume,
        check_resume=check_resume,
        break_lock=break_lock,
    )


@contextlib.contextmanager
def open_session_tracker(
    config: ExperimentConfig, session: Session, *, observer: Any = None
) -> Iterator[Tracker]:
    """Open the lab's tracker with its data file in ``session.eye_dir``.

    The file is closed and brought into the session folder on leaving the block,
    also after an error or Escape, and its name is recorded in ``session.json``.
    """
    lab = config.lab
    tracker = open_tracker(
        lab.tracker.kind,
        screen=lab.display.geometry,
        address=lab.tracker.address,
        dummy=lab.tracker.dummy,
        sample_rate_hz=lab.tracker.sample_rate_hz,
        calibration_type=lab.tracker.calibration_type,
        eye=lab.tracker.eye,
        observer=observer,
        seed=int(session.info["seed"]) + session.run_index,
    )
    stem = eye_file_stem(session.info["participant"], session.info["session"], session.run_index)
    suffix = {"eyelink": ".edf", "simulated": ".asc"}.get(lab.tracker.kind)
    # pylink's dummy connection writes no EDF: trials.tsv then names no file (missing)
    writes_file = suffix is not None and not (lab.tracker.kind == "eyelink" and lab.tracker.dummy)
    session.eye_file = f"eye/{stem}{suffix}" if writes_file else None
    try:
        tracker.open(session.eye_dir, stem)
        session.update(tracker=tracker.settings())
        if suffix is not None and not writes_file:
            session.update(
                eye_data="none: the EyeLink tracker ran in pylink dummy mode, which writes "
                "no EDF file"
            )
        _recover_eye_files(session, tracker)
        # a file written as the session goes (the simulated ASC) is listed at once, so a killed
        # session still names it; EyeLink's EDF arrives from the Host PC when the tracker closes
        if session.eye_file and (session.folder / session.eye_file).exists():
            session.add_eye_files([session.folder / session.eye_file])
        if session.eye_file:
            # until close() has brought the file, session.json says where it is: a session
            # killed before or during the transfer is resumed with it (_recover_eye_files)
            host = tracker.settings().get("edf_file") or Path(session.eye_file).name
            pending = [*session.info.get("eye_files_pending", [])]
            session.update(
                eye_files_pending=[*pending, {"file": session.eye_file, "host_file": host}]
            )
        yield tracker
    finally:
        _close_tracker(tracker, session)


def _close_tracker(tracker: Tracker, session: Session) -> None:
    """Close the tracker and record its files; a full disk is reported, never raised, so the
    error that ended the session stays the one reported and the eye file stays where it is."""
    files: list[Path] = []
    complete = True
    try:
        files = tracker.close()
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        complete = False  # still pending: a resume brings the file from the tracker
        local = session.folder / session.eye_file if session.eye_file else session.eye_dir
        files = [local] if local.is_file() else []
        print(f"selectivity: the disk is full ({error}): the tracker's file could not be "
              f"completed; what it holds stays in {local}.", file=sys.stderr)  # fmt: skip
    failure = getattr(tracker, "transfer_failure", None)
    if failure:
        # the data file stayed on the tracker: say where it is and how to fetch it
        print(f"selectivity: {failure.get('message', failure)}", file=sys.stderr)
    try:
        session.add_eye_files(files)
        if session.eye_file and complete and not failure:
            _settle_pending(session, session.eye_file)
        if failure:
            session.update(eye_transfer_failure=dict(failure))
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        print(f"selectivity: the disk is full ({error}): session.json could not record the "
              f"eye files {[str(f) for f in files]}.", file=sys.stderr)  # fmt: skip


def _settle_pending(session: Session, eye_file: str) -> None:
    """Drop ``eye_file`` from ``eye_files_pending`` in ``session.json``."""
    pending = [p for p in session.info.get("eye_files_pending", []) if p["file"] != eye_file]
    session.update(eye_files_pending=pending)


def _recover_eye_files(session: Session, tracker: Tracker) -> None:
    """On a resume, bring the tracker files that an interrupted run left on the tracker.

    A run killed before or during :meth:`Tracker.close` left its file listed in
    ``eye_files_pending``; the tracker (now connected) fetches it, a partial copy
    being moved aside. A file that still cannot be fetched stays listed there and
    the experimenter is told where it is.
    """
    for entry in list(session.info.get("eye_files_pending", [])):
        local = session.folder / entry["file"]
        try:
            path = tracker.recover_file(entry["host_file"], local)
        except (RuntimeError, OSError) as error:
            print(f"selectivity: the tracker file {entry['file']} of an interrupted run was not "
                  f"recovered: {error} It stays listed in {session.json_path} under "
                  "eye_files_pending (host_file: where the tracker keeps it).",
                  file=sys.stderr)  # fmt: skip
            continue
        session.add_eye_files([path])
        session.update(
            eye_files_recovered=[*session.info.get("eye_files_recovered", []), dict(entry)]
        )
        _settle_pending(session, entry["file"])


def simulated_observer(stimulus_set: Any, *, ids: Sequence[str]) -> Any:
    """A simulated observer whose gaze follows the stimulus set's ``simulation/truth`` maps.

    Without that source the observer looks uniformly over each image (plus centre bias).
    """
    from eyetracking.trackers.simulated import SimulatedObserver

    if SIMULATION_TRUTH_SOURCE in stimulus_set.map_sources:
        maps = {i: stimulus_set.map(SIMULATION_TRUTH_SOURCE, i) for i in ids}
    else:
        maps = {}
        for i in ids:
            height, width = stimulus_set.image(i).shape[:2]
            maps[i] = np.ones((height, width))
    return SimulatedObserver(maps)
