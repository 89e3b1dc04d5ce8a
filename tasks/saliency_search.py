"""Saliency search: find a scene's most salient region in a fixed time, then click where it was.

Each trial (Langlois et al. 2021) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. the **scene** for exactly ``round(image_duration_s * refresh_hz)`` frames, while the
   participant looks for its most salient or interesting region;
3. the scene's **outline** (a black rectangle where the image was, on the blank
   background) until the participant clicks where that region was, or
   ``click_timeout_s`` passes;
4. a blank inter-trial interval.

The click is made on the outline rather than on the image, so the viewing time is
the same on every trial and the fixations on the image (between ``image_onset`` and
``image_offset``, sent on the flips that show and remove it) are those of the search
alone, not of aiming the click; the click, in the image's pixels, says what was
chosen. ``rt_s`` is measured from the outline's onset flip.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): ``repetition``, ``image_id``, ``label``, ``onset_s``, ``offset_s``
(the flips that show and remove the scene), ``onset_tracker_ms``,
``duration_frames``, ``measured_duration_s``, ``dropped_frames``, ``rt_s``,
``timed_out``, ``response_x_px``, ``response_y_px`` (the click in image pixels,
origin top left, integer = pixel centre; ``n/a`` without a click or outside the
outline), ``click_x_px``, ``click_y_px`` (screen pixels), and the placement
``image_left_px``, ``image_top_px``, ``image_width_px``, ``image_height_px``.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0) a click;
:data:`RESULT_TIMEOUT` (1) none before ``click_timeout_s``. (2 is the runtime's: Escape.)

**The simulated participant** (:data:`RESPONSE_MODEL`): gaze from the simulated
observer of the planted map (``simulation/truth``) with its centre bias, as in free
viewing; the click drawn from the planted map plus motor noise, after the shared
log-normal reaction time.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from selectivity.config import setting

from ._rows import CLICK_COLUMNS, PLACEMENT_COLUMNS, click_values, placement_values, seconds
from .config import TaskSettings
from .runtime.loop import run_task
from .runtime.responses import ResponseRequest
from .runtime.task import Task
from .runtime.trial import TrialContext

__all__ = [
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_TIMEOUT",
    "TASK",
    "TRIAL_COLUMNS",
    "SaliencySearchConfig",
    "run",
]

RESULT_ANSWERED, RESULT_TIMEOUT = 0, 1

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
    "rt_s",
    "timed_out",
    *CLICK_COLUMNS,
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "Gaze on the scene: the simulated observer of the planted map (simulation/truth) with "
    "its centre bias, as in free viewing. The click on the outline: drawn from the planted "
    "map plus Gaussian motor noise (SD 0.3 deg), after the log-normal reaction time "
    "(median 0.8 s)."
)


@dataclasses.dataclass(frozen=True)
class SaliencySearchConfig(TaskSettings):
    """The saliency-search task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    image_duration_s : float
        How long the scene is shown; ``round(s * refresh_hz)`` frames.
    fixation_duration_s : float
        Fixation cross before each scene.
    click_timeout_s : float
        Deadline for the click on the outline.
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        How many times each image is shown.
    """

    image_duration_s: float = dataclasses.field(default=3.0, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    click_timeout_s: float = dataclasses.field(default=10.0, metadata=setting(gt=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "Look at each picture and find its most salient or interesting region.\n\n"
        "When the picture is replaced by its outline, click where that region was.\n\n"
        "Keep your eyes on the cross between pictures.\n\nPress SPACE to start."
    )


def items(settings: SaliencySearchConfig, stimuli: Any) -> list[dict[str, Any]]:
    """One trial per image of the set (the runtime repeats and shuffles them)."""
    return [{"image_id": str(r.id), "label": str(r.label)} for r in stimuli.table.itertuples()]


def _outline(ctx: TrialContext, place: Any) -> Any:
    from psychopy import visual

    cx, cy = place.center_px
    width, height = ctx.screen.size_px
    return visual.Rect(
        ctx.win,
        width=place.width_px,
        height=place.height_px,
        pos=(cx - width / 2.0, height / 2.0 - cy),
        units="pix",
        lineColor="black",
        lineWidth=2,
        fillColor=None,
    )


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation, the scene for ``image_duration_s``, a click on its outline, a blank interval."""
    task: SaliencySearchConfig = ctx.settings
    image_id = trial["image_id"]
    image, place = ctx.image(image_id, scale=task.image_scale)
    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    shown = ctx.show("image", [image], ctx.frames_for(task.image_duration_s))
    click = ctx.respond(
        "click",
        [_outline(ctx, place), ctx.text("Click where it was.", y_px=place.height_px / 2 + 40)],
        ResponseRequest("click", placement=place, image_id=image_id, purpose="locate"),
        max_frames=ctx.frames_for(task.click_timeout_s),
    )
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    ctx.result_code = RESULT_ANSWERED if click.answered else RESULT_TIMEOUT
    if ctx.practice:
        ctx.feedback("Thank you." if click.answered else "Please click before the time runs out.")
    return {
        "repetition": trial["repetition"],
        "image_id": image_id,
        "label": trial["label"],
        "onset_s": seconds(shown.onset_s),
        "offset_s": seconds(click.onset_s),
        "onset_tracker_ms": seconds(ctx.image_onset_tracker_ms, 3),
        "duration_frames": shown.frames_planned,
        "measured_duration_s": seconds(click.onset_s - shown.onset_s),
        "dropped_frames": shown.dropped,
        "rt_s": seconds(click.rt_s),
        "timed_out": int(not click.answered),
        **click_values(click),
        **placement_values(place),
    }


TASK = Task(
    name="saliency-search",
    settings=SaliencySearchConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
