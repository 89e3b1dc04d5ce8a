"""A resume records the configuration it runs, and refuses one that changes the schedule."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.config import ExperimentConfig
from tasks.free_viewing import run
from tasks.runtime.session import Session, SessionAborted, SessionError, resume_changes
from tasks.runtime.task import RESUME_FIXED, RESUME_FREE


def _info(**task: object) -> dict:
    values = {"images": "a.h5", "repetitions": 1, "seed": 3, "instructions": "Look.", **task}
    return {
        "config": {"task": values, "lab": {"data": {"root": "/d"}}},
        "screen": {"resolution_px": [1024, 768], "refresh_hz": 60.0, "distance_cm": 57.0},
        "stimuli": [{"image_id": "a"}, {"image_id": "b"}],
    }


FIXED = ("config.task", "stimuli", "screen.resolution_px", "screen.refresh_hz")
FREE = ("config.task.instructions",)


@pytest.mark.parametrize(
    ("new", "refused"),
    [
        pytest.param(_info(repetitions=2), [("config.task.repetitions", 1, 2)], id="repetitions"),
        pytest.param(_info(seed=4), [("config.task.seed", 3, 4)], id="seed"),
        pytest.param(_info(images="b.h5"), [("config.task.images", "a.h5", "b.h5")], id="images"),
        pytest.param(
            {**_info(), "stimuli": [{"image_id": "a"}]},
            [("stimuli", [{"image_id": "a"}, {"image_id": "b"}], [{"image_id": "a"}])],
            id="stimulus-set-content",
        ),
        pytest.param(
            {**_info(), "screen": {**_info()["screen"], "refresh_hz": 120.0}},
            [("screen.refresh_hz", 60.0, 120.0)],
            id="refresh",
        ),
        pytest.param(_info(instructions="Look again."), [], id="instructions-free"),
        pytest.param(
            {**_info(), "screen": {**_info()["screen"], "distance_cm": 60.0}}, [], id="distance"
        ),
    ],
)
def test_resume_changes_split_refused_and_allowed(new: dict, refused: list) -> None:
    got, allowed = resume_changes(_info(), new, fixed=FIXED, free=FREE)
    assert got == refused
    if not refused and new["config"] != _info()["config"]:
        assert allowed == [("config.task.instructions", "Look.", "Look again.")]


def test_data_root_change_is_allowed_and_recorded() -> None:
    new = _info()
    new["config"]["lab"]["data"]["root"] = "/e"
    refused, allowed = resume_changes(_info(), new, fixed=FIXED, free=FREE)
    assert refused == [] and allowed == [("config.lab.data.root", "/d", "/e")]


def test_a_key_the_old_snapshot_lacks_is_not_refused() -> None:
    old = _info()
    del old["stimuli"]  # a session.json written before the stimuli were recorded
    assert resume_changes(old, _info(), fixed=FIXED, free=FREE)[0] == []


def _session(folder: Path, info: dict, **kwargs: object) -> Session:
    return Session(
        folder,
        trial_columns=("trial_id",),
        frame_columns=("trial_id",),
        info=info,
        fixed_on_resume=FIXED,
        free_on_resume=FREE,
        **kwargs,  # type: ignore[arg-type]
    )


def test_session_refuses_a_schedule_change_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with _session(folder, _info()) as ses:
        ses.write_trial({"trial_id": 1}, [])
        raise SessionAborted
    before = (folder / "session.json").read_bytes()
    with pytest.raises(SessionError, match=r"config\.task\.repetitions: 1 -> 2"):
        _session(folder, _info(repetitions=2), resume=True)
    assert (folder / "session.json").read_bytes() == before  # nothing written


def test_session_records_each_resume_configuration(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with _session(folder, _info()):
        raise SessionAborted
    with _session(folder, _info(instructions="Look again."), resume=True):
        raise SessionAborted
    with _session(folder, _info(instructions="Once more."), resume=True):
        pass
    info = json.loads((folder / "session.json").read_text())
    assert info["config"]["task"]["instructions"] == "Look."  # the first snapshot stays
    assert [r["config"]["task"]["instructions"] for r in info["resumes"]] == [
        "Look again.",
        "Once more.",
    ]
    assert info["resumes"][1]["config_changes"] == [
        {"key": "config.task.instructions", "old": "Look.", "new": "Once more."}
    ]


@pytest.mark.window
def test_free_viewing_resume_refuses_more_repetitions_and_allows_new_instructions(
    fast_config: Callable[..., ExperimentConfig],
    tiny_stimulus_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "config.task.instructions" in RESUME_FREE and "config.task" in RESUME_FIXED
    config = fast_config(tiny_stimulus_set, seed=7)
    original = Session.write_trial

    def write_then_escape(self: Session, row: object, frames: object) -> None:
        original(self, row, frames)  # type: ignore[arg-type]
        raise SessionAborted

    with monkeypatch.context() as patch:
        patch.setattr(Session, "write_trial", write_then_escape)
        folder = run(config, participant="01", data_root=tmp_path, windowed=True)
    more = dataclasses.replace(config, task=dataclasses.replace(config.task, repetitions=2))
    with pytest.raises(SessionError, match=r"config\.task\.repetitions: 1 -> 2"):
        run(more, participant="01", data_root=tmp_path, windowed=True, resume=True)
    assert json.loads((folder / "session.json").read_text())["status"] == "aborted"

    reworded = dataclasses.replace(
        config, task=dataclasses.replace(config.task, instructions="New words.")
    )
    run(reworded, participant="01", data_root=tmp_path, windowed=True, resume=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["config"]["task"]["instructions"] == config.task.instructions
    assert info["resumes"][0]["config"]["task"]["instructions"] == "New words."
    assert info["resumes"][0]["config_changes"] == [
        {"key": "config.task.instructions", "old": config.task.instructions, "new": "New words."}
    ]
