"""Read an EyeLink EDF file, through SR Research's ``edf2asc`` or an EDF-reading library."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..asc import read_asc
from ..recording import Recording
from ._api import EdfApiUnavailableError, load_api, read_edf_content
from ._asc import asc_text

__all__ = ["EDF_CONVERTERS", "read_edf"]

#: Values of ``read_edf``'s ``converter`` parameter.
EDF_CONVERTERS = ("auto", "edf2asc", "eyelinkio")
#: Every EDF file starts with these bytes (``SR_RESEARCH_1000FILE`` etc.).
_MAGIC = b"SR_RESEARCH"
_INSTALL = (
    "Install one of them: `pip install eyelinkio` (it bundles SR Research's EDF access "
    "library), or SR Research's EyeLink Developers Kit, which puts edf2asc on the PATH."
)


def read_edf(
    path: str | os.PathLike[str],
    *,
    converter: str = "auto",
    edf2asc: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Recording:
    """Read an EyeLink EDF file into the same tables as :func:`read_asc`.

    Parameters
    ----------
    path : path-like
        The ``.edf`` file written by the tracker (it starts with
        ``SR_RESEARCH``).
    converter : {"auto", "edf2asc", "eyelinkio"}
        How to read it. ``"auto"`` uses SR Research's ``edf2asc`` when it is
        found, else eyelinkio when it is installed, else raises.
        ``"edf2asc"`` and ``"eyelinkio"`` insist on one of them.
    edf2asc : path-like, optional
        The ``edf2asc`` program to run, when it is not on the ``PATH`` as
        ``edf2asc``.
    **options
        Keyword options of :func:`read_asc` (``trial_start``, ``trial_end``,
        ``onset_message``, ``message_offsets``, ``encoding``).

    Returns
    -------
    Recording
        As :func:`read_asc` returns it, with ``path`` set to the EDF file.
        Times are the tracker's clock in ms.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or ``converter="edf2asc"`` and no
        ``edf2asc`` program is found.
    ValueError
        If the file is not an EDF file, is cut short or damaged so that the
        EDF access library cannot open it, an option is invalid, the file
        holds neither samples nor eye events, or what the converter wrote is
        not an ASC file :func:`read_asc` reads (the message names the EDF file).
    ImportError
        If neither ``edf2asc`` nor an EDF-reading library is available; the
        message says what to install.
    RuntimeError
        If ``edf2asc`` cannot be run or fails; the message holds what it printed.

    Warns
    -----
    UserWarning
        What :func:`read_asc` warns about, and (eyelinkio route) gaps that the
        EDF file marks in its data stream, and damage that the EDF access
        library reports skipping while it reads.

    Notes
    -----
    *edf2asc route.* ``edf2asc -y <file.edf> <tmp>/<name>.asc`` converts the
    file with its default options (gaze samples and all events, missing
    values as ``.``) into a temporary folder that is removed afterwards; the
    ASC file is then read by :func:`read_asc`. Some versions of ``edf2asc``
    exit with a non-zero status after a successful conversion, so success is
    judged by the ASC file it leaves, and its output is reported when there
    is none.

    *eyelinkio route.* eyelinkio's own reader moves times to seconds from
    the first sample and drops non-ASCII message text, so this reader walks
    the file itself with the EDF access library that eyelinkio bundles, and
    writes the ASC text that ``edf2asc`` would write (same line layout; gaze
    positions and pupil sizes of samples at 0.1 resolution, as ``edf2asc``
    prints them), which :func:`read_asc` then reads. Times stay on the
    tracker clock; samples flagged as half-millisecond (2000 Hz) get their
    ``.5``; event and message times are whole ms as the library gives them.
    Saccade amplitudes are computed from the end points and the mean gaze
    resolution (px/deg) at start and end, as in Data Viewer.
    ``BUTTON`` lines are written for buttons whose state changed.
    """
    path = Path(path)
    _check_edf(path)
    _check_options(options)
    if converter not in EDF_CONVERTERS:
        raise ValueError(
            f"Invalid value for the 'converter' parameter. Allowed values are "
            f"{', '.join(map(repr, EDF_CONVERTERS))}, but got {converter!r} instead."
        )
    program = _find_edf2asc(edf2asc) if converter in ("auto", "edf2asc") else None
    if converter == "edf2asc" and program is None:
        raise FileNotFoundError(
            f"converter='edf2asc' was asked for, but no edf2asc program was found "
            f"({'not on the PATH' if edf2asc is None else repr(str(edf2asc))}). {_INSTALL}"
        )
    if program is not None:
        return _via_edf2asc(path, program, options)
    try:
        api = load_api()
    except EdfApiUnavailableError as err:
        where = "" if converter == "eyelinkio" else "SR Research's edf2asc is not on the PATH and "
        raise ImportError(
            f"Cannot read the EDF file {path}: {where}no EDF-reading library can be used "
            f"({err}). {_INSTALL}"
        ) from None
    return _via_library(path, api, options)


def _via_library(path: Path, api: Any, options: dict[str, Any]) -> Recording:
    content = read_edf_content(path, api)
    if not any(item[0] in ("samples", "efix", "esacc", "eblink") for item in content.items):
        raise ValueError(f"No samples and no eye events in the EDF file {path}.")
    if content.lost_data:
        warnings.warn(
            f"{path.name}: the EDF file marks {content.lost_data} gap(s) in its data stream "
            "(LOST_DATA_EVENT); samples or events are missing there.",
            stacklevel=3,
        )
    if content.library_messages:
        shown = " / ".join(dict.fromkeys(content.library_messages))
        warnings.warn(
            f"{path.name}: SR Research's EDF access library reported problems while reading "
            f"(the file may be damaged; samples or events may be missing): {shown[:500]}",
            stacklevel=3,
        )
    if content.unknown_items:
        warnings.warn(
            f"{path.name}: skipped {content.unknown_items} EDF item(s) of unknown type.",
            stacklevel=3,
        )
    with tempfile.TemporaryDirectory(prefix="selectivity-edf-") as folder:
        asc = Path(folder) / f"{path.stem}.asc"
        asc.write_bytes(asc_text(content, source=path))
        return _read_converted(asc, path, options)


def _check_edf(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"EyeLink EDF file not found: {path}")
    if path.is_dir():
        raise ValueError(f"Expected an EyeLink EDF file, but {path} is a folder.")
    with path.open("rb") as f:
        head = f.read(len(_MAGIC))
    if head != _MAGIC:
        hint = " (it looks like an ASC text file: use read_asc)" if head[:2] == b"**" else ""
        raise ValueError(
            f"{path} is not an EyeLink EDF file: EDF files start with {_MAGIC!r}, but this one "
            f"starts with {head!r}{hint}."
        )


def _check_options(options: dict[str, Any]) -> None:
    allowed = [
        name
        for name, p in inspect.signature(read_asc).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"read_edf() got unexpected keyword argument(s) {unknown}; besides 'converter' and "
            f"'edf2asc' it takes the options of read_asc: {allowed}."
        )


def _find_edf2asc(program: str | os.PathLike[str] | None) -> str | None:
    if program is None:
        return shutil.which("edf2asc")
    found = shutil.which(os.fspath(program))
    if found is None:
        raise FileNotFoundError(
            f"Invalid value for the 'edf2asc' parameter: {os.fspath(program)!r} is not an "
            "executable program."
        )
    return found


def _via_edf2asc(path: Path, program: str, options: dict[str, Any]) -> Recording:
    with tempfile.TemporaryDirectory(prefix="selectivity-edf2asc-") as folder:
        out = Path(folder) / f"{path.stem}.asc"
        command = [program, "-y", str(path.resolve()), str(out)]
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, check=False
            )
        except OSError as err:  # not a program this system can run (exec format, permission)
            raise RuntimeError(
                f"edf2asc ({program}) could not be run to convert {path}: {err}"
            ) from None
        made = out if out.is_file() else next(iter(sorted(Path(folder).glob("*.asc"))), None)
        if made is None or not made.is_file() or made.stat().st_size == 0:
            printed = (done.stderr or b"").decode(errors="replace").strip() or (
                done.stdout or b""
            ).decode(errors="replace").strip()
            raise RuntimeError(
                f"edf2asc ({program}) could not convert {path}: exit status {done.returncode}, "
                f"no ASC file written. It printed: {printed[-2000:] or '(nothing)'}"
            )
        return _read_converted(made, path, options)


def _read_converted(asc: Path, edf: Path, options: dict[str, Any]) -> Recording:
    try:
        recording = read_asc(asc, **options)
    except ValueError as err:
        raise ValueError(f"{edf} (converted to ASC): {err}") from None
    recording.path = edf
    return recording
