"""Free-viewing sessions through EyeLinkTracker on pylink's dummy connection: EDF names, resume."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from runtime_helpers import pressing_keys

from tasks.config import ExperimentConfig
from tasks.free_viewing import run
from tasks.runtime import check_eye_file_names
from tasks.runtime.session import Session, SessionAborted, SessionError

pytestmark = pytest.mark.window


@pytest.fixture
def dummy_config(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path
) -> ExperimentConfig:
    """configs/free_viewing.toml (EyeLink) on pylink's dummy connection, fast."""
    pytest.importorskip("pylink")
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to press SPACE on the instructions screen")
    config = fast_config(tiny_stimulus_set, name="free_viewing.toml")
    assert config.lab.tracker.kind == "eyelink"
    tracker = dataclasses.replace(config.lab.tracker, dummy=True)
    return dataclasses.replace(config, lab=dataclasses.replace(config.lab, tracker=tracker))


def _abort_after_first_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """Escape right after trial 1 is written (as the experimenter pressing Esc)."""
    original = Session.write_trial

    def write_then_escape(self: Session, row: object, frames: object) -> None:
        original(self, row, frames)  # type: ignore[arg-type]
        raise SessionAborted

    monkeypatch.setattr(Session, "write_trial", write_then_escape)


def test_label_too_long_for_a_resumed_edf_name_is_refused_before_anything_is_written(
    dummy_config: ExperimentConfig, tmp_path: Path
) -> None:
    # S0123s1 fits EyeLink's 8 characters, but its first resume S0123s1r1 does not
    with (
        pressing_keys("space"),  # (only needed if the session wrongly starts)
        pytest.raises(SessionError, match=r"'S0123'.*at most 8 characters.*'S0123s1r1' \(9\)"),
    ):
        run(dummy_config, participant="S0123", session="1", data_root=tmp_path, windowed=True)
    assert not (tmp_path / "sub-S0123").exists()


def test_longest_allowed_label_runs_and_resumes_on_the_dummy_tracker(
    dummy_config: ExperimentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch, pressing_keys("space"):
        _abort_after_first_trial(patch)
        folder = run(dummy_config, participant="S012", data_root=tmp_path, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "aborted"
    with pressing_keys("space"):
        run(dummy_config, participant="S012", data_root=tmp_path, windowed=True, resume=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed", info.get("error")
    assert len(info["resumes"]) == 1
    # the resumed run opened S012s1r1.EDF (8 characters) on the dummy Host PC
    assert info["tracker"]["kind"] == "eyelink" and info["tracker"]["dummy"] is True
    trials = pd.read_csv(folder / "trials.tsv", sep="\t", keep_default_na=False)
    assert list(trials["trial_id"]) == [1, 2, 3]


def test_dummy_mode_trial_log_names_no_edf(dummy_config: ExperimentConfig, tmp_path: Path) -> None:
    with pressing_keys("space"):
        folder = run(dummy_config, participant="05", data_root=tmp_path, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["eye_files"] == []
    assert not any((folder / "eye").iterdir())
    assert "dummy mode" in info["eye_data"] and "no EDF file" in info["eye_data"]
    trials = pd.read_csv(folder / "trials.tsv", sep="\t", keep_default_na=False)
    assert len(trials) == 3
    # missing, as the trial log writes it ("" today, n/a in the one TSV format)
    assert set(trials["eye_file"].astype(str)) <= {"", "n/a"}
    for name in trials["eye_file"].astype(str):
        assert name in ("", "n/a") or (folder / name).exists()


@pytest.mark.parametrize(
    ("participant", "session", "run_index", "match"),
    [
        pytest.param("S0123", "1", 0, r"'S0123s1r1' \(9\).*at most 4 characters", id="new"),
        pytest.param("P1234567", "1", 0, r"'P1234567s1r1' \(12\)", id="first-run-too"),
        pytest.param("S012", "1", 10, r"this resume would need 'S012s1r10' \(9\)", id="r10"),
    ],
)
def test_eye_file_names_that_do_not_fit_are_refused(
    participant: str, session: str, run_index: int, match: str
) -> None:
    with pytest.raises(SessionError, match=match):
        check_eye_file_names(participant, session, run_index)


@pytest.mark.parametrize(
    ("participant", "session", "run_index"),
    [("S012", "1", 0), ("S012", "1", 9), ("01", "12", 0), ("01", "1", 99)],
)
def test_eye_file_names_that_fit_pass(participant: str, session: str, run_index: int) -> None:
    check_eye_file_names(participant, session, run_index)
