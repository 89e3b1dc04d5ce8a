"""Cued object search: a cue, a fixation point, then the scene until the target is reported.

Each trial (Langlois et al. 2021, after Wolfe's cued search) shows

1. the **cue** for ``cue_duration_s``: the target's name as text (``cue = "text"``) or
   its picture (``cue = "image"``: the target's bounding box cut out of the scene, at
   the scene's scale);
2. a **fixation** cross for ``fixation_duration_s``;
3. the **scene** until the participant presses SPACE on finding the target, or
   ``timeout_s`` passes (``timed_out = 1``);
4. after SPACE, the scene stays and the participant **clicks** on the target (within
   ``click_timeout_s``);
5. a blank inter-trial interval.

The eyes are recorded throughout; ``image_onset`` / ``image_offset`` mark the scene.

**The target in the stimulus set** (no change to its file format):

* its name is the image's ``label`` in the stimulus table (one target per image);
* its region is the map source ``target/region`` (:data:`TARGET_REGION_SOURCE`): a
  mask per image, any size (resampled to the image with :func:`selectivity.resample`),
  value >= 0.5 inside the target; written with :func:`stimuli.add_maps` (free-form
  provenance, like ``human/...`` and ``simulation/...``). Images without one (or a
  set without the source) run all the same, with ``found`` = ``n/a``.

When the region is known, it is sent to Data Viewer as the interest area
``!V IAREA RECTANGLE 1 <left> <top> <right> <bottom> <target>`` (the region's bounding
box in screen pixels, right and bottom one past the last pixel) on the scene's
onset flip, the same box is in the row (``target_*_px``), and ``found`` says whether
the click's image pixel lies in the mask itself.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): ``repetition``, ``image_id``, ``target``, ``cue``, ``onset_s``
(scene onset flip, experiment clock), ``onset_tracker_ms``, ``offset_s``, ``rt_s``
(SPACE after the scene onset flip; ``n/a`` after a timeout), ``timed_out``,
``click_rt_s`` (the click after the onset flip of the click phase), ``response_x_px``,
``response_y_px`` (the click in image pixels, origin top left, integer = pixel
centre; ``n/a`` without a click or off the image), ``click_x_px``, ``click_y_px``
(screen pixels), ``found`` (1/0; ``n/a`` without a known region; 0 without a
click), ``target_left_px``, ``target_top_px``, ``target_right_px``,
``target_bottom_px`` (the interest area), and the placement ``image_left_px``,
``image_top_px``, ``image_width_px``, ``image_height_px``.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0) SPACE then a click;
:data:`RESULT_TIMEOUT` (1) no SPACE before ``timeout_s``; :data:`RESULT_NO_CLICK` (3)
SPACE but no click before ``click_timeout_s``. (2 is the runtime's: Escape.)

**The simulated participant** (:data:`RESPONSE_MODEL`): before the scene its gaze
on the image is steered (:meth:`SimulatedParticipant.look_for`) to a priority made
of the target region (weight :data:`TARGET_GAZE_WEIGHT`, 0.8) and the planted map
(0.2), on top of the observer's centre bias; SPACE comes after the shared log-normal
reaction time, and the click is drawn from the target region (``ResponseRequest(
target=region)``) plus motor noise. Without a region, gaze and click follow the
planted map. The simulated tracker draws a trial's gaze when its recording stops,
after the trial function has returned; the runtime then returns the gaze to the planted
map (:meth:`SimulatedParticipant.look_back`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eyetracking.protocol import ImagePlacement, iarea_rectangle_message
from selectivity.config import setting
from selectivity.resample import resample
from stimuli.stimulus_set import StimulusSetError

from ._rows import CLICK_COLUMNS, PLACEMENT_COLUMNS, click_values, placement_values, seconds
from .config import TaskSettings
from .runtime.loop import run_task
from .runtime.responses import ResponseRequest
from .runtime.task import Task
from .runtime.trial import TrialContext, image_stim

__all__ = [
    "CUE_KINDS",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_NO_CLICK",
    "RESULT_TIMEOUT",
    "TARGET_GAZE_WEIGHT",
    "TARGET_REGION_SOURCE",
    "TASK",
    "TRIAL_COLUMNS",
    "ObjectSearchConfig",
    "region_box",
    "run",
    "screen_box",
    "target_region",
]

#: Map source of the targets' regions (a mask per image, >= 0.5 inside the target).
TARGET_REGION_SOURCE = "target/region"
#: Share of the simulated searcher's gaze priority on the target region (the rest: the
#: planted map).
TARGET_GAZE_WEIGHT = 0.8
#: What the cue shows: the target's name, or its picture cut out of the scene.
CUE_KINDS = ("text", "image")
RESULT_ANSWERED, RESULT_TIMEOUT, RESULT_NO_CLICK = 0, 1, 3

TRIAL_COLUMNS = (
    "repetition",
    "image_id",
    "target",
    "cue",
    "onset_s",
    "onset_tracker_ms",
    "offset_s",
    "rt_s",
    "timed_out",
    "click_rt_s",
    *CLICK_COLUMNS,
    "found",
    "target_left_px",
    "target_top_px",
    "target_right_px",
    "target_bottom_px",
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "Gaze on the scene: the simulated observer with the priority "
    f"{TARGET_GAZE_WEIGHT:g} x target region + {1 - TARGET_GAZE_WEIGHT:g} x planted map "
    "(each normalised; the planted map alone without a region), plus its centre bias. "
    "SPACE after the log-normal reaction time (median 0.8 s); the click drawn uniformly "
    "from the target region (the planted map without one) plus Gaussian motor noise "
    "(SD 0.3 deg)."
)


@dataclasses.dataclass(frozen=True)
class ObjectSearchConfig(TaskSettings):
    """The cued object-search task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    cue : {"text", "image"}
        The target's name, or its picture (the bounding box of its ``target/region``
        cut out of the scene; every image then needs a region).
    cue_duration_s : float
        How long the cue is shown.
    fixation_duration_s : float
        Fixation cross between the cue and the scene.
    timeout_s : float
        The scene's deadline for SPACE (the target found).
    click_timeout_s : float
        After SPACE, the deadline for the click on the target.
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        How many times each image is searched.
    """

    cue: str = dataclasses.field(default="text", metadata=setting(choices=CUE_KINDS))
    cue_duration_s: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    timeout_s: float = dataclasses.field(default=10.0, metadata=setting(gt=0))
    click_timeout_s: float = dataclasses.field(default=5.0, metadata=setting(gt=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "Each picture is announced by the object to look for.\n\n"
        "Keep your eyes on the cross until the picture appears, then search for the object. "
        "When you have found it, press SPACE and click on it.\n\nPress SPACE to start."
    )


def target_region(stimuli: Any, image_id: str) -> NDArray[np.bool_] | None:
    """The target's mask on ``image_id`` at the image's size, or None when the set has none.

    Returns
    -------
    ndarray of shape (H, W), bool, or None
        True inside the target (``target/region`` >= 0.5 after resampling).

    Raises
    ------
    StimulusSetError
        When the image's region is empty.
    """
    if TARGET_REGION_SOURCE not in stimuli.map_sources:
        return None
    if image_id not in stimuli.map_ids(TARGET_REGION_SOURCE):
        return None
    height, width = stimuli.image(image_id).shape[:2]
    mask = resample(stimuli.map(TARGET_REGION_SOURCE, image_id), (height, width)) >= 0.5
    if not mask.any():
        raise StimulusSetError(
            f"{stimuli.path}: the {TARGET_REGION_SOURCE!r} map of image {image_id!r} has no "
            "pixel >= 0.5: the target's region is empty."
        )
    return mask


def region_box(mask: NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """The bounding box of a mask: ``(left, top, right, bottom)`` in image pixels, right
    and bottom one past the last pixel inside."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def screen_box(box: tuple[int, int, int, int], place: ImagePlacement) -> tuple[int, int, int, int]:
    """An image-pixel box (right, bottom exclusive) in screen pixels, as the image is drawn.

    Image pixel ``i`` covers screen ``[left_px - 0.5 + i s, left_px - 0.5 + (i + 1) s)``
    (``s`` the drawn size over the native size), so the box holds the screen pixels
    from ``left_px + left s`` to one before ``left_px + right s`` (rounded).
    """
    width, height = place.native_size_px
    sx, sy = place.width_px / width, place.height_px / height
    left, top, right, bottom = box
    return (
        round(place.left_px + left * sx),
        round(place.top_px + top * sy),
        round(place.left_px + right * sx),
        round(place.top_px + bottom * sy),
    )


def search_priority(mask: NDArray[np.bool_], planted: NDArray[np.float64]) -> NDArray[np.float64]:
    """The simulated searcher's gaze priority: the region and the planted map, mixed."""
    region = mask.astype(np.float64)
    planted = resample(planted, mask.shape)
    return TARGET_GAZE_WEIGHT * region / region.sum() + (1.0 - TARGET_GAZE_WEIGHT) * (
        planted / planted.sum() if planted.sum() > 0 else region / region.sum()
    )


def items(settings: ObjectSearchConfig, stimuli: Any) -> list[dict[str, Any]]:
    """One search per image of the set, for the target its label names.

    Raises
    ------
    StimulusSetError
        When a text cue lacks a target name (an empty label) or a picture cue a region.
    """
    trials = [{"image_id": str(r.id), "target": str(r.label)} for r in stimuli.table.itertuples()]
    regions = {t["image_id"]: target_region(stimuli, t["image_id"]) for t in trials}
    if settings.cue == "text":
        unnamed = [t["image_id"] for t in trials if not t["target"].strip()]
        if unnamed:
            raise StimulusSetError(
                f"{stimuli.path}: object search names the target by the image's label, but "
                f"{len(unnamed)} image(s) have none: {unnamed[:5]}."
            )
    else:
        missing = [i for i, region in regions.items() if region is None]
        if missing:
            raise StimulusSetError(
                f"{stimuli.path}: cue = 'image' cuts the target out of the scene by its "
                f"{TARGET_REGION_SOURCE!r} map, but {len(missing)} image(s) have none: "
                f"{missing[:5]}. Add the regions (stimuli.add_maps) or use cue = 'text'."
            )
    return trials


def _cue(ctx: TrialContext, trial: dict[str, Any], region: NDArray[np.bool_] | None) -> list[Any]:
    task: ObjectSearchConfig = ctx.settings
    if task.cue == "text" or region is None:
        return [ctx.text(f"Find: {trial['target']}", height_px=32)]
    left, top, right, bottom = region_box(region)
    picture = ctx.stimuli.image(trial["image_id"])[top:bottom, left:right]
    place = ImagePlacement.centered(
        ctx.screen.size_px, (right - left, bottom - top), scale=task.image_scale
    )
    label = ctx.text("Find:", height_px=32, y_px=place.height_px / 2 + 40)
    return [label, image_stim(ctx.win, picture, place, ctx.screen.size_px)]


def _one_word(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "target"


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Cue, fixation, the scene until SPACE (or the timeout), the click, a blank interval."""
    task: ObjectSearchConfig = ctx.settings
    image_id = trial["image_id"]
    region = target_region(ctx.stimuli, image_id)
    if ctx.participant is not None:
        priority = None
        if region is not None:
            priority = search_priority(region, ctx.participant.planted(image_id))
        ctx.participant.look_for(image_id, priority)
    cue = _cue(ctx, trial, region)
    image, place = ctx.image(image_id, scale=task.image_scale)
    area = None if region is None else screen_box(region_box(region), place)
    on_scene = []
    if area is not None:
        message = iarea_rectangle_message(1, *area, _one_word(trial["target"]))
        on_scene.append(lambda: ctx.tracker.send_message(message))

    ctx.show("cue", cue, ctx.frames_for(task.cue_duration_s))
    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    report = ctx.respond(
        "search",
        [image],
        ResponseRequest("keys", keys=("space",), image_id=image_id, purpose="report"),
        max_frames=ctx.frames_for(task.timeout_s),
        on_first_flip=on_scene,
    )
    click = None
    if report.answered:
        click = ctx.respond(
            "locate",
            [image],
            ResponseRequest(
                "click",
                placement=place,
                image_id=image_id,
                target=None if region is None else region.astype(np.float64),
                purpose="locate",
            ),
            max_frames=ctx.frames_for(task.click_timeout_s),
        )
    iti = ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))

    clicked = click is not None and click.answered
    found = None
    if region is not None:
        found = 0
        if click is not None and click.image_x_px is not None and click.image_y_px is not None:
            found = int(region[click.image_y_px, click.image_x_px])
    ctx.result_code = (
        RESULT_TIMEOUT if not report.answered else RESULT_ANSWERED if clicked else RESULT_NO_CLICK
    )
    if ctx.practice:
        ctx.feedback(_feedback(report.answered, clicked, found))
    return {
        "repetition": trial["repetition"],
        "image_id": image_id,
        "target": trial["target"],
        "cue": task.cue,
        "onset_s": seconds(ctx.image_onset_s),
        "onset_tracker_ms": seconds(ctx.image_onset_tracker_ms, 3),
        "offset_s": seconds(iti.onset_s),
        "rt_s": seconds(report.rt_s),
        "timed_out": int(not report.answered),
        "click_rt_s": seconds(click.rt_s) if click is not None else None,
        **(click_values(click) if click is not None else dict.fromkeys(CLICK_COLUMNS)),
        "found": found,
        **dict(
            zip(
                ("target_left_px", "target_top_px", "target_right_px", "target_bottom_px"),
                area if area is not None else (None,) * 4,
                strict=True,
            )
        ),
        **placement_values(place),
    }


def _feedback(reported: bool, clicked: bool, found: int | None) -> str:
    if not reported:
        return "Too slow: press SPACE as soon as you find the object."
    if not clicked:
        return "Click on the object after pressing SPACE."
    if found is None:
        return "Thank you."
    return "Found it!" if found else "That was not the object."


TASK = Task(
    name="object-search",
    settings=ObjectSearchConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
