"""A lock file that lets one process at a time write a session folder, also across stations."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOCK_NAME", "FolderLock", "LockHeld", "LockHolder", "process_start"]

#: The lock file's name in the session folder.
LOCK_NAME = "session.lock"


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat``).

    None where ``/proc`` cannot tell (another system, no such process, a zombie):
    it tells a process from a later one that reuses its pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) ": state is field 3
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as its file says.

    Attributes
    ----------
    host : str
        The holder's host name (``socket.gethostname()``).
    pid : int
        Its process id on that host.
    since : str
        When it took the lock (ISO 8601 with time zone).
    process_start : str or None
        Its start time on its host (:func:`process_start`), to tell pid reuse.
    heartbeat : str or None
        When it last showed a sign of life (the lock file's modification time,
        touched after each trial).
    """

    host: str
    pid: int
    since: str
    process_start: str | None = None
    heartbeat: str | None = None

    def describe(self) -> str:
        """``host <h>, pid <n>, since <time>, last trial written <time>``."""
        text = f"host {self.host!r}, pid {self.pid}, since {self.since}"
        return text + (f", last sign of life {self.heartbeat}" if self.heartbeat else "")

    def on_this_host(self) -> bool:
        """Whether the holder ran on the host of this process."""
        return self.host == socket.gethostname()

    def is_dead(self) -> bool:
        """True only when the holder ran on this host and its process is gone.

        A holder on another station (a data root on a network share) cannot be
        checked from here: False.
        """
        if not self.on_this_host():
            return False
        if not _running(self.pid):
            return True
        started = process_start(self.pid)
        if started is None:
            # a zombie, or /proc cannot tell: alive only if nothing says otherwise
            return Path("/proc").is_dir()
        return self.process_start is not None and started != self.process_start


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (it may be someone else's).

    On Windows ``os.kill(pid, 0)`` would end the process (TerminateProcess): ask the
    kernel for the process's exit code instead.
    """
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class LockHeld(Exception):  # noqa: N818 - a state, reported by the caller as its own error
    """The lock is held by someone else (``holder``; None when its file is unreadable)."""

    def __init__(self, path: Path, holder: LockHolder | None) -> None:
        self.path, self.holder = path, holder
        who = holder.describe() if holder is not None else "an unreadable lock file"
        super().__init__(f"{path} is held by {who}")


def _read(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        heartbeat = _dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        return LockHolder(
            host=str(data["host"]),
            pid=int(data["pid"]),
            since=str(data["since"]),
            process_start=data.get("process_start"),
            heartbeat=heartbeat.isoformat(timespec="seconds"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class FolderLock:
    """The lock file ``<folder>/session.lock`` of this process.

    Use :meth:`acquire`; :meth:`touch` after each trial shows the holder is
    alive; :meth:`release` removes the file (if it is still this process's).

    Attributes
    ----------
    path : Path
        The lock file.
    holder : LockHolder
        This process, as written in the file.
    taken_over : LockHolder or None
        The holder of a lock this process took over (stale, or broken on request).
    """

    def __init__(self, path: Path, holder: LockHolder, taken_over: LockHolder | None) -> None:
        self.path, self.holder, self.taken_over = path, holder, taken_over
        self._released = False

    @classmethod
    def acquire(cls, folder: Path, *, break_foreign: bool = False) -> FolderLock:
        """Take the lock of ``folder`` (which must exist).

        A lock left by a process of this host that has ended is stale and taken
        over. A lock of another host (or an unreadable one) is taken over only
        with ``break_foreign``; a live process of this host always keeps its lock.

        Raises
        ------
        LockHeld
            A live process of this host holds the lock; or another host does (or
            the file is unreadable) and ``break_foreign`` was not given.
        """
        path = Path(folder) / LOCK_NAME
        me = LockHolder(
            host=socket.gethostname(),
            pid=os.getpid(),
            since=_now(),
            process_start=process_start(os.getpid()),
        )
        text = json.dumps(
            {"host": me.host, "pid": me.pid, "since": me.since, "process_start": me.process_start}
        )
        for _ in range(3):
            if _create(path, text):
                return cls(path, me, None)
            holder = _read(path)
            if holder is not None and holder.on_this_host() and not holder.is_dead():
                raise LockHeld(path, holder)
            if (holder is None or not holder.on_this_host()) and not break_foreign:
                raise LockHeld(path, holder)
            taken = _take_over(path, holder)
            if taken and _create(path, text):
                return cls(path, me, holder)
        raise LockHeld(path, _read(path))

    def touch(self) -> None:
        """Mark the holder alive now (the file's modification time); never raises."""
        with contextlib.suppress(OSError):
            os.utime(self.path)

    def release(self) -> None:
        """Remove the lock file if it still names this process; never raises."""
        if self._released:
            return
        self._released = True
        current = _read(self.path)
        if current is not None and (current.host, current.pid, current.since) == (
            self.holder.host,
            self.holder.pid,
            self.holder.since,
        ):
            with contextlib.suppress(OSError):
                self.path.unlink()


def _create(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` if it does not exist; False if it does.

    The text goes to a file of its own first and is hard-linked into place, so the
    lock never exists half written (a link fails when the name exists, also on
    NFS); where links are not allowed, ``O_CREAT | O_EXCL``.
    """
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    try:
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:
            pass
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        return True
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _take_over(path: Path, holder: LockHolder | None) -> bool:
    """Move a stale lock aside, if it is still the one judged stale; False if it changed.

    The rename is atomic: of two processes taking over the same lock only one
    moves it, and the other then finds the new holder's lock.
    """
    aside = path.with_name(f".{path.name}.old.{socket.gethostname()}.{os.getpid()}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return True  # gone meanwhile: try to create it
    moved = _read(aside)
    same = (moved is None and holder is None) or (
        moved is not None
        and holder is not None
        and (moved.host, moved.pid, moved.since) == (holder.host, holder.pid, holder.since)
    )
    if not same:  # someone else took it over in between: put theirs back
        with contextlib.suppress(OSError):
            os.link(aside, path)
    with contextlib.suppress(OSError):
        aside.unlink()
    return same
