"""Checks, Host PC commands and names for an EyeLink session; needs no pylink."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import shlex
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..screen import Screen

__all__ = [
    "CALIBRATION_RESULTS",
    "MAX_MESSAGE_BYTES",
    "check_edf_stem",
    "check_message",
    "check_options",
    "fetch_command",
    "free_path",
    "host_version",
    "import_pylink",
    "model_name",
    "receive_edf",
    "receive_edf_retrying",
    "setup_commands",
    "transfer_failure_record",
]

#: Longest message EyeLink keeps whole: pylink documents 130 characters for
#: ``sendMessage`` (the C API ``eyemsg_printf`` limit) and cuts longer ones.
MAX_MESSAGE_BYTES = 130
#: ``getCalibrationResult`` codes (pylink documentation) -> result names.
CALIBRATION_RESULTS = {0: "ok", 1: "poor", -1: "failed", 27: "aborted", 1000: "no result"}

_CALIBRATION_TYPES = ("H3", "HV3", "HV5", "HV9", "HV13")
_SAMPLE_RATES = (250, 500, 1000, 2000)
_EYES = ("LEFT", "RIGHT", "BOTH")
_EDF_STEM = re.compile(r"[A-Za-z0-9_]{1,8}")
#: Host software major version -> model, as in SR Research's examples.
_MODELS = {
    1: "EyeLink I",
    2: "EyeLink II",
    3: "EyeLink 1000",
    4: "EyeLink 1000",
    5: "EyeLink 1000 Plus",
    6: "EyeLink Portable Duo",
}


def import_pylink() -> Any:
    """``pylink``, or an ImportError that says how to install it."""
    try:
        import pylink
    except ImportError as err:
        raise ImportError(
            "The EyeLink tracker needs SR Research's pylink: "
            "pip install sr-research-pylink (or selectivity[tasks])."
        ) from err
    return pylink


def _choice(name: str, value: object, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"Invalid value for the {name!r} parameter. Allowed values are {allowed}, "
            f"but got {value!r} instead."
        )


def check_options(
    *, address: str, dummy: bool, sample_rate_hz: int, calibration_type: str, eye: str
) -> None:
    """Raise ValueError naming the first option of an EyeLink tracker that is not allowed."""
    _choice("sample_rate_hz", sample_rate_hz, _SAMPLE_RATES)
    _choice("calibration_type", calibration_type, _CALIBRATION_TYPES)
    _choice("eye", eye, _EYES)
    if not dummy:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ValueError(
                "Invalid value for the 'address' parameter. Allowed values are IPv4 "
                f"addresses such as '100.1.1.1', but got {address!r} instead."
            ) from None


def check_edf_stem(file_stem: object) -> str:
    """``file_stem`` if the Host PC accepts it: 1 to 8 letters, digits or underscores."""
    if not isinstance(file_stem, str) or not _EDF_STEM.fullmatch(file_stem):
        raise ValueError(
            "Invalid value for the 'file_stem' parameter. Allowed values are 1 to 8 "
            "letters, digits or underscores, without extension (EyeLink Host PC file "
            f"names), but got {file_stem!r} instead."
        )
    return file_stem


def check_message(text: object) -> str:
    """``text`` if EyeLink keeps it whole: one line of 1 to 130 bytes in UTF-8."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"An EyeLink message must be a non-empty string, got {text!r}")
    if "\n" in text or "\r" in text:
        raise ValueError(f"An EyeLink message must be on one line, got {text!r}")
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"EyeLink messages hold at most {MAX_MESSAGE_BYTES} bytes, but got {size} "
            f"bytes: {text[:40]!r}..."
        )
    return text


def host_version(version_string: str) -> int:
    """Major host-software version from e.g. ``"EYELINK CL 5.12"``; 0 when unknown."""
    match = re.search(r"(\d+)(?:\.\d+)?\s*$", version_string or "")
    return int(match.group(1)) if match else 0


def model_name(version: int) -> str | None:
    """Tracker model for a host-software major version; None when unknown."""
    return _MODELS.get(version)


def free_path(path: Path) -> Path:
    """``path``, or ``<stem>_<n><suffix>`` with the smallest n that names no file."""
    if not path.exists():
        return path
    n = 1
    while (candidate := path.with_name(f"{path.stem}_{n}{path.suffix}")).exists():
        n += 1
    return candidate


def setup_commands(
    screen: Screen, *, calibration_type: str, sample_rate_hz: int | None, eye: str, htarget: bool
) -> list[str]:
    """Host PC commands that configure a recording, as in SR Research's examples.

    Parameters
    ----------
    screen : Screen
        Its resolution becomes ``screen_pixel_coords = 0 0 W-1 H-1``.
    calibration_type : str
        ``"H3"``, ``"HV3"``, ``"HV5"``, ``"HV9"`` or ``"HV13"``.
    sample_rate_hz : int or None
        Rate to set; None leaves it alone (EyeLink I and II take no command).
    eye : {"LEFT", "RIGHT", "BOTH"}
        Eye(s) to record.
    htarget : bool
        Also record head-target sticker data (host software 4 and later).
    """
    width, height = screen.size_px
    ht = ",HTARGET" if htarget else ""
    commands = [
        "add_file_preamble_text 'RECORDED BY selectivity eyetracking.trackers.eyelink'",
        f"screen_pixel_coords = 0 0 {width - 1} {height - 1}",
        f"calibration_type = {calibration_type}",
        f"file_event_filter = LEFT,RIGHT,FIXATION,SACCADE,BLINK,MESSAGE,BUTTON,INPUT{ht}",
        f"file_sample_data = LEFT,RIGHT,GAZE,HREF,RAW,AREA{ht},GAZERES,BUTTON,STATUS,INPUT",
        f"link_event_filter = LEFT,RIGHT,FIXATION,SACCADE,BLINK,BUTTON,FIXUPDATE,INPUT{ht}",
        f"link_sample_data = LEFT,RIGHT,GAZE,GAZERES,AREA{ht},STATUS,INPUT",
    ]
    if sample_rate_hz is not None:
        commands.insert(3, f"sample_rate {sample_rate_hz}")
    if eye == "BOTH":
        return [*commands, "binocular_enabled = YES"]
    return [*commands, "binocular_enabled = NO", f"active_eye = {eye}"]


def receive_edf(connection: Any, host_name: str, eye_dir: Path) -> Path:
    """Copy ``host_name`` from the Host PC into ``eye_dir`` as ``<stem>.edf``; never overwrite.

    Parameters
    ----------
    connection : pylink.EyeLink
        The open connection, with the data file closed.
    host_name : str
        File name on the Host PC, e.g. ``"S01.EDF"``.
    eye_dir : Path
        Local folder (created if missing). When ``<stem>.edf`` exists there,
        the copy is saved as ``<stem>_<n>.edf`` and a warning says so.

    Returns
    -------
    Path
        The local copy.
    """
    eye_dir.mkdir(parents=True, exist_ok=True)
    wanted = eye_dir / f"{Path(host_name).stem}.edf"
    local = free_path(wanted)
    if local != wanted:
        warnings.warn(
            f"{wanted} exists and is kept; the EDF file is saved as {local.name}.", stacklevel=4
        )
    try:
        size = connection.receiveDataFile(host_name, str(local))
    except (RuntimeError, OSError) as err:
        # a copy cut short (e.g. by a full disk) must not pass for the data file
        partial = local.with_name(local.name + ".partial")
        if local.exists():
            with contextlib.suppress(OSError):
                os.replace(local, partial)
        raise RuntimeError(
            f"Could not copy {host_name} from the EyeLink Host PC to {local}: {err}. "
            f"{_disk_full_note(eye_dir, err)}The file is still on the Host PC: copy it from there."
            + (f" The incomplete copy is kept as {partial}." if partial.exists() else "")
        ) from err
    if not local.exists():
        raise RuntimeError(
            f"The EyeLink Host PC sent {size!r} bytes of {host_name} but {local} does not "
            "exist. The file is still on the Host PC: copy it from there."
        )
    return local


def _disk_full_note(folder: Path, error: BaseException) -> str:
    """``"The disk holding <folder> is full: free space on it first. "`` when it is, else ``""``."""
    full = isinstance(error, OSError) and error.errno == errno.ENOSPC
    if not full:
        try:
            full = os.statvfs(folder).f_bavail == 0
        except (OSError, AttributeError):  # no statvfs on Windows
            full = False
    return f"The disk holding {folder} is full: free space on it first. " if full else ""


def fetch_command(address: str, host_name: str, local: Path) -> str:
    """A shell command that copies ``host_name`` from the Host PC at ``address`` to ``local``."""
    code = (
        f"import pylink; el = pylink.EyeLink({address!r}); "
        f"el.receiveDataFile({host_name!r}, {str(local)!r}); el.close()"
    )
    if any(c in code for c in '"$`\\!'):
        return f"python -c {shlex.quote(code)}"
    return f'python -c "{code}"'


def transfer_failure_record(
    *, host_file: str, local_file: Path, attempts: int, error: str, address: str | None
) -> dict[str, Any]:
    """What ``session.json`` records of a data file left on the Host PC, and how to fetch it.

    ``address`` None means a simulated tracker: the file then waits in
    ``eye_dir`` under ``<name>.pending`` and ``fetch_command`` renames it.
    """
    if address is None:
        pending = local_file.with_name(local_file.name + ".pending")
        command = f"mv {shlex.quote(str(pending))} {shlex.quote(str(local_file))}"
        where = f"The simulated tracker withheld it as {pending}"
    else:
        command = fetch_command(address, host_file, local_file)
        where = (
            f"{host_file} is still on the EyeLink Host PC ({address}), in its data folder. "
            "Fetch it with EyeLink Data Viewer or the Host PC's file manager, or, with the "
            "Host PC connected and no experiment running"
        )
    message = (
        f"The eye-tracker data file {host_file} could not be copied to {local_file} after "
        f"{attempts} attempt(s): {error.rstrip('.')}. {where}: {command}"
    )
    return {
        "host_file": host_file,
        "local_file": str(local_file),
        "attempts": int(attempts),
        "error": error,
        "fetch_command": command,
        "message": message,
    }


def receive_edf_retrying(
    connection: Any,
    host_name: str,
    eye_dir: Path,
    *,
    attempts: int,
    pause_s: float,
    address: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Path | None, dict[str, Any] | None]:
    """:func:`receive_edf`, tried ``attempts`` times ``pause_s`` apart; never raises on failure.

    Returns
    -------
    (Path or None, dict or None)
        The local copy and None; or None and :func:`transfer_failure_record`.
    """
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            return receive_edf(connection, host_name, eye_dir), None
        except (RuntimeError, OSError) as err:
            error = str(err)
            if attempt < attempts:
                sleep(pause_s)
    local = free_path(eye_dir / f"{Path(host_name).stem}.edf")
    return None, transfer_failure_record(
        host_file=host_name, local_file=local, attempts=attempts, error=error, address=address
    )
