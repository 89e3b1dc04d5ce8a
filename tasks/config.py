"""Lab and task configuration: frozen dataclasses loaded from TOML and validated on load."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from eyetracking.screen import Screen
from eyetracking.trackers.base import TRACKER_KINDS

__all__ = [
    "CALIBRATION_TYPES",
    "ConfigError",
    "DataConfig",
    "DisplayConfig",
    "ExperimentConfig",
    "FreeViewingConfig",
    "LabConfig",
    "TrackerConfig",
    "load_config",
    "load_lab_config",
]

#: EyeLink calibration types a lab configuration may name.
CALIBRATION_TYPES = ("H3", "HV3", "HV5", "HV9", "HV13")
_SAMPLE_RATES = (250, 500, 1000, 2000)
_EYES = ("LEFT", "RIGHT", "BOTH")


class ConfigError(ValueError):
    """A configuration file is wrong: the message names the file, the key and what is allowed."""


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
    """

    resolution_px: tuple[int, int] = (1920, 1080)
    width_cm: float = 53.0
    distance_cm: float = 60.0
    refresh_hz: float = 60.0
    fullscreen: bool = True
    screen: int = 0
    background: tuple[int, int, int] = (128, 128, 128)

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
    kind : {"eyelink", "simulated", "none"}
        ``"simulated"`` is for development and demos, never the lab default.
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

    kind: str = "eyelink"
    address: str = "100.1.1.1"
    dummy: bool = False
    sample_rate_hz: int = 1000
    calibration_type: str = "HV9"
    eye: str = "LEFT"


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where sessions are written.

    Attributes
    ----------
    root : Path
        Data root; sessions go to ``<root>/sub-<participant>/ses-<session>/<task>/``.
        A relative path is taken relative to the configuration file's folder.
    """

    root: Path = Path("data")


@dataclasses.dataclass(frozen=True)
class LabConfig:
    """Everything about the lab: display, tracker and data root."""

    display: DisplayConfig = dataclasses.field(default_factory=DisplayConfig)
    tracker: TrackerConfig = dataclasses.field(default_factory=TrackerConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    path: Path | None = None


@dataclasses.dataclass(frozen=True)
class FreeViewingConfig:
    """The free-viewing task.

    Attributes
    ----------
    stimulus_set : Path
        Stimulus-set file (HDF5); relative to the configuration file's folder.
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
    seed : int or None
        Seed of the trial order (and of the simulated participant); ``None`` draws one
        and records it in ``session.json``.
    drift_check_every : int
        Drift check before every n-th trial (0 = never).
    instructions : str
        Text shown before the first trial.
    """

    stimulus_set: Path = Path("stimuli.h5")
    image_duration_s: float = 3.0
    fixation_duration_s: float = 1.0
    iti_s: float = 0.5
    image_scale: float = 1.0
    repetitions: int = 1
    seed: int | None = None
    drift_check_every: int = 0
    instructions: str = (
        "Look at each picture freely, as you would look at a photograph.\n\n"
        "Keep your eyes on the cross between pictures.\n\nPress SPACE to start."
    )


#: Task configuration classes by task name, as used on the command line.
TASK_CONFIGS: dict[str, type] = {"free-viewing": FreeViewingConfig}


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A task configuration with the lab it runs in."""

    task_name: str
    task: FreeViewingConfig
    lab: LabConfig
    path: Path


def _describe(kind: Any) -> str:
    names = {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
        "Path": "a path string",
        "int | None": "an integer",
    }
    return names.get(str(kind), str(kind))


def _convert(value: Any, kind: str, where: str) -> Any:
    """Convert a TOML value to the field type named ``kind`` (a string annotation)."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind in ("int", "int | None"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif kind == "str":
        if isinstance(value, str):
            return value
    elif kind == "Path":
        if isinstance(value, str) and value:
            return Path(value)
    elif kind.startswith("tuple[int"):
        n = kind.count("int")
        if (
            isinstance(value, list)
            and len(value) == n
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return tuple(value)
        raise ConfigError(f"{where}: expected a list of {n} integers, got {value!r}")
    raise ConfigError(f"{where}: expected {_describe(kind)}, got {value!r}")


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}. Allowed keys are {sorted(fields)}."
        )
    values = {
        name: _convert(table[name], str(fields[name].type), f"{where}.{name}")
        for name in fields
        if name in table
    }
    return cls(**values)


def _check_choice(value: Any, allowed: tuple, where: str) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{where}: invalid value. Allowed values are {list(allowed)}, "
            f"but got {value!r} instead."
        )


def _check_positive(value: float, where: str) -> None:
    if value <= 0:
        raise ConfigError(f"{where}: must be positive, got {value!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def _lab_from_table(table: Mapping[str, Any], path: Path) -> LabConfig:
    where = str(path)
    allowed = {"display", "tracker", "data"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}]. Allowed sections are {sorted(allowed)}."
        )
    display = _build(DisplayConfig, table.get("display", {}), f"{where}: [display]")
    tracker = _build(TrackerConfig, table.get("tracker", {}), f"{where}: [tracker]")
    data = _build(DataConfig, table.get("data", {}), f"{where}: [data]")
    for i, name in enumerate(("width", "height")):
        _check_positive(display.resolution_px[i], f"{where}: [display] resolution_px {name}")
    _check_positive(display.width_cm, f"{where}: [display] width_cm")
    _check_positive(display.distance_cm, f"{where}: [display] distance_cm")
    if not 20 <= display.refresh_hz <= 500:
        raise ConfigError(
            f"{where}: [display] refresh_hz: expected the monitor's refresh rate in Hz "
            f"(20-500), got {display.refresh_hz!r}"
        )
    if any(not 0 <= c <= 255 for c in display.background):
        raise ConfigError(
            f"{where}: [display] background: expected RGB values 0-255, got {display.background}"
        )
    if display.screen < 0:
        raise ConfigError(f"{where}: [display] screen: expected 0 or more, got {display.screen}")
    _check_choice(tracker.kind, TRACKER_KINDS, f"{where}: [tracker] kind")
    _check_choice(tracker.sample_rate_hz, _SAMPLE_RATES, f"{where}: [tracker] sample_rate_hz")
    _check_choice(
        tracker.calibration_type, CALIBRATION_TYPES, f"{where}: [tracker] calibration_type"
    )
    _check_choice(tracker.eye, _EYES, f"{where}: [tracker] eye")
    root = data.root if data.root.is_absolute() else (path.parent / data.root)
    return LabConfig(display=display, tracker=tracker, data=DataConfig(root=root), path=path)


def load_lab_config(path: str | Path) -> LabConfig:
    """Load and validate a lab configuration file.

    Parameters
    ----------
    path : str or Path
        TOML file with sections ``[display]``, ``[tracker]`` and ``[data]``;
        see ``configs/lab.toml`` for every key.

    Raises
    ------
    ConfigError
        Naming the file, the key, the allowed values and what was given.
    """
    path = Path(path)
    return _lab_from_table(_read_toml(path), path)


def _task_from_table(name: str, table: Any, path: Path) -> FreeViewingConfig:
    where = f"{path}: [task]"
    task = _build(TASK_CONFIGS[name], table, where)
    for key in ("image_duration_s", "image_scale"):
        _check_positive(getattr(task, key), f"{where} {key}")
    for key in ("fixation_duration_s", "iti_s"):
        if getattr(task, key) < 0:
            raise ConfigError(f"{where} {key}: must be 0 or more, got {getattr(task, key)!r}")
    if task.repetitions < 1:
        raise ConfigError(f"{where} repetitions: must be 1 or more, got {task.repetitions}")
    if task.drift_check_every < 0:
        raise ConfigError(f"{where} drift_check_every: must be 0 or more")
    stimulus_set = task.stimulus_set
    if not stimulus_set.is_absolute():
        stimulus_set = path.parent / stimulus_set
    return dataclasses.replace(task, stimulus_set=stimulus_set)


def load_config(path: str | Path, *, lab: str | Path | None = None) -> ExperimentConfig:
    """Load and validate a task configuration and the lab configuration it names.

    A task file holds ``task = "<name>"``, ``lab = "<lab file>"`` (relative to the
    task file) or inline ``[display]``/``[tracker]``/``[data]`` sections, and a
    ``[task]`` table with the task's settings.

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
    table = _read_toml(path)
    allowed = {"task", "lab", "display", "tracker", "data"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}. Allowed top-level keys are {sorted(allowed)}."
        )
    task_value = table.get("task")
    if not isinstance(task_value, Mapping):
        raise ConfigError(f"{path}: missing [task] table with the task's settings")
    task_table = dict(task_value)
    name = task_table.pop("name", None)
    if name not in TASK_CONFIGS:
        raise ConfigError(
            f"{path}: [task] name: invalid value. Allowed values are {sorted(TASK_CONFIGS)}, "
            f"but got {name!r} instead."
        )
    inline: dict[str, Any] = {k: table[k] for k in ("display", "tracker", "data") if k in table}
    if lab is not None:
        lab_config = load_lab_config(lab)
    elif "lab" in table:
        if inline:
            raise ConfigError(
                f"{path}: give either lab = <file> or inline [display]/[tracker]/[data], not both"
            )
        if not isinstance(table["lab"], str):
            raise ConfigError(f"{path}: lab: expected a path string, got {table['lab']!r}")
        lab_path = Path(table["lab"])
        lab_config = load_lab_config(lab_path if lab_path.is_absolute() else path.parent / lab_path)
    else:
        lab_config = _lab_from_table(inline, path)
    return ExperimentConfig(
        task_name=name, task=_task_from_table(name, task_table, path), lab=lab_config, path=path
    )


def to_dict(config: Any) -> Any:
    """A JSON-ready copy of a configuration dataclass (paths as strings)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, Path):
        return str(config)
    if isinstance(config, tuple):
        return [to_dict(v) for v in config]
    return config
