"""Walk an EDF file with SR Research's EDF access library (bundled by eyelinkio) into plain data."""

from __future__ import annotations

import contextlib
import ctypes as ct
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__: list[str] = []

# Item codes of ``edf_get_next_data`` (edf_data.h).
_NO_PENDING_ITEMS = 0
_STARTBLINK, _ENDBLINK, _STARTSACC, _ENDSACC, _STARTFIX, _ENDFIX = 3, 4, 5, 6, 7, 8
_MESSAGEEVENT, _BUTTONEVENT, _INPUTEVENT = 24, 25, 28
_LOST_DATA_EVENT, _RECORDING_INFO, _SAMPLE_TYPE = 0x3F, 30, 200
#: Items that carry nothing the ASC file needs (parser state, block markers).
_IGNORED = frozenset({1, 2, 9, 10, 15, 16, 17, 18})

# Sample flags (edf_data.h).
_SAMPLE_HREFXY = 0x0800
_SAMPLE_GAZEXY = 0x0400
_SAMPLE_ADD_OFFSET = 0x0002

#: EDF's missing-value markers: MISSING_DATA (-32768) and the float 1e8.
_MISSING_LOW, _MISSING_HIGH = -32767.5, 1e8 - 1


@dataclass(frozen=True)
class BlockInfo:
    """A ``RECORDING_INFO`` item that starts a recording block.

    ``eyes`` is ``"L"``, ``"R"`` or ``"LR"``; ``record_type`` is 1 (samples),
    2 (events) or 3 (both); ``recording_mode`` 1 is pupil-CR; ``position``
    is ``"GAZE"``, ``"HREF"`` or ``"PUPIL"`` (what the samples hold).
    """

    time: float
    sample_rate_hz: float
    eyes: str
    pupil_type: str
    record_type: int
    recording_mode: int
    filter_type: int
    position: str


@dataclass
class EdfContent:
    """Everything an ASC file is made from, in the file's order.

    ``items`` are tuples whose first element names the kind:
    ``("start", BlockInfo)``, ``("end", time)``, ``("samples", first, stop)``
    (a run of rows of ``samples``), ``("message", time, text)``,
    ``("sfix" | "ssacc" | "sblink", eye, time)``,
    ``("efix", eye, start, end, x, y, pupil)``,
    ``("esacc", eye, start, end, x_start, y_start, x_end, y_end, amplitude_deg, peak_velocity)``,
    ``("eblink", eye, start, end)``, ``("input", time, value)``,
    ``("button", time, button, state)``. Eyes are ``"L"``/``"R"``; times
    are tracker ms; missing values are NaN.

    ``samples`` holds ``time`` (n,), ``x``, ``y``, ``pupil`` of shape
    (n, 2) (left, right), and the gaze resolution ``res_x``, ``res_y`` (n,)
    in px/deg; NaN where missing.
    """

    preamble: list[str] = field(default_factory=list)
    library_version: str = ""
    items: list[tuple[Any, ...]] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    lost_data: int = 0
    unknown_items: int = 0
    #: What the library printed while reading (damage it found and skipped), routine
    #: lines such as ``loadEvents = 1`` left out.
    library_messages: list[str] = field(default_factory=list)


class EdfApiUnavailableError(ImportError):
    """eyelinkio (or the EDF access library it bundles) cannot be used here."""


@dataclass
class _Api:
    """The library functions with this module's own argument and return types."""

    open: Any
    close: Any
    next_data: Any
    float_data: Any
    preamble_length: Any
    preamble_text: Any
    version: Any
    fsample: type[ct.Structure]
    fevent: type[ct.Structure]
    recordings: type[ct.Structure]
    lstring: type[ct.Structure]


def load_api() -> _Api:
    """eyelinkio's EDF access library, or :class:`EdfApiUnavailableError` saying why not."""
    try:
        import eyelinkio  # noqa: F401
    except ImportError as err:
        raise EdfApiUnavailableError(f"eyelinkio is not installed ({err})") from None
    try:
        from eyelinkio.edf import _edf2py as wrapper
    except (ImportError, OSError, AssertionError) as err:
        raise EdfApiUnavailableError(
            f"eyelinkio is installed but its EDF access library did not load ({err})"
        ) from None
    try:
        lib = wrapper.edfapi
        # ``lib[name]`` is a new function object: setting its types leaves eyelinkio's alone.
        functions = {
            "open": ("edf_open_file", ct.c_void_p),
            "close": ("edf_close_file", ct.c_int),
            "next_data": ("edf_get_next_data", ct.c_int),
            "float_data": ("edf_get_float_data", ct.c_void_p),
            "preamble_length": ("edf_get_preamble_text_length", ct.c_int),
            "preamble_text": ("edf_get_preamble_text", ct.c_int),
            "version": ("edf_get_version", ct.c_char_p),
        }
        found: dict[str, Any] = {}
        for key, (name, restype) in functions.items():
            fn = lib[name]
            fn.restype = restype
            found[key] = fn
        found["open"].argtypes = [ct.c_char_p, ct.c_int, ct.c_int, ct.c_int, ct.POINTER(ct.c_int)]
        for key in ("close", "next_data", "float_data", "preamble_length"):
            found[key].argtypes = [ct.c_void_p]
        found["preamble_text"].argtypes = [ct.c_void_p, ct.c_char_p, ct.c_int]
        found["version"].argtypes = []
        return _Api(
            **found,
            fsample=wrapper.FSAMPLE,
            fevent=wrapper.FEVENT,
            recordings=wrapper.RECORDINGS,
            lstring=wrapper.LSTRING,
        )
    except (AttributeError, KeyError) as err:
        raise EdfApiUnavailableError(
            f"eyelinkio is installed but does not expose the EDF access library as expected "
            f"({err!r})"
        ) from None


def _missing(values: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64)
    out[(out <= _MISSING_LOW) | (out >= _MISSING_HIGH)] = np.nan
    return out


def _value(v: float) -> float:
    return math.nan if v <= _MISSING_LOW or v >= _MISSING_HIGH else float(v)


def _block_info(rec: Any) -> BlockInfo:
    eyes = {1: "L", 2: "R", 3: "LR"}.get(int(rec.eye), "")
    if rec.sflags & _SAMPLE_GAZEXY:
        position = "GAZE"
    elif rec.sflags & _SAMPLE_HREFXY:
        position = "HREF"
    else:
        position = "PUPIL"
    return BlockInfo(
        time=float(rec.time),
        sample_rate_hz=float(rec.sample_rate),
        eyes=eyes,
        pupil_type="DIAMETER" if rec.pupil_type == 1 else "AREA",
        record_type=int(rec.record_type),
        recording_mode=int(rec.recording_mode),
        filter_type=int(rec.filter_type),
        position=position,
    )


def _amplitude_deg(e: Any) -> float:
    """Saccade amplitude from its end points and the gaze resolution (px/deg) at both ends."""
    res_x, res_y = (e.supd_x + e.eupd_x) / 2.0, (e.supd_y + e.eupd_y) / 2.0
    dx, dy = _value(e.genx) - _value(e.gstx), _value(e.geny) - _value(e.gsty)
    if not (res_x > 0 and res_y > 0) or math.isnan(dx) or math.isnan(dy):
        return math.nan
    return math.hypot(dx / res_x, dy / res_y)


def _message_text(api: _Api, e: Any) -> str:
    if not e.message:
        return ""
    lstr = e.message.contents
    raw = ct.string_at(ct.addressof(lstr) + api.lstring.c.offset, max(int(lstr.len), 0))
    raw = raw.split(b"\x00", 1)[0].rstrip(b"\r\n")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Walker:
    """One pass over the file's items, collecting :class:`EdfContent`."""

    def __init__(self, api: _Api) -> None:
        self.api = api
        self.content = EdfContent()
        self.raw_samples: list[bytes] = []
        self.run_start = -1
        self.position = "GAZE"
        #: What the samples of each run hold (the position type of their block).
        self.run_positions: list[str] = []
        self.eye_of = {0: "L", 1: "R"}

    def _close_run(self) -> None:
        if self.run_start >= 0:
            self.content.items.append(("samples", self.run_start, len(self.raw_samples)))
            self.run_start = -1

    def item(self, kind: int, address: int) -> None:
        api, items = self.api, self.content.items
        if kind == _SAMPLE_TYPE:
            if self.run_start < 0:
                self.run_start = len(self.raw_samples)
                self.run_positions.append(self.position)
            self.raw_samples.append(ct.string_at(address, ct.sizeof(api.fsample)))
            return
        self._close_run()
        if kind == _RECORDING_INFO:
            rec = api.recordings.from_address(address)
            if rec.state == 0:
                items.append(("end", float(rec.time)))
            else:
                info = _block_info(rec)
                self.position = info.position
                items.append(("start", info))
        elif kind == _MESSAGEEVENT:
            e = api.fevent.from_address(address)
            items.append(("message", float(e.sttime), _message_text(api, e)))
        elif kind in (_STARTFIX, _STARTSACC, _STARTBLINK):
            e = api.fevent.from_address(address)
            name = {_STARTFIX: "sfix", _STARTSACC: "ssacc", _STARTBLINK: "sblink"}[kind]
            items.append((name, self.eye_of.get(int(e.eye), "L"), float(e.sttime)))
        elif kind in (_ENDFIX, _ENDSACC, _ENDBLINK):
            items.append(self._end_event(kind, api.fevent.from_address(address)))
        elif kind == _INPUTEVENT:
            e = api.fevent.from_address(address)
            items.append(("input", float(e.sttime), int(e.input)))
        elif kind == _BUTTONEVENT:
            e = api.fevent.from_address(address)
            state, changed = int(e.buttons) & 0xFF, (int(e.buttons) >> 8) & 0xFF
            for bit in range(8):
                if changed >> bit & 1:
                    items.append(("button", float(e.sttime), bit + 1, state >> bit & 1))
        elif kind == _LOST_DATA_EVENT:
            self.content.lost_data += 1
        elif kind not in _IGNORED:
            self.content.unknown_items += 1

    def _end_event(self, kind: int, e: Any) -> tuple[Any, ...]:
        eye, start, end = self.eye_of.get(int(e.eye), "L"), float(e.sttime), float(e.entime)
        if kind == _ENDFIX:
            return ("efix", eye, start, end, _value(e.gavx), _value(e.gavy), _value(e.ava))
        if kind == _ENDSACC:
            return (
                "esacc",
                eye,
                start,
                end,
                _value(e.gstx),
                _value(e.gsty),
                _value(e.genx),
                _value(e.geny),
                _amplitude_deg(e),
                _value(e.pvel),
            )
        return ("eblink", eye, start, end)

    def finish(self) -> EdfContent:
        self._close_run()
        self.content.samples = self._sample_arrays()
        return self.content

    def _sample_arrays(self) -> dict[str, np.ndarray]:
        dtype = np.dtype(self.api.fsample)
        raw = np.frombuffer(b"".join(self.raw_samples), dtype=dtype)
        self.raw_samples = []
        time = raw["time"].astype(np.float64)
        time[(raw["flags"] & _SAMPLE_ADD_OFFSET) != 0] += 0.5
        x, y = _missing(raw["gx"]), _missing(raw["gy"])
        runs = [item for item in self.content.items if item[0] == "samples"]
        for (_, first, stop), position in zip(runs, self.run_positions, strict=True):
            if position != "GAZE":
                src = ("hx", "hy") if position == "HREF" else ("px", "py")
                x[first:stop], y[first:stop] = (
                    _missing(raw[src[0]][first:stop]),
                    _missing(raw[src[1]][first:stop]),
                )
        return {
            "time": time,
            "x": x,
            "y": y,
            "pupil": _missing(raw["pa"]),
            "res_x": _missing(raw["rx"]),
            "res_y": _missing(raw["ry"]),
        }


#: Lines the EDF access library prints when it reads an undamaged file.
_ROUTINE = re.compile(r"^loadEvents = \d+$")


@contextlib.contextmanager
def _library_output(lines: list[str]) -> Iterator[None]:
    """Collect what C code prints to the process's stdout and stderr into ``lines``.

    The EDF access library reports the damage it skips ("EDF FILE MAY BE CORRUPTED",
    "Read error") by printing, not through its return values; this is how a reader hears
    of it. Output of other threads in those moments is collected too.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            _flush_c_streams()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text = sink.read().decode("latin-1")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


def _flush_c_streams() -> None:
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ct.CDLL(None).fflush(None)


def read_edf_content(path: Path, api: _Api) -> EdfContent:
    """Every item of the EDF file at ``path`` (samples and events), in file order.

    What the library prints while reading goes to ``library_messages`` (routine lines
    left out), not to the terminal.

    Raises
    ------
    ValueError
        If the library cannot open the file (cut short, damaged, not an EDF file); the
        message holds its error code and what it printed.
    """
    printed: list[str] = []
    with _library_output(printed):
        content = _read_content(path, api)
    messages = [line for line in printed if not _ROUTINE.match(line)]
    if content is None:
        said = f"; it printed: {' / '.join(messages)[-500:]}" if messages else ""
        raise ValueError(
            f"{path} cannot be read as an EDF file: SR Research's EDF access library could not "
            f"open it{said}. The file may be damaged or cut short."
        )
    content.library_messages = messages
    return content


def _read_content(path: Path, api: _Api) -> EdfContent | None:
    """The file's content, or None when the library cannot open it."""
    error = ct.c_int(0)
    # consistency=2: the library checks samples against events and fixes what disagrees,
    # as eyelinkio does; load events and samples.
    handle = api.open(os.fsencode(os.path.abspath(path)), 2, 1, 1, ct.byref(error))
    if not handle or error.value != 0:
        return None
    walker = _Walker(api)
    try:
        length = int(api.preamble_length(handle))
        if length > 0:
            buffer = ct.create_string_buffer(length + 1)
            api.preamble_text(handle, buffer, length + 1)
            walker.content.preamble = buffer.value.decode("latin-1").splitlines()
        version = api.version()
        walker.content.library_version = version.decode("latin-1") if version else ""
        next_data, float_data, item = api.next_data, api.float_data, walker.item
        while True:
            kind = next_data(handle)
            if kind == _NO_PENDING_ITEMS:
                break
            item(kind, float_data(handle))
    finally:
        api.close(handle)
    return walker.finish()
