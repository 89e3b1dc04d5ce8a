"""Free viewing: each image shown for a fixed number of frames while the eyes are tracked."""

from __future__ import annotations

import functools
from typing import Any

from .config import FreeViewingConfig
from .runtime.loop import run_task
from .runtime.task import Task
from .runtime.trial import TrialContext

__all__ = ["TASK", "TRIAL_COLUMNS", "run"]

#: This task's ``trials.tsv`` columns (between the runtime's ``trial_id``, ``block``,
#: ``practice`` and ``eye_file``).
TRIAL_COLUMNS = (
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
)


def items(settings: FreeViewingConfig, stimuli: Any) -> list[dict[str, Any]]:
    """One trial per image of the set (the runtime repeats and shuffles them)."""
    return [{"image_id": str(r.id), "label": str(r.label)} for r in stimuli.table.itertuples()]


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation cross, the image for ``image_duration_s``, a blank inter-trial interval."""
    task: FreeViewingConfig = ctx.settings
    image, place = ctx.image(trial["image_id"], scale=task.image_scale)
    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    shown = ctx.show("image", [image], ctx.frames_for(task.image_duration_s))
    iti = ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    return {
        "repetition": trial["repetition"],
        "image_id": trial["image_id"],
        "label": trial["label"],
        "onset_s": round(shown.onset_s, 6),
        "offset_s": round(iti.onset_s, 6),
        "onset_tracker_ms": round(ctx.image_onset_tracker_ms, 3),
        "duration_frames": shown.frames_planned,
        "measured_duration_s": round(iti.onset_s - shown.onset_s, 6),
        "dropped_frames": shown.dropped,
        "image_left_px": place.left_px,
        "image_top_px": place.top_px,
        "image_width_px": place.width_px,
        "image_height_px": place.height_px,
    }


TASK = Task(
    name="free-viewing",
    settings=FreeViewingConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=(
        "No responses. Gaze: the simulated observer of the planted map (tasks.runtime."
        "participant): fixations drawn from the planted map, with a centre bias."
    ),
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
