"""``run_task``: everything generic about running a task, around the task's own trial function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stimuli.stimulus_set import read_stimulus_set

from ..config import ExperimentConfig
from .display import Presenter, n_frames, open_window
from .responses import PersonResponder, ResponseRequest
from .session import Session, SessionAborted
from .setup import (
    SIMULATION_TRUTH_SOURCE,
    open_session,
    open_session_tracker,
    resolve_seed,
    shuffled_schedule,
)
from .task import FRAME_COLUMNS, Task
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
    """
    if task is None:
        from ..registry import get_task

        task = get_task(config.task_name)
    settings, lab = config.task, config.lab
    stimuli = read_stimulus_set(settings.stimulus_set)
    seed = resolve_seed(settings.seed)
    items = task.items(settings, stimuli)
    practice = task.practice_items(settings, stimuli) if task.practice_items else items
    info = {
        "seed": seed,
        "participant_kind": lab.participant.kind,
        "simulated": lab.simulated,
        "stimulus_set": str(settings.stimulus_set),
        "stimuli": [
            {"image_id": str(r.id), "label": str(r.label)} for r in stimuli.table.itertuples()
        ],
        "schedule": _schedule(items, practice, settings, seed),
    }
    ses = open_session(
        config,
        participant=participant,
        session=session,
        data_root=data_root,
        trial_columns=task.trial_columns,
        frame_columns=FRAME_COLUMNS,
        info=info,
        resume=resume,
        fixed_on_resume=task.resume_fixed,
        free_on_resume=task.resume_free,
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
        ses.add_calibration(tracker.calibrate(win))
        _continue(presenter, responder, _text(win, screen, settings.instructions))
        remaining = [t for t in ses.info["schedule"] if t["trial_id"] not in set(ses.done)]
        n_main = sum(1 for t in ses.info["schedule"] if not t["practice"])
        for index, trial in enumerate(remaining):
            previous = _previous(ses.info["schedule"], trial)
            message = _between(trial, previous, settings, n_main)
            if message is not None and (index > 0 or (previous or {}).get("practice")):
                _continue(presenter, responder, _text(win, screen, message))
            _run_one(
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
            )
        _show_for(presenter, _text(win, screen, "Thank you!"), n_frames(0.5, hz))
    return ses.folder


def _schedule(
    items: list[dict[str, Any]], practice: list[dict[str, Any]], settings: Any, seed: int
) -> list[dict[str, Any]]:
    repetitions = int(getattr(settings, "repetitions", 1))
    main = shuffled_schedule(items, repetitions=repetitions, seed=seed)
    rng = np.random.default_rng((seed, 1))
    n_practice = int(settings.practice_trials)
    drawn = (
        [dict(practice[int(i) % len(practice)]) for i in rng.permutation(max(n_practice, 1))][
            :n_practice
        ]
        if practice
        else []
    )
    trials: list[dict[str, Any]] = []
    for spec in drawn:
        trials.append(
            {"trial_id": len(trials) + 1, "block": 0, "practice": 1, "repetition": 0, **spec}
        )
    n_blocks = int(settings.blocks)
    for position, spec in enumerate(main):
        block = 1 + position * n_blocks // max(len(main), 1)
        body = {k: v for k, v in spec.items() if k != "trial_id"}
        trials.append({"trial_id": len(trials) + 1, "block": block, "practice": 0, **body})
    return trials


def _previous(schedule: list[dict[str, Any]], trial: dict[str, Any]) -> dict[str, Any] | None:
    position = trial["trial_id"] - 1
    return schedule[position - 1] if position > 0 else None


def _between(
    trial: dict[str, Any], previous: dict[str, Any] | None, settings: Any, n_main: int
) -> str | None:
    """The text of a break or block change before ``trial``, or None."""
    if previous is None or trial["practice"]:
        return None
    done = int(trial["trial_id"]) - 1 - int(settings.practice_trials)
    if previous["practice"]:
        return "That was the practice. The experiment starts now.\n\nPress SPACE to start."
    if trial["block"] != previous["block"] or (
        settings.break_every and done > 0 and done % settings.break_every == 0
    ):
        return f"Break: {done} of {n_main} trials done.\n\nPress SPACE to go on."
    return None


def _simulated_participant(config: ExperimentConfig[Any], stimuli: Any, seed: int) -> Any:
    from .participant import SimulatedParticipant

    ids = [str(i) for i in stimuli.table["id"]]
    if SIMULATION_TRUTH_SOURCE in stimuli.map_sources:
        maps = {i: stimuli.map(SIMULATION_TRUTH_SOURCE, i) for i in ids}
    else:
        maps = {i: np.ones(stimuli.image(i).shape[:2]) for i in ids}
    own = config.lab.participant.seed
    return SimulatedParticipant(
        maps,
        seed=seed if own is None else int(own),
        px_per_deg=config.lab.display.geometry.px_per_deg,
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
) -> None:
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
    tracker.start_trial(tid)
    tracker.start_recording()
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
    )
    try:
        row = task.run_trial(ctx, dict(trial))
        ctx.end()
    except SessionAborted:
        tracker.stop_recording()
        tracker.end_trial(2)
        raise
    tracker.stop_recording()
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
    ses.write_trial(full, ctx.frames)
