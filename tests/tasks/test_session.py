"""The session folder contract: files, flushing, status, refusal to overwrite, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.runtime import eye_file_stem, shuffled_schedule
from tasks.runtime.session import (
    Session,
    SessionAborted,
    SessionError,
    SessionExistsError,
    TsvAppender,
    completed_trial_ids,
    session_folder,
)

COLS = ("trial_id", "image_id", "onset_s")
FRAMES = ("trial_id", "phase")


def _open(folder: Path, **kwargs: object) -> Session:
    return Session(
        folder, trial_columns=COLS, frame_columns=FRAMES, info={"seed": 5, "schedule": []}, **kwargs
    )  # type: ignore[arg-type]


def test_folder_layout() -> None:
    assert session_folder(Path("/d"), "01", "2", "free-viewing") == Path(
        "/d/sub-01/ses-2/free-viewing"
    )


@pytest.mark.parametrize("label", ["", "0 1", "a_b", "p-1", "../x"])
def test_labels_must_be_alphanumeric(label: str) -> None:
    with pytest.raises(SessionError, match="letters and digits only"):
        session_folder(Path("/d"), label, "1", "t")


def test_new_session_writes_json_and_rows_immediately(tmp_path: Path) -> None:
    folder = tmp_path / "sub-01" / "ses-1" / "t"
    with _open(folder) as ses:
        info = json.loads((folder / "session.json").read_text())
        assert info["status"] == "running"
        assert info["seed"] == 5
        assert "python" in info["software"]
        ses.write_trial(
            {"trial_id": 1, "image_id": "a", "onset_s": 0.5}, [{"trial_id": 1, "phase": "image"}]
        )
        # on disk before the next trial, without closing anything
        lines = (folder / "trials.tsv").read_text().splitlines()
        assert lines == ["trial_id\timage_id\tonset_s", "1\ta\t0.5"]
        assert (folder / "frames.tsv").read_text().splitlines()[1] == "1\timage"
        assert (folder / "eye").is_dir()
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["n_trials_done"] == 1
    assert info["end_time"] is not None


def test_escape_is_saved_as_aborted_and_swallowed(tmp_path: Path) -> None:
    with _open(tmp_path / "s") as ses:
        ses.write_trial({"trial_id": 1, "image_id": "a", "onset_s": 1}, [])
        raise SessionAborted("Escape pressed")
    info = json.loads((tmp_path / "s" / "session.json").read_text())
    assert info["status"] == "aborted"
    assert completed_trial_ids(tmp_path / "s" / "trials.tsv") == [1]


def test_crash_is_recorded_and_raised(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), _open(tmp_path / "s"):
        1 / 0  # noqa: B018
    info = json.loads((tmp_path / "s" / "session.json").read_text())
    assert info["status"] == "crashed"
    assert "ZeroDivisionError" in info["error"]


def test_existing_session_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with _open(folder) as ses:
        ses.write_trial({"trial_id": 1, "image_id": "a", "onset_s": 1}, [])
    before = (folder / "trials.tsv").read_bytes()
    with pytest.raises(SessionExistsError, match=r"status completed, 1 finished trials.*--resume"):
        _open(folder)
    assert (folder / "trials.tsv").read_bytes() == before


def test_resume_appends_and_records_the_resume(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with pytest.raises(RuntimeError), _open(folder) as ses:
        ses.write_trial({"trial_id": 1, "image_id": "a", "onset_s": 1}, [])
        raise RuntimeError("tracker fault")
    with _open(folder, resume=True) as ses:
        assert ses.done == [1]
        assert ses.run_index == 1
        ses.write_trial({"trial_id": 2, "image_id": "b", "onset_s": 2}, [])
    assert completed_trial_ids(folder / "trials.tsv") == [1, 2]
    info = json.loads((folder / "session.json").read_text())
    assert info["resumes"][0]["previous_status"] == "crashed"
    assert info["status"] == "completed"
    with pytest.raises(SessionError, match="already completed"):
        _open(folder, resume=True)


def test_resume_without_session(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="Nothing to resume"):
        _open(tmp_path / "none", resume=True)


def test_partial_last_line_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "trials.tsv"
    path.write_text("trial_id\timage_id\tonset_s\n1\ta\t0.5\n2\tb", encoding="utf-8")
    with pytest.warns(UserWarning, match="cut short"):
        appender = TsvAppender(path, COLS)
    appender.append({"trial_id": 2, "image_id": "b", "onset_s": 0.7})
    appender.close()
    assert path.read_text().splitlines() == [
        "trial_id\timage_id\tonset_s",
        "1\ta\t0.5",
        "2\tb\t0.7",
    ]
    (aside,) = tmp_path.glob("trials.tsv.partial-*")
    assert aside.read_text() == "2\tb"


def test_appender_checks_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    TsvAppender(path, COLS).close()
    with pytest.raises(SessionError, match="differ"):
        TsvAppender(path, ("trial_id", "x"))
    appender = TsvAppender(path, COLS)
    with pytest.raises(ValueError, match=r"missing \['onset_s'\]"):
        appender.append({"trial_id": 1, "image_id": "a"})


def test_schedule_is_seeded_and_complete() -> None:
    items = [{"image_id": f"i{k}"} for k in range(5)]
    first = shuffled_schedule(items, repetitions=2, seed=3)
    assert first == shuffled_schedule(items, repetitions=2, seed=3)
    assert first != shuffled_schedule(items, repetitions=2, seed=4)
    assert [t["trial_id"] for t in first] == list(range(1, 11))
    for rep in (1, 2):
        assert sorted(t["image_id"] for t in first if t["repetition"] == rep) == [
            f"i{k}" for k in range(5)
        ]


def test_eye_file_stem_fits_edf_limit() -> None:
    assert eye_file_stem("01", "1", 0) == "01s1"
    assert eye_file_stem("P07", "2", 1) == "P07s2r1"
