"""``run_task``: everything generic about running a task, around the task's own trial function."""

from __future__ import annotations

import contextlib
import errno
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

from eyetracking.trackers import TrackerLinkLost
from stimuli.stimulus_set import StimulusSetError, read_stimulus_set

from ..config import ExperimentConfig, to_dict
from .display import Presenter, n_frames, open_window
from .responses import PersonResponder, ResponseRequest
from .schedule import breaks, build_schedule, read_conditions
from .session import Session, SessionAborted, SessionError, SessionPaused
from .setup import SIMULATION_TRUTH_SOURCE, open_session, open_session_tracker, resolve_seed
from .stimulus_check import StimulusCheckError, compare_checksums, stimulus_checksums
from .task import FRAME_COLUMNS, RunInfo, Task
from .trial import TrialContext

__all__ = ["run_task"]


def run_task(
    config: ExperimentConfig[Any],
    *,
    participant: str,
    session: str = "1",
    data_root: Path | None = None,
    resume: bool = False,
    windowed: bool = False,
    task: Task | None = None,
    break_lock: bool = False,
) -> Path:
    """Run (or resume) a session of a task; returns the session folder.

    The runtime opens the session folder (refusing to overwrite one), the window,
    the tracker (its file closed and kept in a ``finally``) and calibrates; shows the
    instructions; then runs every unfinished trial of the recorded schedule (practice
    first, breaks between blocks and every ``break_every`` trials), each between
    ``TRIALID`` and ``TRIAL_RESULT`` with a drift check or a gaze-contingent start
    where configured, and writes each trial's row and frame timing before the next
    one starts. Escape ends the session with everything kept; ``resume=True``
    continues at the first unfinished trial with the same schedule.

    Before anything is opened the stimulus set is checked: every image against its
    checksum in the set's table, and the checksums of what the session shows (images,
    masks, rendered stimuli, the maps it reads; :mod:`tasks.runtime.stimulus_check`)
    are recorded in ``session.json``, and on resume compared with the recorded ones. A
    full disk (``ENOSPC``) ends the session as ``paused``: the experimenter is told
    (stderr and the window) where, how many trials are saved, and to free space and
    resume.

    Parameters
    ----------
    config : ExperimentConfig
        From :func:`tasks.config.load_config`.
    participant, session : str
        Labels (letters and digits) of ``sub-<participant>/ses-<session>/<task>/``.
    data_root : Path, optional
        Replaces the lab configuration's data root.
    resume : bool
        Continue an interrupted session.
    windowed : bool
        A window instead of fullscreen (development).
    task : Task, optional
        The task; default the registered task of ``config.task_name``.
    break_lock : bool
        Take over the session's lock held by another station (see
        :class:`tasks.runtime.Session`).

    Raises
    ------
    StimulusCheckError
        The stimulus set is damaged, or differs from the one the session started with.
    SessionLockedError
        Another process has the session open.
    """
    if task is None:
        from ..registry import get_task

        task = get_task(config.task_name)
    settings, lab = config.task, config.lab
    try:
        stimuli = read_stimulus_set(settings.stimulus_set)
    except FileNotFoundError:
        raise
    except (OSError, StimulusSetError) as error:  # a file cut short or damaged
        raise StimulusCheckError(
            f"The stimulus set {settings.stimulus_set} cannot be read ({error}): it is cut "
            "short or damaged. No trial is shown from it: copy the file again from where it "
            "was built."
        ) from None
    checksums = stimulus_checksums(stimuli, settings=to_dict(settings))
    seed = resolve_seed(settings.seed)
    if task.participant_items is None:
        items = task.items(settings, stimuli)
    else:
        items = task.participant_items(settings, stimuli, participant)
    practice = task.practice_items(settings, stimuli) if task.practice_items else items
    info = {
        "seed": seed,
        "participant_kind": lab.participant.kind,
        "simulated": lab.simulated,
        "stimulus_set": str(settings.stimulus_set),
        "stimuli": [
            {"image_id": str(r.id), "label": str(r.label)} for r in stimuli.table.itertuples()
        ],
        "schedule": _schedule(items, practice, settings, seed, participant),
        "stimulus_checksums": checksums,
    }
    root = Path(data_root) if data_root is not None else lab.data.root
    run = RunInfo(participant=participant, session=session, data_root=root, resume=resume)
    state = task.open_state(config, run) if task.open_state else contextlib.nullcontext()
    try:
        with state as shared:
            return _run(
                task, config, info, run, stimuli, shared, windowed=windowed, break_lock=break_lock
            )
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise SessionError(
            f"The disk holding {root} is full ({error}). Free space on it, then start the "
            "session again (with --resume if it had started)."
        ) from None


def _run(
    task: Task,
    config: ExperimentConfig[Any],
    info: dict[str, Any],
    run: RunInfo,
    stimuli: Any,
    shared: Any,
    *,
    windowed: bool,
    break_lock: bool = False,
) -> Path:
    """The session itself, inside the task's shared state (``run_task``'s docstring)."""
    settings, lab = config.task, config.lab
    participant, session, resume = run.participant, run.session, run.resume
    ses = open_session(
        config,
        participant=participant,
        session=session,
        data_root=run.data_root,
        trial_columns=task.trial_columns,
        frame_columns=FRAME_COLUMNS,
        info=info,
        resume=resume,
        fixed_on_resume=task.resume_fixed,
        free_on_resume=task.resume_free,
        check_resume=lambda recorded: compare_checksums(
            recorded.get("stimulus_checksums"), info["stimulus_checksums"], path=stimuli.path
        ),
        break_lock=break_lock,
    )
    seed = int(ses.info["seed"])  # a resume keeps the first run's seed and schedule
    simulated = _simulated_participant(config, stimuli, seed) if lab.simulated else None
    if simulated is not None:
        ses.update(
            participant_model={"response_model": task.response_model, **simulated.parameters()}
        )
    hz = lab.display.refresh_hz
    screen = lab.display.geometry
    with (
        ses,
        open_window(lab.display, windowed=windowed, check_timing=lab.display.check_timing) as win,
        Presenter(win, refresh_hz=hz, pace=lab.display.pace_flips) as presenter,
        open_session_tracker(
            config, ses, observer=None if simulated is None else simulated.observer
        ) as tracker,
    ):
        responder = simulated if simulated is not None else PersonResponder(win, presenter.keyboard)
        schedule = ses.info["schedule"]
        pauses = _pauses(schedule, settings)
        remaining = [t for t in schedule if t["trial_id"] not in set(ses.done)]
        try:
            ses.add_calibration(tracker.calibrate(win))
            _continue(presenter, responder, _text(win, screen, settings.instructions))
            for index, trial in enumerate(remaining):
                # after a resume the instructions were just shown: no break before the first trial
                if trial["trial_id"] in pauses and index > 0:
                    _continue(presenter, responder, _text(win, screen, pauses[trial["trial_id"]]))
                again = _run_one(
                    task,
                    trial,
                    ses,
                    win,
                    presenter,
                    tracker,
                    responder,
                    simulated,
                    screen,
                    settings,
                    stimuli,
                    seed,
                    shared,
                )
                if again is not None:  # a repeat at the end (the loop reaches appended trials)
                    remaining.append(again)
            _show_for(presenter, _text(win, screen, "Thank you!"), n_frames(0.5, hz))
        except TrackerLinkLost as lost:
            _link_lost(ses, presenter, win, screen, lost)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            _disk_full(ses, presenter, win, screen, error)
        finally:
            if isinstance(responder, PersonResponder):
                responder.close()
    return ses.folder


def _schedule(
    items: list[dict[str, Any]],
    practice: list[dict[str, Any]],
    settings: Any,
    seed: int,
    participant: str,
) -> list[dict[str, Any]]:
    """The session's trials (practice first), from the task's items and the settings."""
    if settings.conditions is not None:
        conditions = read_conditions(settings.conditions)
        items = [{**item, **condition} for item in items for condition in conditions]
    return build_schedule(
        items,
        seed=seed,
        repetitions=int(getattr(settings, "repetitions", 1)),
        blocks=int(settings.blocks),
        practice=int(settings.practice_trials),
        practice_items=practice,
        shuffle=settings.shuffle,
        counterbalance=settings.counterbalance,
        participant=participant,
    )


def _pauses(schedule: list[dict[str, Any]], settings: Any) -> dict[int, str]:
    """``trial_id`` -> the text shown before it: the end of practice, and the breaks."""
    out = breaks(schedule, every=settings.break_every or None)
    for before, after in itertools.pairwise(schedule):
        if before["practice"] and not after["practice"]:
            out[after["trial_id"]] = (
                "That was the practice. The experiment starts now.\n\nPress SPACE to start."
            )
    return out


def _simulated_participant(config: ExperimentConfig[Any], stimuli: Any, seed: int) -> Any:
    from .participant import SimulatedParticipant

    ids = [str(i) for i in stimuli.table["id"]]
    if SIMULATION_TRUTH_SOURCE in stimuli.map_sources:
        maps = {i: stimuli.map(SIMULATION_TRUTH_SOURCE, i) for i in ids}
    else:
        maps = {i: np.ones(stimuli.image(i).shape[:2]) for i in ids}
    who = config.lab.participant
    return SimulatedParticipant(
        maps,
        seed=seed if who.seed is None else int(who.seed),
        px_per_deg=config.lab.display.geometry.px_per_deg,
        rt_median_s=who.rt_median_s,
        continue_s=who.continue_s,
    )


def _text(win: Any, screen: Any, text: str) -> Any:
    from psychopy import visual

    return visual.TextStim(
        win, text=text, color="black", height=24, wrapWidth=0.8 * screen.width_px, units="pix"
    )


def _show_for(presenter: Presenter, stim: Any, frames: int) -> None:
    presenter.show([stim], frames)


def _continue(presenter: Presenter, responder: Any, stim: Any) -> None:
    """Show ``stim`` until SPACE (the simulated participant reads it briefly)."""
    request = ResponseRequest("keys", keys=("space",), purpose="continue")
    first = True
    while True:
        stim.draw()
        now = presenter.flip()
        if first:
            responder.begin(request, now)
            first = False
        presenter.check_escape()
        if responder.poll(now) is not None:
            return


def _link_lost(ses: Session, presenter: Presenter, win: Any, screen: Any, lost: Exception) -> None:
    """Tell the experimenter, keep everything, and end the session as ``paused``."""
    text = (
        "The eye tracker's connection was lost.\n\nEvery finished trial and the eye data "
        "recorded so far are kept. Reconnect the tracker, then continue this session with "
        "--resume.\n\nThe session ends now."
    )
    ses.update(link_lost={"after_trials": len(ses.done), "error": str(lost)})
    print(f"selectivity: {text.splitlines()[0]} {len(ses.done)} trials are saved in {ses.folder}; "
          "continue with --resume.", file=sys.stderr)  # fmt: skip
    stim = _text(win, screen, text)
    presenter.show([stim], n_frames(2.0, presenter.refresh_hz))
    raise SessionPaused(f"tracker link lost: {lost}") from None


def _disk_full(ses: Session, presenter: Presenter, win: Any, screen: Any, error: OSError) -> None:
    """Tell the experimenter the disk is full, keep everything, end the session as ``paused``."""
    n = len(ses.done)
    text = (
        f"The disk is full: the session cannot save more.\n\n{n} finished trials are saved in "
        f"{ses.folder}. Free space on that disk, then continue this session with --resume."
        "\n\nThe session ends now."
    )
    print(f"selectivity: the disk holding {ses.folder} is full ({error}): {n} finished trials "
          "are saved there; free space on that disk, then continue with --resume.",
          file=sys.stderr)  # fmt: skip
    with contextlib.suppress(OSError):  # session.json may be unwritable now
        ses.update(disk_full={"after_trials": n, "error": str(error)})
    stim = _text(win, screen, text)
    presenter.show([stim], n_frames(2.0, presenter.refresh_hz))
    raise SessionPaused(f"disk full: {error}") from None


def _gaze_start(tid: int, ses: Session, win: Any, tracker: Any, screen: Any, settings: Any) -> None:
    """Start the trial once the gaze holds the fixation point; after a timeout a drift check
    (which recalibrates when it fails), then one more wait; every attempt is recorded."""
    from psychopy import visual

    x, y = screen.width_px / 2.0, screen.height_px / 2.0
    cross = visual.ShapeStim(
        win, vertices="cross", size=round(0.5 * screen.px_per_deg), fillColor="black",
        lineColor="black", units="pix",
    )  # fmt: skip
    attempts = []
    for attempt in range(2):
        result = tracker.wait_for_fixation(
            win,
            x,
            y,
            radius_px=settings.gaze_start_window_deg * screen.px_per_deg,
            duration_s=settings.gaze_start_duration_s,
            timeout_s=settings.gaze_start_timeout_s,
            draw=cross.draw,
        )
        attempts.append(dict(result))
        if result.get("result") != "timeout" or attempt == 1:
            break
        tracker.stop_recording()
        attempts.append({"drift_check": tracker.drift_check(win, x, y)})
        tracker.start_recording()
    ses.update(
        gaze_starts=[*ses.info.get("gaze_starts", []), {"trial_id": tid, "attempts": attempts}]
    )


def _run_one(
    task: Task,
    trial: dict[str, Any],
    ses: Session,
    win: Any,
    presenter: Presenter,
    tracker: Any,
    responder: Any,
    simulated: Any,
    screen: Any,
    settings: Any,
    stimuli: Any,
    seed: int,
    shared: Any = None,
) -> dict[str, Any] | None:
    """Run one trial and write its row; returns the repeat it asked for, if one was added."""
    tid = int(trial["trial_id"])
    centre = (screen.width_px / 2.0, screen.height_px / 2.0)
    if settings.drift_check_every and (tid - 1) % settings.drift_check_every == 0:
        result = tracker.drift_check(win, *centre)
        ses.update(
            drift_checks=[
                *ses.info.get("drift_checks", []),
                {"trial_id": tid, **dict(result or {})},
            ]
        )
    if simulated is not None:
        simulated.reseed(tid)
    tracker.check_link()
    tracker.start_trial(tid)
    tracker.start_recording()
    if settings.gaze_start:
        _gaze_start(tid, ses, win, tracker, screen, settings)
    ctx = TrialContext(
        win=win,
        presenter=presenter,
        tracker=tracker,
        responder=responder,
        participant=simulated,
        screen=screen,
        settings=settings,
        stimuli=stimuli,
        trial=dict(trial),
        rng=np.random.default_rng((seed, tid)),
        state=shared,
        seed=seed,
    )
    try:
        row = task.run_trial(ctx, dict(trial))
        ctx.end()
    except SessionAborted:
        tracker.stop_recording()
        tracker.end_trial(2)
        raise
    tracker.stop_recording()
    if simulated is not None:
        simulated.look_back()  # the simulated tracker has made this trial's gaze
    task.check_row(row)
    tracker.log_trial_vars({k: v for k, v in row.items() if v is not None})
    tracker.end_trial(ctx.result_code)
    full = {
        "trial_id": tid,
        "block": trial["block"],
        "practice": trial["practice"],
        **row,
        "eye_file": ses.eye_file,
    }
    again = _schedule_repeat(ses, trial) if ctx.repeat_at_end else None
    ses.write_trial(full, ctx.frames)
    return again


def _schedule_repeat(ses: Session, trial: dict[str, Any]) -> dict[str, Any] | None:
    """Append a repeat of ``trial`` to the schedule in ``session.json``; returns it.

    The repeat is the trial's entry with the next free ``trial_id`` and ``repeat_of``
    set. None for a practice trial, a repeat, or a trial whose repeat is in the schedule
    already (its row was lost in a crash after the repeat was recorded: the resume
    runs that repeat, once).
    """
    tid = int(trial["trial_id"])
    schedule = list(ses.info["schedule"])
    if trial.get("practice") or trial.get("repeat_of") is not None:
        return None
    if any(t.get("repeat_of") == tid for t in schedule):
        return None
    again = {**trial, "trial_id": max(int(t["trial_id"]) for t in schedule) + 1, "repeat_of": tid}
    ses.update(schedule=[*schedule, again])
    return again
