"""The session folder: session.json, trials.tsv and frames.tsv, crash-safe and never overwritten."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from selectivity.errors import UserError
from selectivity.tsv import TsvColumnsError, TsvCutLineWarning, TsvRowWriter, read_table

from .lock import LOCK_NAME, FolderLock, LockHeld

__all__ = [
    "Session",
    "SessionAborted",
    "SessionError",
    "SessionExistsError",
    "SessionLockedError",
    "SessionPaused",
    "TsvAppender",
    "resume_changes",
    "session_folder",
]

_ID_PATTERN = re.compile(r"^[A-Za-z0-9]+$")


class SessionError(UserError, RuntimeError):
    """The session cannot start or go on as asked."""


class SessionExistsError(SessionError):
    """The participant/session folder already holds data."""


class SessionLockedError(SessionError):
    """Another process (on this station or another one) has the session open."""


class SessionAborted(Exception):  # noqa: N818 - it is a normal way out, not an error
    """The experimenter pressed Escape: end the session cleanly, keeping everything saved."""


class SessionPaused(SessionAborted):
    """The session cannot go on now (the tracker's link was lost): end it cleanly as
    ``paused``, everything kept, to be continued with ``--resume``."""


def session_folder(data_root: Path, participant: str, session: str, task: str) -> Path:
    """``<data root>/sub-<participant>/ses-<session>/<task>/`` (DESIGN.md).

    Raises
    ------
    SessionError
        When ``participant`` or ``session`` is not made of letters and digits only
        (BIDS labels; no spaces, dashes or underscores).
    """
    for name, value in (("participant", participant), ("session", session)):
        if not _ID_PATTERN.match(str(value)):
            raise SessionError(
                f"Invalid {name} label {value!r}: use letters and digits only (e.g. 01, P07)."
            )
    return Path(data_root) / f"sub-{participant}" / f"ses-{session}" / task


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    if out.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return commit + ("-dirty" if dirty.stdout.strip() else "")


def software_versions() -> dict[str, str]:
    """Versions of Python, the platform and the libraries a session depends on."""
    from importlib import metadata

    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("selectivity", "psychopy", "sr-research-pylink", "numpy", "h5py", "pandas"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


class TsvAppender(TsvRowWriter):
    """:class:`selectivity.tsv.TsvRowWriter` for the session's files: each row fsync'ed.

    The header is written when the file is new; an existing file must have the
    same columns (else :class:`SessionError`). A last line cut short by a crash
    is moved aside to ``<name>.partial-<time>`` (it was never a finished row)
    before appending.

    Parameters
    ----------
    path : Path
        The TSV file.
    columns : sequence of str
        Column names, in order.
    """

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        try:
            super().__init__(path, columns)
        except TsvColumnsError as error:
            raise SessionError(str(error)) from None


def completed_trial_ids(path: Path) -> list[int]:
    """The ``trial_id`` column of an existing ``trials.tsv``, in file order.

    A last line cut short by a crash is not a finished trial and is left out
    (:class:`TsvAppender` reports it when the session goes on).
    """
    if not path.exists():
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TsvCutLineWarning)
            table = read_table(path, as_text=True, finished_rows_only=True)
    except ValueError as error:
        raise SessionError(f"Cannot read the finished trials: {error}") from None
    if "trial_id" not in table.columns:
        raise SessionError(f"{path}: no trial_id column in the header {list(table.columns)}")
    ids = []
    for number, value in enumerate(table["trial_id"], start=2):
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise SessionError(f"{path}, line {number}: unreadable trial_id {value!r}") from None
    return ids


def _finished_rows(path: Path) -> int:
    """Rows of a session TSV ended by a line end (a cut last line is no row)."""
    if not path.exists():
        return 0
    with open(path, "rb") as f:
        return max(0, f.read().count(b"\n") - 1)


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    """Leaves of nested mappings as ``{"a.b.c": value}`` (lists are leaves)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _under(key: str, paths: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in paths)


def resume_changes(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    fixed: Sequence[str],
    free: Sequence[str] = (),
) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
    """What a resume changes in a session snapshot: the refused changes, and the allowed ones.

    Parameters
    ----------
    old, new : mapping
        The snapshot in ``session.json`` and the one this run would write (JSON values).
    fixed : sequence of str
        Dotted paths (``"config.task"``) under which a change alters the schedule.
    free : sequence of str
        Dotted paths inside ``fixed`` that may change all the same.

    Returns
    -------
    refused, allowed : list of (key, old value, new value)
        Changed leaves under ``fixed`` (not under ``free``), and every other changed
        leaf under ``config`` and ``config_file``. A leaf present on one side only (a
        session written by another version of the software) counts as allowed.
    """
    flat_old = _flatten(json.loads(json.dumps(dict(old), default=str)), "")
    flat_new = _flatten(json.loads(json.dumps(dict(new), default=str)), "")
    refused: list[tuple[str, Any, Any]] = []
    allowed: list[tuple[str, Any, Any]] = []
    for key in sorted(set(flat_old) | set(flat_new)):
        before, after = flat_old.get(key), flat_new.get(key)
        if before == after:
            continue
        in_both = key in flat_old and key in flat_new
        if in_both and _under(key, fixed) and not _under(key, free):
            refused.append((key, before, after))
        elif _under(key, ["config", "config_file"]):
            allowed.append((key, before, after))
    return refused, allowed


def _lock_message(folder: Path, held: LockHeld) -> str:
    """Who holds the session open, and what the experimenter can do."""
    holder = held.holder
    if holder is None:
        return (
            f"{folder} is locked by another process, but its lock file {held.path} cannot be "
            "read. If no station is running this session, continue it with "
            "--resume --break-lock."
        )
    if holder.on_this_host():
        return (
            f"{folder} is open in another process on this station ({holder.describe()}): "
            "one process at a time writes a session. Wait for that session to end, or end it "
            "(Escape in its window), then continue with --resume."
        )
    return (
        f"{folder} is open on another station ({holder.describe()}); this station cannot tell "
        "whether that process still runs. If it does, wait for it to end. If that station "
        "stopped (a crash or a power loss) and no one is running this session, continue it "
        "here with --resume --break-lock."
    )


def _holder_record(held: Any, why: str) -> dict[str, Any]:
    return {
        "host": held.host,
        "pid": held.pid,
        "since": held.since,
        "last_sign_of_life": held.heartbeat,
        "why": why,
        "time": _now(),
    }


class Session:
    """A session folder, opened for a new session or to resume an interrupted one.

    Use it as a context manager: leaving the block writes the final status to
    ``session.json`` (``completed``, ``aborted`` after Escape, ``paused`` when the
    tracker's link was lost, or ``crashed`` with the error), and Escape
    (:class:`SessionAborted`) is swallowed after saving. When ``session.json``
    cannot be written at that moment (a full disk) it keeps the status
    ``running``, which a resume treats as interrupted; a line on stderr says so
    and nothing more is raised.

    While open, the session holds the lock file ``session.lock`` in its folder
    (host, pid, start; its time touched after each trial), removed on leaving the
    block whatever the status. A second process opening the session is refused
    with :class:`SessionLockedError` naming the holder. A lock left by a process
    of this host that has ended (killed, power loss) is stale and taken over; a
    lock of another station (a data root on a network share) is taken over only
    with ``break_lock``. A takeover is recorded in ``session.json``
    (``lock_taken_over`` of the run).

    Parameters
    ----------
    folder : Path
        From :func:`session_folder`.
    trial_columns, frame_columns : sequence of str
        Columns of ``trials.tsv`` and ``frames.tsv``.
    info : dict
        Snapshot for ``session.json``: configuration, screen, seed, schedule...
    resume : bool
        Continue the session in ``folder`` instead of starting a new one.
    check_run : callable, optional
        Called with the :attr:`run_index` this opening will have (0 for a new
        session), before anything is written; raises :class:`SessionError` to refuse.
    check_resume : callable, optional
        Called on resume with the recorded ``session.json`` (a dict) before
        anything is written; raises :class:`SessionError` to refuse, or returns
        entries to record in this run's ``resumes`` entry (a dict, or None).
    fixed_on_resume, free_on_resume : sequence of str
        Dotted paths of ``info`` that define the schedule (a resume that changes
        them is refused, naming key, old and new value), and paths inside them that
        may change (see :func:`resume_changes`). On resume the first snapshot stays
        at the top of ``session.json``; each entry of ``resumes`` records the
        configuration that run used and what it changed.
    break_lock : bool
        Take over a lock held by another station (the experimenter knows it has
        stopped). A live process of this station keeps its lock all the same.

    Raises
    ------
    SessionLockedError
        Another process holds the session open (message: host, pid, since when, and
        what to do).
    SessionExistsError, SessionError
        See above.
    """

    def __init__(
        self,
        folder: Path,
        *,
        trial_columns: Sequence[str],
        frame_columns: Sequence[str],
        info: Mapping[str, Any],
        resume: bool = False,
        check_run: Callable[[int], None] | None = None,
        check_resume: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None = None,
        fixed_on_resume: Sequence[str] = (),
        free_on_resume: Sequence[str] = (),
        break_lock: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.resume = resume
        self.json_path = self.folder / "session.json"
        self.eye_dir = self.folder / "eye"
        #: The tracker file of the current run, relative to the folder (set by the runtime);
        #: None when the tracker writes none (no tracker, pylink dummy mode).
        self.eye_file: str | None = None
        #: Cut last lines of trials.tsv / frames.tsv moved aside on opening (see TsvRowWriter.cut).
        self.cut_lines: list[dict[str, Any]] = []
        if resume:
            if not self.json_path.exists():
                raise SessionError(
                    f"Nothing to resume: {self.json_path} does not exist. "
                    "Start the session without --resume."
                )
            self._lock = self._acquire(break_lock)
        else:
            if self._holds_data():
                self._refuse_existing()
            if check_run is not None:
                check_run(0)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = self._acquire(break_lock)
            if self._holds_data():  # another process wrote it while this one looked
                self._lock.release()
                self._refuse_existing()
        try:
            self._open(
                info,
                trial_columns=trial_columns,
                frame_columns=frame_columns,
                check_run=check_run,
                check_resume=check_resume,
                fixed=fixed_on_resume,
                free=free_on_resume,
            )
        except BaseException:
            self._lock.release()
            raise

    def _holds_data(self) -> bool:
        if not self.folder.exists():
            return False
        return any(
            not p.name.startswith((LOCK_NAME, f".{LOCK_NAME}")) for p in self.folder.iterdir()
        )

    def _refuse_existing(self) -> None:
        try:
            FolderLock.acquire(self.folder, break_foreign=False).release()
        except LockHeld as held:
            raise SessionLockedError(_lock_message(self.folder, held)) from None
        status = "unknown"
        if self.json_path.exists():
            try:
                status = json.loads(self.json_path.read_text(encoding="utf-8"))["status"]
            except (ValueError, KeyError):
                status = "unreadable"
        n_done = len(completed_trial_ids(self.folder / "trials.tsv"))
        raise SessionExistsError(
            f"{self.folder} already holds a session (status {status}, {n_done} finished "
            "trials). Recorded data is never overwritten: add --resume to continue it, "
            "or choose another --session."
        )

    def _acquire(self, break_lock: bool) -> FolderLock:
        try:
            return FolderLock.acquire(self.folder, break_foreign=break_lock)
        except LockHeld as held:
            raise SessionLockedError(_lock_message(self.folder, held)) from None

    def _taken_over(self) -> dict[str, Any] | None:
        held = self._lock.taken_over
        if held is None:
            return None
        if held.on_this_host():
            why = "stale: its process on this station had ended"
        else:
            why = "another station's lock, broken on request (--break-lock)"
        record = _holder_record(held, why)
        print(
            f"selectivity: took over the lock of {self.folder} ({held.describe()}): {why}.",
            file=sys.stderr,
        )
        return record

    def _open(
        self,
        info: Mapping[str, Any],
        *,
        trial_columns: Sequence[str],
        frame_columns: Sequence[str],
        check_run: Callable[[int], None] | None,
        check_resume: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None,
        fixed: Sequence[str],
        free: Sequence[str],
    ) -> None:
        """Read or start ``session.json`` and open the TSV files (the lock is held)."""
        taken_over = self._taken_over()
        if self.resume:
            self.info = json.loads(self.json_path.read_text(encoding="utf-8"))
            if self.info.get("status") == "completed":
                raise SessionError(f"{self.folder}: this session is already completed.")
            if check_run is not None:
                check_run(len(self.info.get("resumes", [])) + 1)
            refused, allowed = resume_changes(self.info, info, fixed=fixed, free=free)
            if refused:
                listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in refused)
                raise SessionError(
                    f"Cannot resume {self.folder}: the configuration changed what the session "
                    f"shows ({listed}). Restore the configuration it started with "
                    "(session.json, 'config'), or start a new --session."
                )
            extra = dict(check_resume(self.info) or {}) if check_resume is not None else {}
            self.done = completed_trial_ids(self.folder / "trials.tsv")
            entry = {
                "time": _now(),
                "after_trials": len(self.done),
                # frames.tsv rows before this run: those of an unfinished trial among them
                # belong to an attempt that this run repeats (analysis.sessions.read_frames)
                "frames_rows": _finished_rows(self.folder / "frames.tsv"),
                "previous_status": self.info["status"],
                "config_file": info.get("config_file"),
                "config": info.get("config"),
                "config_changes": [{"key": k, "old": a, "new": b} for k, a, b in allowed],
                **extra,
            }
            if taken_over is not None:
                entry["lock_taken_over"] = taken_over
            self.info.setdefault("resumes", []).append(entry)
        else:
            self.done = []
            self.info = {
                **dict(info),
                "status": "running",
                "start_time": _now(),
                "end_time": None,
                "software": software_versions(),
                "git_commit": _git_commit(),
                "eye_files": [],
                "calibrations": [],
            }
            if taken_over is not None:
                self.info["lock_taken_over"] = taken_over
        self.eye_dir.mkdir(exist_ok=True)
        self.info["status"] = "running"
        self._write_json()
        self.trials = TsvAppender(self.folder / "trials.tsv", trial_columns)
        self.frames = TsvAppender(self.folder / "frames.tsv", frame_columns)
        self.cut_lines = [w.cut for w in (self.trials, self.frames) if w.cut is not None]
        if self.cut_lines:
            for cut in self.cut_lines:
                print(
                    f"selectivity: {cut['file']}, line {cut['line']} was cut short (a crash, "
                    f"a power loss or a full disk): not a finished row, moved to "
                    f"{cut['moved_to']}; that trial runs again.",
                    file=sys.stderr,
                )
            if self.resume:
                self.info["resumes"][-1]["cut_lines"] = self.cut_lines
            else:
                self.info["cut_lines"] = self.cut_lines
            self._write_json()

    @property
    def run_index(self) -> int:
        """0 for the first run of the session, 1 after the first resume, and so on."""
        return len(self.info.get("resumes", []))

    def _write_json(self) -> None:
        tmp = self.json_path.with_suffix(".json.tmp")
        try:
            tmp.write_text(json.dumps(self.info, indent=2, default=str) + "\n", encoding="utf-8")
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.json_path)
        except OSError:
            # session.json keeps its last complete version; the half-written copy goes
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def update(self, **values: Any) -> None:
        """Set top-level entries of ``session.json`` and write it to disk now."""
        self.info.update(values)
        self._write_json()

    def add_calibration(self, result: Mapping[str, Any]) -> None:
        """Record a calibration/validation result in ``session.json``."""
        self.info["calibrations"].append({"time": _now(), **dict(result)})
        self._write_json()

    def add_eye_files(self, paths: Iterable[Path]) -> None:
        """Record the tracker's files (relative to the session folder)."""
        for path in paths:
            rel = str(Path(path).resolve().relative_to(self.folder.resolve()))
            if rel not in self.info["eye_files"]:
                self.info["eye_files"].append(rel)
        self._write_json()

    def write_trial(self, row: Mapping[str, Any], frames: Iterable[Mapping[str, Any]]) -> None:
        """Append a finished trial's frame timing and its row, flushed to disk before returning.

        When a write fails (``OSError``, e.g. a full disk) neither file keeps anything of
        the trial, so that a resume running it again writes it once.
        """
        written = self.frames.append_rows(frames)
        try:
            self.trials.append(row)
        except OSError:
            with contextlib.suppress(OSError):
                self.frames.take_back(written)
            raise
        self.done.append(int(row["trial_id"]))
        self._lock.touch()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            self.trials.close()
            self.frames.close()
            if exc_type is None:
                status = "completed"
            elif issubclass(exc_type, SessionPaused):
                status = "paused"
                self.info["paused_because"] = str(exc)
            elif issubclass(exc_type, (SessionAborted, KeyboardInterrupt)):
                status = "aborted"
                self.info["aborted_because"] = str(exc) or exc_type.__name__
            else:
                status = "crashed"
                self.info["error"] = f"{exc_type.__name__}: {exc}"
            self.info.update(status=status, end_time=_now(), n_trials_done=len(self.done))
            try:
                self._write_json()
            except OSError as error:
                # e.g. a full disk: the status stays "running", which --resume treats as
                # interrupted; the trials are in trials.tsv. Nothing more is raised here, so
                # the error that ended the session is the one reported.
                print(
                    f"selectivity: could not write {self.json_path} ({error}); it still says "
                    f"status 'running' (interrupted): the {len(self.done)} finished trials of "
                    "this run are in trials.tsv, and --resume continues the session.",
                    file=sys.stderr,
                )
        finally:
            self._lock.release()
        return exc_type is not None and issubclass(exc_type, SessionAborted)
