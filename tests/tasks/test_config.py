"""Configuration files: every shipped file loads, and every mistake is named."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import pytest

from tasks.config import ConfigError, load_config, load_lab_config
from tasks.registry import TASKS

LAB = """
[display]
resolution_px = [1280, 1024]
width_cm = 37.5
distance_cm = 57.0
refresh_hz = 120.0
fullscreen = true
screen = 1
background = [100, 110, 120]

[tracker]
kind = "eyelink"
address = "100.1.1.1"
sample_rate_hz = 2000
calibration_type = "HV13"
eye = "BOTH"

[data]
root = "sessions"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lab_config_values_and_relative_root(tmp_path: Path) -> None:
    lab = load_lab_config(_write(tmp_path, "lab.toml", LAB))
    assert lab.display.resolution_px == (1280, 1024)
    assert lab.display.refresh_hz == 120.0
    assert lab.display.screen == 1
    assert lab.display.background == (100, 110, 120)
    assert lab.tracker.sample_rate_hz == 2000
    assert lab.tracker.eye == "BOTH"
    assert lab.data.root == tmp_path / "sessions"
    screen = lab.display.geometry
    assert screen.size_px == (1280, 1024)
    assert screen.distance_cm == 57.0


def test_defaults_fill_missing_keys(tmp_path: Path) -> None:
    lab = load_lab_config(_write(tmp_path, "lab.toml", "[display]\nrefresh_hz = 144\n"))
    assert lab.display.refresh_hz == 144.0
    assert lab.display.resolution_px == (1920, 1080)
    assert lab.tracker.kind == "eyelink"  # the lab default is the real tracker, never simulation


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("[display]\nrefresh = 60\n", r"\[display\]: unknown key 'refresh'", id="typo"),
        pytest.param("[screen]\n", r"unknown section \[screen\]", id="section"),
        pytest.param(
            '[tracker]\nkind = "tobii"\n',
            r"\[tracker\] kind: invalid value. Allowed values are \['eyelink', 'simulated', "
            r"'mouse', 'none'\], but got 'tobii'",
            id="tracker-kind",
        ),
        pytest.param(
            "[tracker]\nsample_rate_hz = 300\n",
            r"sample_rate_hz.*Allowed values are \[250",
            id="rate",
        ),
        pytest.param(
            '[tracker]\ncalibration_type = "HV7"\n', r"calibration_type.*'HV7'", id="cal-type"
        ),
        pytest.param(
            "[display]\nresolution_px = [1920]\n",
            r"\[display\] resolution_px: expected a list of 2 integers, got \[1920\]",
            id="resolution-length",
        ),
        pytest.param(
            '[display]\nwidth_cm = "53"\n',
            r"\[display\] width_cm: expected a number, got '53'",
            id="type",
        ),
        pytest.param(
            "[display]\nwidth_cm = -1\n",
            r"\[display\] width_cm: invalid value. Allowed values are numbers > 0, but got -1 "
            r"instead",
            id="negative",
        ),
        pytest.param(
            "[display]\nrefresh_hz = 1000\n",
            r"\[display\] refresh_hz: invalid value. Allowed values are numbers in \[20, 500\], "
            r"but got 1000 instead",
            id="refresh",
        ),
        pytest.param(
            "[display]\nbackground = [0, 0, 300]\n",
            r"\[display\] background: invalid value. Allowed values are integers in \[0, 255\], "
            r"but got \[0, 0, 300\] instead",
            id="rgb",
        ),
        pytest.param("[display]\nfullscreen = 1\n", r"expected true or false", id="bool"),
        pytest.param("[display\n", r"not valid TOML", id="toml-syntax"),
    ],
)
def test_lab_config_errors_name_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, "lab.toml", text)
    with pytest.raises(ConfigError, match=match) as info:
        load_lab_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_lab_config(tmp_path / "nope.toml")


def test_task_config_with_lab_file(tmp_path: Path) -> None:
    _write(tmp_path, "lab.toml", LAB)
    task = _write(
        tmp_path,
        "fv.toml",
        'lab = "lab.toml"\n[task]\nname = "free-viewing"\nstimulus_set = "set.h5"\n'
        "image_duration_s = 2.5\nseed = 3\n",
    )
    config = load_config(task)
    assert config.task_name == "free-viewing"
    assert config.task.image_duration_s == 2.5
    assert config.task.seed == 3
    assert config.task.stimulus_set == tmp_path / "set.h5"
    assert config.lab.tracker.calibration_type == "HV13"


def test_task_config_inline_lab_and_override(tmp_path: Path) -> None:
    task = _write(
        tmp_path,
        "fv.toml",
        '[tracker]\nkind = "none"\n[task]\nname = "free-viewing"\n',
    )
    assert load_config(task).lab.tracker.kind == "none"
    other = _write(tmp_path, "lab.toml", LAB)
    assert load_config(task, lab=other).lab.tracker.kind == "eyelink"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param(
            "[task]\n",
            r"\[task\] name: invalid value.*\['free-viewing', 'masked-recognition', "
            r"'object-search', 'saliency-search', 'similarity-rating'\]",
            id="no-name",
        ),
        pytest.param('[task]\nname = "freeviewing"\n', r"but got 'freeviewing'", id="bad-name"),
        pytest.param(
            '[task]\nname = "free-viewing"\nduration = 3\n',
            r"unknown key 'duration'",
            id="unknown-task-key",
        ),
        pytest.param(
            '[task]\nname = "free-viewing"\nimage_duration_s = 0\n',
            r"\[task\] image_duration_s: invalid value. Allowed values are numbers > 0",
            id="zero-duration",
        ),
        pytest.param(
            '[task]\nname = "free-viewing"\nrepetitions = 0\n',
            r"\[task\] repetitions: invalid value. Allowed values are integers >= 1, but got 0 "
            r"instead",
            id="repetitions",
        ),
        pytest.param(
            '[task]\nname = "free-viewing"\nseed = 1.5\n',
            r"seed: expected an integer",
            id="seed-type",
        ),
        pytest.param(
            'colour = "red"\n[task]\nname = "free-viewing"\n',
            r"unknown key 'colour'",
            id="top-level",
        ),
        pytest.param(
            'lab = "missing.toml"\n[task]\nname = "free-viewing"\n',
            r"missing.toml: configuration file not found",
            id="lab-missing",
        ),
        pytest.param(
            'lab = "x.toml"\n[display]\n[task]\nname = "free-viewing"\n',
            r"either lab = <file> or inline",
            id="lab-and-inline",
        ),
        pytest.param(
            'task = "free-viewing"\n',
            r"task\.toml: missing \[task\] table with the task's settings, got 'free-viewing'",
            id="task-not-table",
        ),
    ],
)
def test_task_config_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, "task.toml", text))


def test_every_shipped_config_loads(repo_root: Path) -> None:
    # Task and lab configurations; the stimuli and analysis ones are loaded by their own tests.
    loaded = 0
    for path in sorted((repo_root / "configs").glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        if "[task]" in text:
            config = load_config(path)
            # the file is named after its task: free_viewing*.toml runs free-viewing
            assert path.stem.removesuffix("_simulated").replace("_", "-") == config.task_name
            assert config.lab.simulated == path.stem.endswith("_simulated")
        elif "[display]" in text:
            lab = load_lab_config(path)
            assert lab.display.geometry.px_per_deg > 0
        else:
            continue
        loaded += 1
    assert loaded >= 8


def test_lab_default_is_never_simulated(repo_root: Path) -> None:
    assert load_lab_config(repo_root / "configs" / "lab.toml").tracker.kind == "eyelink"
    for name in ("free_viewing.toml", "object_search.toml", "saliency_search.toml"):
        assert load_config(repo_root / "configs" / name).lab.tracker.kind == "eyelink"


@dataclasses.dataclass(frozen=True)
class _RatingConfig:
    """A second task's settings, as the tasks to come will register them."""

    scale: tuple[int, int] = (1, 7)
    image_duration_s: float = 0.0  # 0 is fine here: free viewing's checks are its own


def test_a_registered_task_loads_with_its_own_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a task is registered by its module (holding TASK) in tasks.registry.TASKS
    module = types.ModuleType("rating_task")
    module.TASK = types.SimpleNamespace(settings=_RatingConfig)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rating_task", module)
    monkeypatch.setitem(TASKS, "rating", "rating_task")
    path = _write(tmp_path, "r.toml", '[task]\nname = "rating"\nscale = [0, 9]\n')
    config = load_config(path)
    assert config.task_name == "rating"
    assert config.task == _RatingConfig(scale=(0, 9))
    with pytest.raises(ConfigError, match=r"r\.toml: \[task\]: unknown key 'stimulus_set'"):
        load_config(_write(tmp_path, "r.toml", '[task]\nname = "rating"\nstimulus_set = "s"\n'))
