"""The session lock (``session.lock``) and the stimulus checksums' comparison, without a window."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.runtime.lock import LOCK_NAME, FolderLock, LockHeld
from tasks.runtime.session import (
    Session,
    SessionAborted,
    SessionLockedError,
    SessionPaused,
)
from tasks.runtime.stimulus_check import StimulusCheckError, compare_checksums

COLS = ("trial_id", "image_id", "onset_s")


def _open(folder: Path, **kwargs: object) -> Session:
    return Session(
        folder, trial_columns=COLS, frame_columns=("trial_id",), info={"seed": 5}, **kwargs
    )  # type: ignore[arg-type]


def _write_lock(folder: Path, *, host: str, pid: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_NAME).write_text(
        json.dumps({"host": host, "pid": pid, "since": "2024-01-01T09:00:00+00:00"})
    )


def _dead_pid() -> int:
    """The pid of a process of this host that has ended (and been reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


@pytest.mark.parametrize(
    "end",
    [None, SessionAborted("Escape"), SessionPaused("link lost"), ZeroDivisionError("bug")],
    ids=["completed", "aborted", "paused", "crashed"],
)
def test_lock_is_held_while_open_and_removed_whatever_the_status(
    tmp_path: Path, end: BaseException | None
) -> None:
    """Catches a lock left behind by a clean exit (each status), or none taken while open."""
    folder = tmp_path / "s"
    crash = isinstance(end, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError) if crash else contextlib.nullcontext(), _open(folder):
        lock = json.loads((folder / LOCK_NAME).read_text())
        assert (lock["host"], lock["pid"]) == (socket.gethostname(), os.getpid())
        if end is not None:
            raise end
    assert not (folder / LOCK_NAME).exists()


def test_a_live_holder_of_this_station_is_refused_even_with_break_lock(tmp_path: Path) -> None:
    """Catches a second writer let into a session a live process of this host holds (the
    test process itself), and a refusal that does not name the holder."""
    folder = tmp_path / "s"
    with _open(folder):
        for resume in (False, True):
            with pytest.raises(SessionLockedError, match=r"another process on this station \("
                               rf"host '{socket.gethostname()}', pid \d+, since "):  # fmt: skip
                _open(folder, resume=resume, break_lock=True)
    assert not (folder / LOCK_NAME).exists()  # the refused openings did not remove it


def test_a_stale_lock_of_this_station_is_taken_over_and_recorded(tmp_path: Path) -> None:
    """A lock whose process (of this host) has ended, e.g. killed: a resume takes it over and
    records it. Catches a killed session that cannot be resumed, and a silent takeover."""
    folder = tmp_path / "s"
    with pytest.raises(RuntimeError), _open(folder) as ses:
        ses.write_trial({"trial_id": 1, "image_id": "a", "onset_s": 1}, [])
        raise RuntimeError("killed")
    pid = _dead_pid()
    _write_lock(folder, host=socket.gethostname(), pid=pid)
    with _open(folder, resume=True):
        pass
    taken = json.loads((folder / "session.json").read_text())["resumes"][0]["lock_taken_over"]
    assert taken["pid"] == pid and taken["why"].startswith("stale")
    assert not (folder / LOCK_NAME).exists()


def test_another_stations_lock_needs_break_lock(tmp_path: Path) -> None:
    """A lock of another host (a data root on a network share): its pid means nothing here.
    Catches a foreign lock judged dead by a local pid check, or broken without being asked."""
    folder = tmp_path / "s"
    with pytest.raises(RuntimeError), _open(folder):
        raise RuntimeError("power loss")
    _write_lock(folder, host="station9", pid=_dead_pid())
    with pytest.raises(SessionLockedError, match=r"open on another station \(host 'station9'.*"
                       r"--resume --break-lock"):  # fmt: skip
        _open(folder, resume=True)
    with pytest.raises(SessionLockedError, match="station9"):  # a new session names it too
        _open(folder)
    with _open(folder, resume=True, break_lock=True):
        pass
    taken = json.loads((folder / "session.json").read_text())["resumes"][0]["lock_taken_over"]
    assert taken["host"] == "station9" and "--break-lock" in taken["why"]


def test_an_unreadable_lock_is_refused_until_broken(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / LOCK_NAME).write_text("")  # a holder that died while writing it
    with pytest.raises(LockHeld, match="unreadable"):
        FolderLock.acquire(folder)
    lock = FolderLock.acquire(folder, break_foreign=True)
    assert lock.taken_over is None
    lock.release()
    assert not (folder / LOCK_NAME).exists()


_SUMS = {
    "images": {"a": "1" * 64, "b": "2" * 64},
    "maps": {"simulation/truth": {"a": "3" * 64}},
    "masks": {},
    "rendered": {},
}


def test_checksums_allow_added_entries_and_refuse_changed_or_missing_ones() -> None:
    """Catches a resume refused for maps added later (``human/*``), and one allowed after an
    image or a shown map changed or went."""
    grown = {**_SUMS, "maps": {**_SUMS["maps"], "human/shared": {"a": "9" * 64}}}
    assert "matches" in compare_checksums(_SUMS, grown, path="set.h5")["stimulus_check"]
    changed = {**_SUMS, "images": {"a": "1" * 64, "b": "4" * 64}, "maps": {}}
    with pytest.raises(
        StimulusCheckError,
        match=r"set\.h5 differs .*image of 'b' changed \(sha256 222222222222\.\.\. at the start, "
        r"444444444444\.\.\. now\); maps 'simulation/truth' is missing",
    ):
        compare_checksums(_SUMS, changed, path="set.h5")
    assert "earlier version" in compare_checksums(None, _SUMS, path="x")["stimulus_check"]
