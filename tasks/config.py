"""Lab and task configuration: frozen dataclasses loaded from TOML and validated on load."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from eyetracking.screen import Screen
from eyetracking.trackers.base import TRACKER_KINDS
from selectivity.config import (
    ConfigError,
    Location,
    choice_message,
    from_table,
    load_toml,
    read_toml,
    setting,
    to_record,
)

from .registry import TASKS, task_settings

__all__ = [
    "CALIBRATION_TYPES",
    "PARTICIPANT_KINDS",
    "ChainsConfig",
    "ConfigError",
    "DataConfig",
    "DisplayConfig",
    "ExperimentConfig",
    "FreeViewingConfig",
    "LabConfig",
    "ParticipantConfig",
    "TaskSettings",
    "TrackerConfig",
    "load_config",
    "load_lab_config",
]

#: EyeLink calibration types a lab configuration may name.
CALIBRATION_TYPES = ("H3", "HV3", "HV5", "HV9", "HV13")
_SAMPLE_RATES = (250, 500, 1000, 2000)
_EYES = ("LEFT", "RIGHT", "BOTH")


@dataclasses.dataclass(frozen=True)
class DisplayConfig:
    """The lab's display.

    Attributes
    ----------
    resolution_px : tuple of int
        ``(width, height)`` in pixels.
    width_cm : float
        Physical width of the visible screen area in cm.
    distance_cm : float
        Viewing distance from the eyes to the screen centre in cm.
    refresh_hz : float
        The monitor's refresh rate; durations are counted in frames of ``1 / refresh_hz``.
    fullscreen : bool
        Fullscreen window (the lab default). Windowed is for development.
    screen : int
        Index of the monitor to use (0 = primary).
    background : tuple of int
        Background colour, RGB 0-255.
    pace_flips : bool
        Wait for each frame's time before flipping. Only for displays without
        vertical sync (Xvfb, some virtual machines), where a flip returns at once;
        with vertical sync (every lab monitor) the flip keeps time: leave it off.
    check_timing : bool
        Measure the refresh rate when the window opens and warn when it differs
        from ``refresh_hz`` by more than 5 % (off on displays without vertical sync).
    """

    resolution_px: tuple[int, int] = dataclasses.field(default=(1920, 1080), metadata=setting(gt=0))
    width_cm: float = dataclasses.field(default=53.0, metadata=setting(gt=0))
    distance_cm: float = dataclasses.field(default=60.0, metadata=setting(gt=0))
    refresh_hz: float = dataclasses.field(default=60.0, metadata=setting(ge=20, le=500))
    fullscreen: bool = True
    screen: int = dataclasses.field(default=0, metadata=setting(ge=0))
    background: tuple[int, int, int] = dataclasses.field(
        default=(128, 128, 128), metadata=setting(ge=0, le=255)
    )
    pace_flips: bool = False
    check_timing: bool = True

    @property
    def geometry(self) -> Screen:
        """The display as an :class:`eyetracking.Screen`."""
        return Screen(
            width_px=self.resolution_px[0],
            height_px=self.resolution_px[1],
            width_cm=self.width_cm,
            distance_cm=self.distance_cm,
        )


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
    """The lab's eye tracker.

    Attributes
    ----------
    kind : {"eyelink", "simulated", "mouse", "none"}
        ``"simulated"`` (gaze of a simulated participant, written as an EyeLink ASC
        file) is for development and demos, never the lab default; ``"mouse"``
        records the mouse as gaze, for piloting a task without a tracker.
    address : str
        EyeLink Host PC IP address.
    dummy : bool
        pylink dummy mode (no hardware): for testing a lab PC before the tracker is connected.
    sample_rate_hz : int
        250, 500, 1000 or 2000.
    calibration_type : str
        One of ``CALIBRATION_TYPES``.
    eye : {"LEFT", "RIGHT", "BOTH"}
        Eye(s) to record.
    """

    kind: str = dataclasses.field(default="eyelink", metadata=setting(choices=TRACKER_KINDS))
    address: str = "100.1.1.1"
    dummy: bool = False
    sample_rate_hz: int = dataclasses.field(default=1000, metadata=setting(choices=_SAMPLE_RATES))
    calibration_type: str = dataclasses.field(
        default="HV9", metadata=setting(choices=CALIBRATION_TYPES)
    )
    eye: str = dataclasses.field(default="LEFT", metadata=setting(choices=_EYES))


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where sessions are written.

    Attributes
    ----------
    root : Path
        Data root; sessions go to ``<root>/sub-<participant>/ses-<session>/<task>/``.
        A relative path is taken relative to the folder of the file that names it.
    """

    root: Path = Path("data")


#: Who takes part: a person at the keyboard and mouse, or a simulated participant.
PARTICIPANT_KINDS = ("person", "simulated")


@dataclasses.dataclass(frozen=True)
class ParticipantConfig:
    """Who takes part in the sessions.

    Attributes
    ----------
    kind : {"person", "simulated"}
        ``"person"`` (the lab default) answers with the keyboard and mouse;
        ``"simulated"`` is a :class:`tasks.runtime.SimulatedParticipant` whose gaze
        (through the simulated tracker) and answers follow the stimulus set's planted
        map. Simulation is chosen here, never implied by the tracker.
    seed : int or None
        Seed of the simulated participant; None: the session's seed.
    rt_median_s, continue_s : float
        The simulated participant's median reaction time, and how long it takes to go
        on from instructions and breaks (:mod:`tasks.runtime.participant`).
    """

    kind: str = dataclasses.field(default="person", metadata=setting(choices=PARTICIPANT_KINDS))
    seed: int | None = None
    rt_median_s: float = dataclasses.field(default=0.8, metadata=setting(gt=0))
    continue_s: float = dataclasses.field(default=0.4, metadata=setting(ge=0))


@dataclasses.dataclass(frozen=True)
class ChainsConfig:
    """Where serial-reproduction chains live (shared by every session of a study).

    Attributes
    ----------
    url : str
        Empty (the default): a SQLite file ``chains.sqlite`` in the data root, for
        the sessions of one computer. ``postgresql://user@host:port/database``: a
        PostgreSQL server that several stations share. Leave the password out (the
        configuration is copied into every ``session.json``): libpq reads it from
        ``~/.pgpass`` or ``PGPASSWORD``.
    """

    url: str = ""

    def validate(self, at: Location) -> None:
        """An empty url or a ``postgresql://`` URL without a password."""
        from urllib.parse import urlsplit

        if not self.url:
            return
        if not self.url.startswith(("postgresql://", "postgres://")):
            raise at.error(
                "url",
                "use an empty url (SQLite in the data root) or "
                f"'postgresql://user@host:port/database', but got {self.url!r} instead.",
            )
        try:
            password = urlsplit(self.url).password
        except ValueError as error:  # e.g. "Invalid IPv6 URL" for an unclosed '['
            raise at.error("url", f"not a valid URL ({error}): {self.url!r}") from None
        if password is not None:
            raise at.error(
                "url",
                "leave the password out of the URL (it would be copied into every "
                "session.json); put it in ~/.pgpass or PGPASSWORD.",
            )


@dataclasses.dataclass(frozen=True)
class LabConfig:
    """Everything about the lab: display, tracker, participant, data root and chain database.

    ``path`` is the file read. A simulated tracker needs a simulated participant
    (its gaze comes from the participant's model); the mouse-as-gaze tracker needs
    a person moving the mouse.
    """

    display: DisplayConfig = dataclasses.field(default_factory=DisplayConfig)
    tracker: TrackerConfig = dataclasses.field(default_factory=TrackerConfig)
    participant: ParticipantConfig = dataclasses.field(default_factory=ParticipantConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    chains: ChainsConfig = dataclasses.field(default_factory=ChainsConfig)
    path: Path | None = dataclasses.field(default=None, metadata=setting(file=True))

    def validate(self, at: Location) -> None:
        """A simulated tracker needs a simulated participant; the mouse tracker a person."""
        needs = {"simulated": "simulated", "mouse": "person"}.get(self.tracker.kind)
        if needs is not None and self.participant.kind != needs:
            raise at.child("participant").error(
                "kind",
                f"the tracker kind {self.tracker.kind!r} needs [participant] kind = {needs!r}, "
                f"but got {self.participant.kind!r} instead.",
            )

    @property
    def simulated(self) -> bool:
        """Whether a simulated participant takes part."""
        return self.participant.kind == "simulated"


@dataclasses.dataclass(frozen=True)
class TaskSettings:
    """What every task's settings hold (a task's settings class derives from this one).

    Attributes
    ----------
    stimulus_set : Path
        Stimulus-set file (HDF5); relative to the configuration file's folder.
    seed : int or None
        Seed of the schedule (and of the simulated participant); ``None`` draws one
        and records it in ``session.json``, so a resume continues the same schedule.
    instructions : str
        Text shown before the first trial (SPACE to go on).
    practice_trials : int
        Trials of a practice block before the main trials, with feedback; written to
        ``trials.tsv`` with ``practice = 1`` and left out of analyses.
    blocks : int
        Main trials split into this many blocks (a break between blocks).
    break_every : int
        A break every n main trials as well (0 = only between blocks), showing how far
        the participant has come; SPACE goes on.
    shuffle : {"within-block", "all", "none"}
        Trial order (:func:`tasks.runtime.schedule.build_schedule`): each pass through the
        items shuffled anew (blocks cut from that order), one permutation of all trials,
        or the items' own order.
    counterbalance : str or None
        A field of the trials (e.g. ``"condition"``) whose values run in blocks, their
        order from a balanced Latin square row chosen by the participant label's digits.
    conditions : Path or None
        A conditions table (TSV, or TOML with ``[[conditions]]``), relative to the
        configuration file: every item runs once in every condition (its columns are
        added to the trial).
    drift_check_every : int
        Drift check before every n-th trial (0 = never): Escape in it opens camera setup
        for a recalibration; each result is recorded in ``session.json``.
    gaze_start : bool
        Start each trial only once the gaze has stayed within ``gaze_start_window_deg``
        of the fixation point for ``gaze_start_duration_s``; after
        ``gaze_start_timeout_s`` a drift check, then recalibration if it fails.
    gaze_start_window_deg, gaze_start_duration_s, gaze_start_timeout_s : float
        The window's radius (degrees of visual angle), the dwell time and the timeout.
    """

    stimulus_set: Path = Path("stimuli.h5")
    seed: int | None = None
    instructions: str = "Press SPACE to start."
    practice_trials: int = dataclasses.field(default=0, metadata=setting(ge=0))
    blocks: int = dataclasses.field(default=1, metadata=setting(ge=1))
    break_every: int = dataclasses.field(default=0, metadata=setting(ge=0))
    shuffle: Literal["within-block", "all", "none"] = "within-block"
    counterbalance: str | None = None
    conditions: Path | None = None
    drift_check_every: int = dataclasses.field(default=0, metadata=setting(ge=0))
    gaze_start: bool = False
    gaze_start_window_deg: float = dataclasses.field(default=2.0, metadata=setting(gt=0))
    gaze_start_duration_s: float = dataclasses.field(default=0.3, metadata=setting(gt=0))
    gaze_start_timeout_s: float = dataclasses.field(default=5.0, metadata=setting(gt=0))


@dataclasses.dataclass(frozen=True)
class FreeViewingConfig(TaskSettings):
    """The free-viewing task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    image_duration_s : float
        How long each image stays on screen; shown for ``round(s * refresh_hz)`` frames.
    fixation_duration_s : float
        Fixation cross before each image.
    iti_s : float
        Blank inter-trial interval after each image.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        How many times each image is shown.
    """

    image_duration_s: float = dataclasses.field(default=3.0, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "Look at each picture freely, as you would look at a photograph.\n\n"
        "Keep your eyes on the cross between pictures.\n\nPress SPACE to start."
    )


#: The settings of one task (the ``settings`` of a task in :data:`tasks.registry.TASKS`).
TaskT = TypeVar("TaskT")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig(Generic[TaskT]):
    """A task configuration with the lab it runs in.

    Attributes
    ----------
    task_name : str
        A key of :data:`tasks.registry.TASKS`.
    task : dataclass
        The task's settings, an instance of its task's ``settings`` class.
    lab : LabConfig
        The lab it runs in.
    path : Path
        The task configuration file.
    """

    task_name: str
    task: TaskT
    lab: LabConfig
    path: Path


#: Top-level entries of a task file besides the inline lab sections.
_TASK_FILE_KEYS = ("task", "lab")


@dataclasses.dataclass(frozen=True)
class _LabFile:
    """``lab = "<file>"`` of a task file: a path relative to the task file."""

    lab: Path


def load_lab_config(path: str | os.PathLike[str]) -> LabConfig:
    """Load and validate a lab configuration file.

    Parameters
    ----------
    path : str or Path
        TOML file with sections ``[display]``, ``[tracker]`` and ``[data]``;
        see ``configs/lab.toml`` for every key. A relative ``[data] root`` is
        relative to this file's folder, ``~`` expanded.

    Raises
    ------
    ConfigError
        Naming the file, the key, the allowed values and what was given.
    """
    return load_toml(path, LabConfig)


def load_config(
    path: str | os.PathLike[str], *, lab: str | os.PathLike[str] | None = None
) -> ExperimentConfig[Any]:
    """Load and validate a task configuration and the lab configuration it names.

    A task file holds ``lab = "<lab file>"`` (relative to the task file) or inline
    ``[display]``/``[tracker]``/``[data]`` sections, and a ``[task]`` table with
    ``name = "<task>"`` (a key of :data:`tasks.registry.TASKS`) and the task's settings.

    Parameters
    ----------
    path : str or Path
        The task configuration (TOML).
    lab : str or Path, optional
        A lab configuration that replaces the one the task file names.

    Raises
    ------
    ConfigError
        Naming the file, the key, the allowed values and what was given.
    """
    path = Path(path)
    table = read_toml(path)
    at = Location.of_file(path)
    lab_sections = [f.name for f in dataclasses.fields(LabConfig) if f.name != "path"]
    allowed = sorted([*_TASK_FILE_KEYS, *lab_sections])
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise at.error(None, f"unknown key {unknown[0]!r}. Allowed keys are {allowed}.")
    settings = table.get("task")
    if not isinstance(settings, Mapping):
        raise at.error(None, f"missing [task] table with the task's settings, got {settings!r}")
    settings = dict(settings)
    name = settings.pop("name", None)
    if not isinstance(name, str) or name not in TASKS:
        raise at.child("task").error("name", choice_message(sorted(TASKS), name))
    task: Any = from_table(task_settings(name), settings, at=at.child("task"))
    inline = {key: table[key] for key in lab_sections if key in table}
    if lab is not None:
        lab_config = load_lab_config(lab)
    elif "lab" in table:
        if inline:
            raise at.error(
                None, "give either lab = <file> or inline [display]/[tracker]/[data], not both"
            )
        lab_file = from_table(_LabFile, {"lab": table["lab"]}, at=at).lab
        lab_config = load_lab_config(lab_file)
    else:
        lab_config = from_table(LabConfig, inline, at=at)
    return ExperimentConfig(task_name=name, task=task, lab=lab_config, path=path)


#: A JSON-ready copy of a configuration dataclass (paths as strings); kept under its old name.
to_dict = to_record
