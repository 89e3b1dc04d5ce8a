"""What a task is: its settings, its trial-row schema, its schedule and its trial function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FRAME_COLUMNS", "RUNTIME_COLUMNS", "RunInfo", "Task"]

#: Columns of ``trials.tsv`` that the runtime fills for every task, around the task's own.
RUNTIME_COLUMNS = ("trial_id", "block", "practice")
#: Columns of ``frames.tsv``: one row per phase of every trial.
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
#: Settings every task lets a resume change (recorded in ``session.json``): they alter no
#: trial. Everything in the lab configuration but the screen may change too.
RESUME_FREE = (
    "config.task.instructions",
    "config.task.drift_check_every",
    "config.task.break_every",
    "config.task.gaze_start",
    "config.task.gaze_start_window_deg",
    "config.task.gaze_start_duration_s",
    "config.task.gaze_start_timeout_s",
)
#: What a resume may not change: every other task setting, the set's stimuli, and the
#: screen's resolution and refresh rate (they set placements and frame counts).
RESUME_FIXED = ("config.task", "stimuli", "screen.resolution_px", "screen.refresh_hz")


@dataclass(frozen=True)
class RunInfo:
    """Who and where a run is, for :attr:`Task.open_state` (before the session opens).

    Attributes
    ----------
    participant, session : str
        The labels.
    data_root : Path
        The data root the session folder is in.
    resume : bool
        Whether this run resumes an interrupted session.
    """

    participant: str
    session: str
    data_root: Path
    resume: bool


@dataclass(frozen=True)
class Task:
    """A task, as :func:`tasks.runtime.run_task` runs it.

    Attributes
    ----------
    name : str
        Command-line name (``"object-search"``) and session sub-folder.
    settings : type
        Its frozen settings dataclass (a :class:`tasks.config.TaskSettings`), read
        from ``[task]`` by the one configuration loader.
    columns : tuple of str
        The task's ``trials.tsv`` columns, declared once. The file's columns are
        :data:`RUNTIME_COLUMNS`, these, then ``eye_file``; ``run_trial`` returns a
        value for each of these (None for missing: written ``n/a``).
    items : callable
        ``items(settings, stimuli) -> list of dict``: one trial specification per
        main trial of one repetition (JSON-ready values); the runtime repeats,
        shuffles, blocks them and adds practice trials (:mod:`tasks.runtime.schedule`).
    run_trial : callable
        ``run_trial(ctx, trial) -> dict``: shows one trial through its
        :class:`tasks.runtime.TrialContext` and returns the row.
    response_model : str
        How the simulated participant answers in this task (for the docs and
        ``session.json``).
    resume_fixed, resume_free : tuple of str
        ``session.json`` paths a resume may not change, and those inside them it may.
    practice_items : callable, optional
        ``practice_items(settings, stimuli) -> list of dict`` for the practice
        block; default: drawn from the main items.
    open_state : callable, optional
        ``open_state(config, run) -> context manager``: something the trials share
        beyond the session (a database of chains shared by every session of a
        study), entered before the session folder is opened and left after it is
        closed (also on Escape or an error); what it yields is ``ctx.state``. ``run``
        is a :class:`RunInfo`.
    participant_items : callable, optional
        ``participant_items(settings, stimuli, participant) -> list of dict``: the main
        items of the participant labelled ``participant``, for designs balanced across
        participants (each participant's conditions or share of the items; the number
        is usually :func:`tasks.runtime.schedule.participant_index` of the label, which
        refuses a label without digits); when given, the runtime takes the main items
        from it, before anything is opened, instead of ``items`` (which stays the whole
        design).
    """

    name: str
    settings: type
    columns: tuple[str, ...]
    items: Callable[[Any, Any], list[dict[str, Any]]]
    run_trial: Callable[[Any, dict[str, Any]], dict[str, Any]]
    response_model: str
    resume_fixed: tuple[str, ...] = RESUME_FIXED
    resume_free: tuple[str, ...] = RESUME_FREE
    practice_items: Callable[[Any, Any], list[dict[str, Any]]] | None = None
    open_state: Callable[[Any, RunInfo], AbstractContextManager[Any]] | None = None
    participant_items: Callable[[Any, Any, str], list[dict[str, Any]]] | None = None

    @property
    def trial_columns(self) -> tuple[str, ...]:
        """Every column of ``trials.tsv``, in order."""
        return (*RUNTIME_COLUMNS, *self.columns, "eye_file")

    def check_row(self, row: dict[str, Any]) -> None:
        """Refuse a row whose keys are not the declared columns (a bug in the task)."""
        declared: Sequence[str] = self.columns
        missing = [c for c in declared if c not in row]
        extra = [c for c in row if c not in declared]
        if missing or extra:
            raise RuntimeError(
                f"Task {self.name!r}: run_trial returned a row whose keys differ from its "
                f"declared columns (missing {missing}, undeclared {extra})."
            )
