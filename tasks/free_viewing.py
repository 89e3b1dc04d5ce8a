"""Free viewing: each image shown for a fixed number of frames while the eyes are tracked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eyetracking.protocol import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement
from stimuli.stimulus_set import read_stimulus_set

from .config import ExperimentConfig, FreeViewingConfig
from .runtime import (
    open_session,
    open_session_tracker,
    resolve_seed,
    shuffled_schedule,
    simulated_observer,
)
from .runtime.display import Presenter, n_frames, open_window

__all__ = ["FRAME_COLUMNS", "RESUME_FIXED", "RESUME_FREE", "TRIAL_COLUMNS", "run"]

TRIAL_COLUMNS = (
    "trial_id",
    "repetition",
    "image_id",
    "label",
    "onset_s",
    "offset_s",
    "onset_tracker_ms",
    "duration_frames",
    "measured_duration_s",
    "dropped_frames",
    "image_left_px",
    "image_top_px",
    "image_width_px",
    "image_height_px",
    "eye_file",
)
#: What a resume may not change (``session.json`` paths): every task setting (images,
#: durations, scale, repetitions, seed), the stimuli in the set, and the screen's
#: resolution and refresh rate (they set placements and frame counts).
RESUME_FIXED = ("config.task", "stimuli", "screen.resolution_px", "screen.refresh_hz")
#: Task settings a resume may change (recorded in ``session.json``): the
#: instructions' text and how often drift checks run alter no trial. Everything in
#: the lab configuration but the screen (data root, tracker address...) may change too.
RESUME_FREE = ("config.task.instructions", "config.task.drift_check_every")
FRAME_COLUMNS = (
    "trial_id",
    "phase",
    "frames_planned",
    "frames_shown",
    "dropped_frames",
    "onset_s",
    "measured_duration_s",
    "nominal_duration_s",
)


def run(
    config: ExperimentConfig[FreeViewingConfig],
    *,
    participant: str,
    session: str = "1",
    data_root: Path | None = None,
    resume: bool = False,
    windowed: bool = False,
) -> Path:
    """Run (or resume) a free-viewing session; returns the session folder.

    Parameters
    ----------
    config : ExperimentConfig
        From :func:`tasks.config.load_config` with a ``[task]`` of name ``free-viewing``.
    participant, session : str
        Labels (letters and digits) of the session folder ``sub-<p>/ses-<s>/free-viewing``.
    data_root : Path, optional
        Replaces the lab configuration's data root.
    resume : bool
        Continue an interrupted session at its first unfinished trial.
    windowed : bool
        Open a window instead of fullscreen.
    """
    task, lab = config.task, config.lab
    simulated = lab.tracker.kind == "simulated"
    stimuli = read_stimulus_set(task.stimulus_set)
    table = stimuli.table
    seed = resolve_seed(task.seed)
    items = [{"image_id": str(r.id), "label": str(r.label)} for r in table.itertuples()]
    info = {
        "seed": seed,
        "simulated": simulated,
        "stimulus_set": str(task.stimulus_set),
        "stimuli": items,
        "schedule": shuffled_schedule(items, repetitions=task.repetitions, seed=seed),
    }
    ses = open_session(
        config,
        participant=participant,
        session=session,
        data_root=data_root,
        trial_columns=TRIAL_COLUMNS,
        frame_columns=FRAME_COLUMNS,
        info=info,
        resume=resume,
        fixed_on_resume=RESUME_FIXED,
        free_on_resume=RESUME_FREE,
    )
    observer = simulated_observer(stimuli, ids=list(table["id"])) if simulated else None
    screen = lab.display.geometry
    hz = lab.display.refresh_hz
    with (
        ses,
        open_window(lab.display, windowed=windowed, check_timing=not simulated) as win,
        Presenter(win, refresh_hz=hz, pace=simulated) as show,
        open_session_tracker(config, ses, observer=observer) as tracker,
    ):
        from psychopy import visual

        cross = visual.ShapeStim(
            win,
            vertices="cross",
            size=round(0.5 * screen.px_per_deg),
            fillColor="black",
            lineColor="black",
        )
        ses.add_calibration(tracker.calibrate(win))
        text = visual.TextStim(
            win, text=task.instructions, color="black", height=24, wrapWidth=0.8 * screen.width_px
        )
        if simulated:
            show.show([text], n_frames(0.5, hz))
        else:
            show.wait_keys(["space"], [text])
        finished = set(ses.done)
        remaining = [t for t in ses.info["schedule"] if t["trial_id"] not in finished]
        for trial in remaining:
            tid = trial["trial_id"]
            pixels = stimuli.image(trial["image_id"])
            height, width = pixels.shape[:2]
            place = ImagePlacement.centered(screen.size_px, (width, height), scale=task.image_scale)
            image = _image_stim(win, pixels, place, screen.size_px)
            if task.drift_check_every and (tid - 1) % task.drift_check_every == 0:
                tracker.drift_check(win, screen.width_px / 2, screen.height_px / 2)
            tracker.start_trial(tid)
            tracker.log_image(trial["image_id"], f"images/{trial['image_id']}.png", place)
            tracker.start_recording()
            onset: dict[str, float] = {}

            def stamp_onset(onset: dict[str, float] = onset) -> None:
                onset["tracker_ms"] = tracker.time_ms()

            fixation = show.show([cross], n_frames(task.fixation_duration_s, hz))
            shown = show.show(
                [image],
                n_frames(task.image_duration_s, hz),
                on_first_flip=[
                    lambda: tracker.send_message(IMAGE_ONSET),
                    stamp_onset,
                ],
            )
            iti = show.show(
                [],
                max(1, n_frames(task.iti_s, hz)),
                on_first_flip=[lambda: tracker.send_message(IMAGE_OFFSET)],
            )
            tracker.stop_recording()
            tracker.log_trial_vars(
                {
                    "image_id": trial["image_id"],
                    "label": trial["label"],
                    "repetition": trial["repetition"],
                }
            )
            tracker.end_trial(0)
            frames = [
                {"trial_id": tid, "phase": "fixation", **fixation.row(shown.onset_s)},
                {"trial_id": tid, "phase": "image", **shown.row(iti.onset_s)},
            ]
            ses.write_trial(
                {
                    **{k: trial[k] for k in ("trial_id", "repetition", "image_id", "label")},
                    "onset_s": round(shown.onset_s, 6),
                    "offset_s": round(iti.onset_s, 6),
                    "onset_tracker_ms": round(onset.get("tracker_ms", float("nan")), 3),
                    "duration_frames": shown.frames_planned,
                    "measured_duration_s": round(iti.onset_s - shown.onset_s, 6),
                    "dropped_frames": shown.dropped,
                    "image_left_px": place.left_px,
                    "image_top_px": place.top_px,
                    "image_width_px": place.width_px,
                    "image_height_px": place.height_px,
                    "eye_file": ses.eye_file,
                },
                frames,
            )
    return ses.folder


def _image_stim(win: Any, pixels: Any, place: ImagePlacement, screen_px: tuple[int, int]) -> Any:
    """A PsychoPy image drawn where ``place`` says (PsychoPy pix units: origin centre, y up)."""
    from PIL import Image
    from psychopy import visual

    cx, cy = place.center_px
    return visual.ImageStim(
        win,
        image=Image.fromarray(pixels),
        size=(place.width_px, place.height_px),
        pos=(cx - screen_px[0] / 2.0, screen_px[1] / 2.0 - cy),
        units="pix",
        interpolate=True,
    )
