"""Checks, Host PC commands and names for an EyeLink session; needs no pylink."""

from __future__ import annotations

import ipaddress
import re
import warnings
from pathlib import Path
from typing import Any

from ..screen import Screen

__all__ = [
    "CALIBRATION_RESULTS",
    "MAX_MESSAGE_BYTES",
    "check_edf_stem",
    "check_message",
    "check_options",
    "free_path",
    "host_version",
    "import_pylink",
    "model_name",
    "receive_edf",
    "setup_commands",
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
    except RuntimeError as err:
        raise RuntimeError(
            f"Could not copy {host_name} from the EyeLink Host PC to {local}: {err}. "
            "The file is still on the Host PC: copy it from there."
        ) from err
    if not local.exists():
        raise RuntimeError(
            f"The EyeLink Host PC sent {size!r} bytes of {host_name} but {local} does not "
            "exist. The file is still on the Host PC: copy it from there."
        )
    return local
