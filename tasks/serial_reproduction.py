"""Serial-reproduction localisation: reproduce where a dot was; each answer is the next dot shown.

Each trial (Langlois et al. 2021; Xu & Griffiths 2010) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. the **image with a red dot** for ``dot_duration_s`` (frame exact);
3. a blank **delay** of ``delay_s``;
4. the **image alone** until the participant clicks where the dot was (a click off
   the image does not count: the image stays), or ``click_timeout_s`` passes;
5. a blank inter-trial interval.

**Chains.** Each image has several chains, one per seed position (a ``seed_grid``
of cell centres, or ``seeds_per_image`` positions drawn with ``layout_seed``); the
layout is the same for every participant of the ``study``. A trial claims a
chain's head (:mod:`tasks.chains`): the least-advanced chain that is free and that
this participant never met, ties broken at random; it shows the head's position
(the seed for generation 1, else generation g - 1's answer) and the answer
becomes generation g. Chains end after ``generations`` answers (Langlois: 20).
The head is held under a lease of ``lease_s`` (PsyNet's 5 minutes): a session that
ends without answering (Escape, an error: released at once; a crash: it expires,
or the session's resume releases it) blocks no chain. A click off the image
before the deadline is asked again; a trial without an answer gives its head
back and leaves the chain as it was (``answered = 0``).

**The schedule** of a session is ``trials`` chain slots (plus practice trials,
which show a random position on a random image and touch no chain); a slot is
filled when its trial starts, by claiming a head. A resume runs the unfinished
slots: the trial a crash interrupted claims a new head (the chain it had met is
not offered again, and its lease is released); a trial whose answer reached the
database before the crash but not ``trials.tsv`` is not shown again: its row is
restored from the database. A lost database (file gone or locked, server down or
unreachable) ends the session as ``paused``, every finished trial and the eye data
kept, with a message naming the database and what brings it back; ``--resume``
continues it once it is back. A database unreachable when a session (or its resume)
starts refuses it before anything is written.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``,
``practice``, ``eye_file``): ``chain_id``, ``generation``, ``image_id``,
``shown_x_px``, ``shown_y_px`` (the dot, image pixels, integer = pixel centre),
``response_x_px``, ``response_y_px`` (the click, image pixels; ``n/a`` without an
answer), ``rt_s`` (from the onset of the image-alone phase), ``answered``,
``accepted`` (1: the answer is the chain's node; 0: none, or another session
holds the head after this one's lease expired), ``off_image_clicks``, ``onset_s``
(the dot's onset flip), ``dot_frames``, ``dropped_frames``, ``click_x_px``,
``click_y_px`` (screen pixels) and the placement ``image_left_px``,
``image_top_px``, ``image_width_px``, ``image_height_px``. A generation's
``shown_*`` equals the previous generation's ``response_*``.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0), :data:`RESULT_TIMEOUT` (1) no
click on the image in time, :data:`RESULT_NO_CHAIN` (3) no chain was free for
this participant. (2 is the runtime's: Escape.)

**The simulated participant** (:data:`RESPONSE_MODEL`): a Bayesian reproducer
(Xu & Griffiths 2010). Its memory of the dot is Gaussian around the shown
position with SD :data:`MEMORY_SD_DEG` degrees; its prior over the image is the
planted map (``simulation/truth``, scaled to a maximum of 1) plus a floor
:data:`PRIOR_FLOOR`; it reproduces a position drawn from the posterior
``memory x prior`` (:func:`reproduction_target`), plus the shared motor noise
of clicks (SD 0.3 degrees), after the shared log-normal reaction time. So each
reproduction is pulled towards planted mass near the shown position, and a chain
is a Markov chain whose stationary density is ``prior x (memory * prior)``: the
chains converge on the planted regions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import sys
import warnings
import zlib
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from selectivity.config import setting

from ._rows import PLACEMENT_COLUMNS, placement_values, seconds
from .chains import ChainSeed, ChainStore, ChainStoreLostError, Claim, open_chain_store
from .config import ExperimentConfig, TaskSettings
from .runtime.loop import run_task
from .runtime.responses import ResponseRequest
from .runtime.session import SessionPaused
from .runtime.task import RunInfo, Task
from .runtime.trial import TrialContext

__all__ = [
    "MEMORY_SD_DEG",
    "PRIOR_FLOOR",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_NO_CHAIN",
    "RESULT_TIMEOUT",
    "TASK",
    "TRIAL_COLUMNS",
    "SerialReproductionConfig",
    "chain_seeds",
    "reproduction_target",
    "run",
]

RESULT_ANSWERED, RESULT_TIMEOUT, RESULT_NO_CHAIN = 0, 1, 3

#: The simulated participant's memory noise: SD of the Gaussian around the shown dot (deg).
MEMORY_SD_DEG = 1.0
#: The simulated participant's prior: the planted map scaled to a maximum of 1, plus this.
PRIOR_FLOOR = 0.1

TRIAL_COLUMNS = (
    "chain_id",
    "generation",
    "image_id",
    "shown_x_px",
    "shown_y_px",
    "response_x_px",
    "response_y_px",
    "rt_s",
    "answered",
    "accepted",
    "off_image_clicks",
    "onset_s",
    "dot_frames",
    "dropped_frames",
    "click_x_px",
    "click_y_px",
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "A Bayesian reproducer: the reproduced position is drawn from memory x prior, the "
    f"memory a Gaussian around the shown dot (SD {MEMORY_SD_DEG} deg), the prior the planted "
    f"map (simulation/truth) scaled to a maximum of 1 plus {PRIOR_FLOOR}; plus Gaussian motor "
    "noise (SD 0.3 deg), after the log-normal reaction time (median 0.8 s). Reproductions "
    "are pulled towards planted mass, so chains converge on the planted regions."
)


@dataclasses.dataclass(frozen=True)
class SerialReproductionConfig(TaskSettings):
    """The serial-reproduction task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    study : str
        Name of the chains in the database: every session of a study shares them.
    trials : int
        Chain slots per session (each trial answers one chain's next generation).
    generations : int
        Answers per chain (Langlois et al. 2021: 20).
    seeds : {"grid", "random"}
        Seed positions per image: the centres of a ``seed_grid`` of cells, or
        ``seeds_per_image`` positions drawn uniformly with ``layout_seed``; either way
        inside the image less ``seed_margin`` (a fraction of its width and height) on
        each side.
    seed_grid : (int, int)
        Columns and rows of the grid.
    seeds_per_image : int
        Drawn seeds per image.
    seed_margin : float
        Fraction of the image kept free of seeds at each edge (0 to < 0.5).
    layout_seed : int
        Seed of the drawn positions (the same for every session of the study).
    lease_s : float
        How long a claimed head stays held without an answer (PsyNet: 5 minutes).
    fixation_duration_s, dot_duration_s, delay_s, iti_s : float
        Fixation cross, image with the dot, blank delay, blank interval.
    click_timeout_s : float
        Deadline of the click on the image.
    dot_radius_deg : float
        Radius of the red dot.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    """

    study: str = "serial-reproduction"
    trials: int = dataclasses.field(default=20, metadata=setting(ge=1))
    generations: int = dataclasses.field(default=20, metadata=setting(ge=1))
    seeds: Literal["grid", "random"] = "grid"
    seed_grid: tuple[int, int] = dataclasses.field(default=(3, 3), metadata=setting(ge=1))
    seeds_per_image: int = dataclasses.field(default=9, metadata=setting(ge=1))
    seed_margin: float = dataclasses.field(default=0.0, metadata=setting(ge=0, lt=0.5))
    layout_seed: int = 0
    lease_s: float = dataclasses.field(default=300.0, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    dot_duration_s: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    delay_s: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    click_timeout_s: float = dataclasses.field(default=10.0, metadata=setting(gt=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    dot_radius_deg: float = dataclasses.field(default=0.15, metadata=setting(gt=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    instructions: str = (
        "A red dot will appear on a picture, then disappear.\n\n"
        "When the picture comes back, click where the dot was, as exactly as you can.\n\n"
        "Press SPACE to start."
    )


def chain_seeds(settings: SerialReproductionConfig, stimuli: Any) -> list[ChainSeed]:
    """Every chain of the study: ``<image_id>-<k>`` (k from 01) and its seed (image pixels)."""
    out = []
    rng = np.random.default_rng(settings.layout_seed)
    for image_id in stimuli.ids:
        height, width = stimuli.image(image_id).shape[:2]
        m = settings.seed_margin
        if settings.seeds == "grid":
            cols, rows = settings.seed_grid
            points = [
                (m * width + (i + 0.5) * (1 - 2 * m) * width / cols - 0.5,
                 m * height + (j + 0.5) * (1 - 2 * m) * height / rows - 0.5)
                for j in range(rows) for i in range(cols)
            ]  # fmt: skip
        else:
            u = rng.uniform(m, 1 - m, size=(settings.seeds_per_image, 2))
            points = [(a * width - 0.5, b * height - 0.5) for a, b in u]
        for k, (x, y) in enumerate(points, start=1):
            x_px = int(np.clip(round(x), 0, width - 1))
            y_px = int(np.clip(round(y), 0, height - 1))
            out.append(ChainSeed(f"{image_id}-{k:02d}", str(image_id), x_px, y_px))
    return out


def reproduction_target(
    planted: NDArray[np.float64], shown_px: tuple[int, int], *, memory_sd_px: float
) -> NDArray[np.float64]:
    """The simulated reproducer's posterior over image pixels (unnormalised).

    Parameters
    ----------
    planted : ndarray of shape (H, W)
        The image's planted map (non-negative).
    shown_px : (int, int)
        The shown dot ``(x, y)``, image pixels.
    memory_sd_px : float
        SD of the memory Gaussian, image pixels.

    Returns
    -------
    ndarray of shape (H, W)
        ``exp(-d^2 / (2 sd^2)) * (PRIOR_FLOOR + planted / max(planted))``, with ``d``
        the distance of each pixel from the shown dot.
    """
    planted = np.clip(np.asarray(planted, dtype=np.float64), 0, None)
    peak = planted.max()
    prior = PRIOR_FLOOR + (planted / peak if peak > 0 else planted)
    height, width = planted.shape
    dx = (np.arange(width) - shown_px[0]) ** 2
    dy = (np.arange(height) - shown_px[1]) ** 2
    memory = np.exp(-(dy[:, None] + dx[None, :]) / (2.0 * memory_sd_px**2))
    return memory * prior


@dataclasses.dataclass
class _Chains:
    """A session's side of the chain store (``ctx.state``)."""

    store: ChainStore
    participant: str
    session: str
    #: The heads this run claimed (released unanswered when the run ends).
    claimed: list[Claim] = dataclasses.field(default_factory=list)

    def rng(self, seed: int, trial_id: int) -> np.random.Generator:
        """The tie-breaking stream: the session seed, the trial and the participant."""
        return np.random.default_rng((seed, trial_id, zlib.crc32(self.participant.encode())))


@contextlib.contextmanager
def open_chains(config: ExperimentConfig[SerialReproductionConfig], run: RunInfo) -> Iterator[Any]:
    """The chain store of the lab (``[chains] url``), its chains made or checked; on a resume
    the heads the interrupted run held are released, and so are this run's when it ends
    (only its own: a second run refused for the same labels frees nothing)."""
    from stimuli.stimulus_set import read_stimulus_set

    task = config.task
    store = open_chain_store(
        config.lab.chains.url, data_root=run.data_root, study=task.study, lease_s=task.lease_s
    )
    stimuli = read_stimulus_set(task.stimulus_set)
    try:
        store.ensure_chains(chain_seeds(task, stimuli), generations=task.generations)
        if run.resume:
            store.release_session(participant=run.participant, session=run.session)
    except ChainStoreLostError as error:  # before the session folder is touched
        raise ChainStoreLostError(
            f"{error}. The session did not start (no trial was run, nothing was written): "
            f"{store.dialect.remedy}, then run the same command again."
        ) from None
    chains = _Chains(store, run.participant, run.session)
    try:
        yield chains
    finally:
        try:
            for claim in chains.claimed:
                store.release(claim)  # an answered head is not released (its lease is gone)
        except ChainStoreLostError as error:
            warnings.warn(
                f"{error}; the heads this session held are freed when their leases expire.",
                stacklevel=2,
            )


def items(settings: SerialReproductionConfig, stimuli: Any) -> list[dict[str, Any]]:
    """``trials`` chain slots, each filled by a claim when its trial starts."""
    return [{"slot": k} for k in range(1, settings.trials + 1)]


def practice_items(settings: SerialReproductionConfig, stimuli: Any) -> list[dict[str, Any]]:
    """Practice: a random position (drawn by the trial) on a random image; no chain."""
    return [{"slot": 0}]


def _lost(error: Exception, chains: _Chains | None) -> SessionPaused:
    """Tell the experimenter what was lost and what to do; the session ends ``paused``."""
    remedy = "make the database reachable again" if chains is None else chains.store.dialect.remedy
    print(f"selectivity: {error}. Every finished trial and the eye data are saved, and the "
          "head this trial held is freed when its lease expires (or by the resume). To go "
          f"on, {remedy}, then continue with --resume.",
          file=sys.stderr)  # fmt: skip
    return SessionPaused(f"chain database lost: {error}")


def _to_screen(place: Any, x_px: float, y_px: float) -> tuple[float, float]:
    """Image pixel centre -> screen pixels (origin top left)."""
    width, height = place.native_size_px
    x = place.left_px - 0.5 + (x_px + 0.5) * place.width_px / width
    y = place.top_px - 0.5 + (y_px + 0.5) * place.height_px / height
    return x, y


def _dot(ctx: TrialContext, place: Any, x_px: int, y_px: int) -> Any:
    from psychopy import visual

    x, y = _to_screen(place, x_px, y_px)
    width, height = ctx.screen.size_px
    return visual.Circle(
        ctx.win, radius=max(1.0, ctx.deg(ctx.settings.dot_radius_deg)), pos=(x - width / 2.0,
        height / 2.0 - y), units="pix", fillColor="red", lineColor="red",
    )  # fmt: skip


def _start(ctx: TrialContext, trial: dict[str, Any]) -> tuple[Claim | None, str, int, int]:
    """The head this trial shows: claimed from a chain, or (practice) drawn at random."""
    if ctx.practice:
        image_id = str(ctx.stimuli.ids[int(ctx.rng.integers(len(ctx.stimuli.ids)))])
        height, width = ctx.stimuli.image(image_id).shape[:2]
        return None, image_id, int(ctx.rng.integers(width)), int(ctx.rng.integers(height))
    chains: _Chains = ctx.state
    tid = int(trial["trial_id"])
    claim = chains.store.claim(
        participant=chains.participant,
        session=chains.session,
        trial_id=tid,
        rng=chains.rng(ctx.seed, tid),
    )
    if claim is None:
        return None, "", -1, -1
    chains.claimed.append(claim)
    return claim, claim.image_id, claim.shown_x_px, claim.shown_y_px


def _click(ctx: TrialContext, image: Any, place: Any, image_id: str, shown: tuple[int, int]) -> Any:
    """Clicks on the image alone until one lands on it or the deadline passes."""
    task: SerialReproductionConfig = ctx.settings
    target = None
    if ctx.participant is not None:
        sd_px = ctx.deg(MEMORY_SD_DEG) * place.native_size_px[0] / place.width_px
        planted = ctx.participant.planted(image_id)
        target = reproduction_target(planted, shown, memory_sd_px=sd_px)
    request = ResponseRequest(
        "click", placement=place, image_id=image_id, target=target, purpose="reproduce"
    )
    limit, used, misses, first = ctx.frames_for(task.click_timeout_s), 0, 0, math.nan
    while True:
        click = ctx.respond("click", [image], request, max_frames=limit - used)
        first = click.onset_s if math.isnan(first) else first
        if not click.answered or click.image_x_px is not None:
            break
        misses += 1
        used += max(1, math.ceil(click.rt_s * ctx.refresh_hz))
        if used >= limit:
            click = dataclasses.replace(click, answered=False)
            break
    rt = (click.onset_s - first) + click.rt_s if click.answered else math.nan
    return click, rt, misses


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Claim a head, show its dot, a delay, the image alone until a click; record the answer."""
    task: SerialReproductionConfig = ctx.settings
    chains: _Chains | None = ctx.state
    tid = int(trial["trial_id"])
    try:
        if chains is not None and not ctx.practice:
            kept = chains.store.answered_row(
                participant=chains.participant, session=chains.session, trial_id=tid
            )
            if kept is not None:  # answered before a crash that kept it out of trials.tsv
                return kept
        claim, image_id, x0, y0 = _start(ctx, trial)
    except ChainStoreLostError as error:
        raise _lost(error, chains) from None
    if not image_id:
        ctx.result_code = RESULT_NO_CHAIN
        ctx.show("no-chain", [ctx.text("No chain is free for you now.")], ctx.frames_for(1.0))
        return {c: None for c in TRIAL_COLUMNS} | {"answered": 0, "accepted": 0}
    image, place = ctx.image(image_id, scale=task.image_scale)
    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    dot = ctx.show("dot", [image, _dot(ctx, place, x0, y0)], ctx.frames_for(task.dot_duration_s))
    ctx.show("delay", [], ctx.frames_for(task.delay_s))
    click, rt, misses = _click(ctx, image, place, image_id, (x0, y0))
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    row = {
        "chain_id": None if claim is None else claim.chain_id,
        "generation": None if claim is None else claim.generation,
        "image_id": image_id,
        "shown_x_px": x0,
        "shown_y_px": y0,
        "response_x_px": click.image_x_px if click.answered else None,
        "response_y_px": click.image_y_px if click.answered else None,
        "rt_s": seconds(rt),
        "answered": int(click.answered),
        "accepted": 0,
        "off_image_clicks": misses,
        "onset_s": seconds(dot.onset_s),
        "dot_frames": dot.frames_planned,
        "dropped_frames": dot.dropped,
        "click_x_px": None if click.x_px is None else round(float(click.x_px), 1),
        "click_y_px": None if click.y_px is None else round(float(click.y_px), 1),
        **placement_values(place),
    }
    ctx.result_code = RESULT_ANSWERED if click.answered else RESULT_TIMEOUT
    if claim is not None:
        try:
            if click.answered:
                row["accepted"] = 1
                if not chains.store.answer(  # type: ignore[union-attr]
                    claim, int(click.image_x_px), int(click.image_y_px), row
                ):
                    row["accepted"] = 0
            else:
                chains.store.release(claim)  # type: ignore[union-attr]
        except ChainStoreLostError as error:
            raise _lost(error, chains) from None
    if ctx.practice:
        ctx.feedback("Thank you." if click.answered else "Please click before the time runs out.")
    return row


TASK = Task(
    name="serial-reproduction",
    settings=SerialReproductionConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
    practice_items=practice_items,
    open_state=open_chains,
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
