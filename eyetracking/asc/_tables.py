"""Messages, eye events, inputs, display size and header of an EyeLink ASC file as tables."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

from ._scan import _Scan

__all__: list[str] = []

# ``MSG <time> [<offset>] <text>``: Data Viewer reads a leading integer as an
# offset and places the event at ``time - offset`` (SR Research support forum,
# "How can I take advantage of the timing offset in sending messages?").
_MSG_WITH_OFFSET = re.compile(
    r"(?P<time>[-+]?[0-9]+(?:\.[0-9]*)?)(?:\s(?P<offset>[-+]?[0-9]+)(?=\s))?(?:\s(?P<text>.*))?\Z",
    re.S,
)
_MSG_NO_OFFSET = re.compile(r"(?P<time>[-+]?[0-9]+(?:\.[0-9]*)?)()(?:\s(?P<text>.*))?\Z", re.S)
_LOST = re.compile(r"ERROR\s+(?P<what>\w+)\s+LOST\s+(?P<count>\d+)")

#: Columns of each end-of-event line after the eye letter (EyeLink manual,
#: "Events"); ``x_res``, ``y_res`` follow when the file has resolution data.
EVENT_COLUMNS = {
    "EFIX": ("start", "end", "duration", "x", "y", "pupil"),
    "ESACC": (
        "start",
        "end",
        "duration",
        "x_start",
        "y_start",
        "x_end",
        "y_end",
        "amplitude_deg",
        "peak_velocity",
    ),
    "EBLINK": ("start", "end", "duration"),
}
_MAX_FIELDS = 16
#: Up to this many lines of one kind, events are parsed in Python (pandas costs more).
_FEW_EVENTS = 2000

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_COORDS = re.compile(
    rf"^(?P<kind>DISPLAY_COORDS|GAZE_COORDS)\s+(?P<x1>{_NUM})\s+(?P<y1>{_NUM})\s+(?P<x2>{_NUM})"
    rf"\s+(?P<y2>{_NUM})"
)
_HEADER_KEY = re.compile(r"([A-Z][A-Z_ ]*[A-Z]):(?:\s+(.*))?")
_HOST_VERSION = re.compile(r"\bv(\d+\.\d+)")


def _is_time(token: str) -> bool:
    whole, _, fraction = token.partition(".")
    return token.isascii() and whole.isdigit() and (not fraction or fraction.isdigit())


def _is_int(token: str) -> bool:
    digits = token[1:] if token[:1] in ("+", "-") else token
    return digits.isascii() and digits.isdigit()


def _split_message(raw: str, pattern: re.Pattern[str], offsets: bool) -> tuple[str, ...] | None:
    """``(time, offset, text)`` of the text after ``MSG``; None when it has no time stamp.

    Plain string operations for the usual ``<time> <text>`` and ``<time>
    <offset> <text>``; the regular expression for anything else.
    """
    time, sep, rest = raw.partition(" ")
    if sep and _is_time(time):
        if not offsets or not (rest[:1].isdigit() or rest[:1] in ("+", "-")):
            return (time, "", rest)
        offset, sep, text = rest.partition(" ")
        if sep and _is_int(offset):
            return (time, offset, text)
    found = pattern.match(raw)
    return None if found is None else found.groups()


#: From this many messages on, the usual forms are split by Arrow rather than in Python.
_FEW_MESSAGES = 1000
# The forms that :func:`_split_message` handles with string operations, for Arrow's RE2
# (ASCII digits; a text that starts like a number, a sign or a non-ASCII character is left
# to Python, whose ``str.isdigit`` and regular expressions decide it).
_ARROW_TIME = r"(?s)\A(?P<time>[0-9]+(?:\.[0-9]+)?) (?P<rest>.*)\z"
_ARROW_OFFSET = r"(?s)\A(?P<offset>-?[0-9]+) (?P<text>.*)\z"
_ARROW_NUMBERISH = r"\A[-+0-9\x{80}-\x{10ffff}]"


def _split_python(
    raws: list[str], pattern: re.Pattern[str], offsets: bool
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Time, offset (NaN: none) and text (None: no time stamp) of each message, in Python."""
    found = [_split_message(raw, pattern, offsets) for raw in raws]
    time_raw = np.array([g[0] if g else "nan" for g in found], dtype=np.float64)
    offset = np.array([(g[1] or "nan") if g else "nan" for g in found], dtype=np.float64)
    return time_raw, offset, [(g[2] or "") if g else None for g in found]


def _split_arrow(
    raws: list[str], pattern: re.Pattern[str], offsets: bool
) -> tuple[np.ndarray, np.ndarray, list[str | None], Any]:
    """As :func:`_split_python`, the usual forms in Arrow; also the texts as an Arrow array
    (None when some message needed Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(raws, type=pa.string())
    head = pc.extract_regex(array, _ARROW_TIME)
    fast = head.is_valid()
    rest = pc.struct_field(head, "rest")
    text = rest
    offset = pa.nulls(len(raws), pa.string())
    if offsets:
        tail = pc.extract_regex(rest, _ARROW_OFFSET)
        has_offset = tail.is_valid()
        numberish = pc.fill_null(pc.match_substring_regex(rest, _ARROW_NUMBERISH), False)
        fast = pc.and_(fast, pc.or_(pc.invert(numberish), has_offset))
        text = pc.if_else(has_offset, pc.struct_field(tail, "text"), rest)
        offset = pc.if_else(has_offset, pc.struct_field(tail, "offset"), offset)
    fast_np = fast.to_numpy(zero_copy_only=False)
    time_raw = pc.cast(pc.struct_field(head, "time"), pa.float64()).to_numpy(zero_copy_only=False)
    offset_np = pc.cast(offset, pa.float64()).to_numpy(zero_copy_only=False)
    texts: list[str | None] = text.to_pylist()
    slow = np.flatnonzero(~fast_np)
    if not len(slow):
        return time_raw, offset_np, texts, text
    s_time, s_offset, s_texts = _split_python([raws[k] for k in slow], pattern, offsets)
    time_raw[slow], offset_np[slow] = s_time, s_offset
    for k, t in zip(slow.tolist(), s_texts, strict=True):
        texts[k] = t
    return time_raw, offset_np, texts, None


def messages_table(scan: _Scan, *, offsets: bool) -> tuple[pd.DataFrame, list[str]]:
    """``time``, ``time_raw``, ``offset``, ``text`` and (internal) ``lineno`` of every MSG line.

    Also returns the texts as a list, for the passes over them that follow.
    """
    pattern = _MSG_WITH_OFFSET if offsets else _MSG_NO_OFFSET
    linenos = np.frombuffer(scan.msg_linenos, dtype=np.int64).copy()
    arrow_texts = None
    if len(scan.msg_raw) >= _FEW_MESSAGES and pd.StringDtype().storage == "pyarrow":
        time_raw, offset, found, arrow_texts = _split_arrow(scan.msg_raw, pattern, offsets)
    else:
        time_raw, offset, found = _split_python(scan.msg_raw, pattern, offsets)
    texts: list[str]
    if any(t is None for t in found):
        missing = [k for k, t in enumerate(found) if t is None]
        for k in missing:
            line = "MSG\t" + scan.msg_raw[k]
            scan.problems.add(int(linenos[k]), line, "MSG without a valid time stamp")
        keep = np.ones(len(found), dtype=bool)
        keep[missing] = False
        linenos, time_raw, offset = linenos[keep], time_raw[keep], offset[keep]
        texts = [t for t in found if t is not None]
    else:
        texts = found  # type: ignore[assignment]
    table = pd.DataFrame(
        {
            "time": time_raw - np.nan_to_num(offset, nan=0.0),
            "time_raw": time_raw,
            "offset": offset,
            "text": pd.array(texts if arrow_texts is None else arrow_texts, dtype="string"),
            "lineno": np.asarray(linenos, dtype=np.int64),
        }
    )
    return table, texts


def lost_counts(texts: list[str], linenos: np.ndarray) -> tuple[dict[str, int], int | None]:
    """Totals of ``ERROR <WHAT> LOST <n>`` messages by ``WHAT``, and the first one's line."""
    totals: dict[str, int] = {}
    first = None
    for k, text in enumerate(texts):
        if text.startswith("ERROR") and (found := _LOST.match(text)) is not None:
            what = found.group("what")
            totals[what] = totals.get(what, 0) + int(found.group("count"))
            first = int(linenos[k]) if first is None else first
    return totals, first


def _token_counts(blob: bytes, n_lines: int) -> np.ndarray:
    """Number of white-space separated tokens on each line of ``blob``."""
    a = np.frombuffer(blob, dtype=np.uint8)
    space = (a == 32) | (a == 9) | (a == 13) | (a == 10)
    token_starts = np.flatnonzero(~space & np.r_[True, space[:-1]])
    line_of = np.searchsorted(np.flatnonzero(a == 10), token_starts)
    return np.bincount(line_of, minlength=n_lines)[:n_lines]


def _events_fast(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keyword and eye (object arrays) and numbers of event lines, by pandas' C parser."""
    names = list(range(_MAX_FIELDS))
    frame = pd.read_csv(
        io.BytesIO(blob),
        sep=r"\s+",
        header=None,
        names=names,
        dtype={0: object, 1: object, **{k: np.float64 for k in names[2:]}},
        # Fields missing at the end of a short line read as "", like ".": NaN.
        na_values=[".", ""],
        keep_default_na=False,
        engine="c",
    )
    values = frame[names[2:]].to_numpy(dtype=np.float64)
    return frame[0].to_numpy(dtype=object), frame[1].to_numpy(dtype=object), values


def _events_python(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_events_fast`, line by line: for few lines, or lines pandas refused.

    Tokens that are not numbers become ``inf``, which marks the line malformed.
    """
    lines = blob.decode("latin-1").split("\n")[:-1]
    words = np.full((len(lines), 2), None, dtype=object)
    values = np.full((len(lines), _MAX_FIELDS - 2), np.nan)
    for i, line in enumerate(lines):
        tokens = line.split()[:_MAX_FIELDS]
        words[i, : min(2, len(tokens))] = tokens[:2]
        for j, token in enumerate(tokens[2:]):
            try:
                values[i, j] = np.nan if token == "." else float(token)
            except ValueError:
                values[i, j] = np.inf
    return words[:, 0], words[:, 1], values


def event_table(scan: _Scan, kind: str) -> pd.DataFrame:
    """One end-of-event table (``EFIX``, ``ESACC`` or ``EBLINK``); malformed lines reported.

    Events whose lines carry two more numbers (``edf2asc -res``) get
    ``x_res`` and ``y_res`` columns.
    """
    names = EVENT_COLUMNS[kind]
    width = 2 + len(names)
    blob = bytes(scan.events[kind])
    linenos = np.frombuffer(scan.event_linenos[kind], dtype=np.int64).copy()
    n = len(linenos)
    parsed = None
    if n > _FEW_EVENTS:
        try:
            parsed = _events_fast(blob)
        except (ValueError, pd.errors.ParserError):
            parsed = None
    keyword, eye, values = parsed if parsed is not None else _events_python(blob)
    tokens = _token_counts(blob, n)
    bad = (tokens < width) | (keyword != kind) | ~np.isin(eye, ["L", "R"])
    bad |= np.isinf(values[:, : width - 2]).any(axis=1) | np.isnan(values[:, :2]).any(axis=1)
    res = (tokens >= width + 2) & ~bad
    if bad.any():
        lines = blob.decode("latin-1").split("\n")
        for k in np.flatnonzero(bad).tolist():
            scan.problems.add(int(linenos[k]), lines[k].rstrip("\r"), f"malformed {kind} line")
    keep = ~bad
    columns: dict[str, Any] = {"eye": pd.array(eye[keep].astype(str), dtype="string")}
    for j, name in enumerate(names):
        columns[name] = values[keep, j]
    if res.any():
        columns["x_res"] = np.where(res, values[:, width - 2], np.nan)[keep]
        columns["y_res"] = np.where(res, values[:, width - 1], np.nan)[keep]
    return pd.DataFrame(columns)


def inputs_table(scan: _Scan) -> pd.DataFrame:
    """``INPUT <time> <value>`` and ``BUTTON <time> <button> <state>`` lines."""
    rows = []
    for parts, n in zip(scan.inputs, scan.input_linenos, strict=True):
        try:
            nums = [float(p) for p in parts[1:4]]
        except ValueError:
            nums = []
        if len(nums) < 2 or (parts[0] == "BUTTON" and len(nums) < 3):
            scan.problems.add(n, "\t".join(parts), f"malformed {parts[0]} line")
            continue
        state = nums[2] if parts[0] == "BUTTON" else np.nan
        rows.append((nums[0], parts[0], nums[1], state))
    return pd.DataFrame(
        {
            "time": np.array([r[0] for r in rows], dtype=np.float64),
            "kind": pd.array([r[1] for r in rows], dtype="string"),
            "value": np.array([r[2] for r in rows], dtype=np.float64),
            "state": np.array([r[3] for r in rows], dtype=np.float64),
        }
    )


def display_size(texts: list[str], oddities: list[str]) -> tuple[int, int] | None:
    """``(width, height)`` from the first ``DISPLAY_COORDS``, else the first ``GAZE_COORDS``.

    The size is ``(x2 - x1 + 1, y2 - y1 + 1)`` of ``<kind> x1 y1 x2 y2``.
    """
    sizes: dict[str, list[tuple[int, int]]] = {"DISPLAY_COORDS": [], "GAZE_COORDS": []}
    for text in texts:
        if text.startswith(("DISPLAY_COORDS", "GAZE_COORDS")) and (m := _COORDS.match(text)):
            x1, y1, x2, y2 = (float(m.group(g)) for g in ("x1", "y1", "x2", "y2"))
            sizes[m.group("kind")].append((round(x2 - x1 + 1), round(y2 - y1 + 1)))
    for kind, found in sizes.items():
        if found:
            distinct = sorted(set(found))
            if len(distinct) > 1:
                oddities.append(f"several {kind} sizes {distinct}; using the first, {found[0]}")
            return found[0]
    return None


def _model_from_version(version: float) -> str:
    # Host software versions by model, as in the R package eyelinker (get_model);
    # versions 6 and later run on both the 1000 Plus and the Portable Duo.
    if version < 2.4:
        return "EyeLink II"
    if version < 5:
        return "EyeLink 1000"
    if version < 6:
        return "EyeLink 1000 Plus"
    return "EyeLink 1000 Plus or Portable Duo"


def header_info(lines: list[str]) -> tuple[dict[str, str], str | None, str | None]:
    """``KEY: value`` pairs of the ``**`` header lines, the tracker model and its software version.

    The model is the name in parentheses on the ``** EYELINK ...`` line
    (``EYELINK II CL v6.14 Mar  6 2020 (EyeLink Portable Duo)``); without
    one it is inferred from the host software version (``v5.03``: an
    EyeLink 1000 Plus), or from ``** VERSION: EYELINK II 1``.
    """
    header: dict[str, str] = {}
    loose = []
    for line in lines:
        m = _HEADER_KEY.fullmatch(line)
        if m:
            header[m.group(1)] = (m.group(2) or "").strip()
        elif line:
            loose.append(line)
    if loose:
        header[""] = "\n".join(loose)
    model = version = None
    for line in loose:
        if line.upper().startswith("EYELINK"):
            found = _HOST_VERSION.search(line)
            version = found.group(1) if found else None
            inner = re.search(r"\(([^)]*)\)\s*$", line)
            if inner:
                model = inner.group(1)
            elif version is not None:
                model = _model_from_version(float(version))
            else:
                model = " ".join(line.split())
            break
    if model is None and header.get("VERSION", "").startswith("EYELINK"):
        model = "EyeLink II" if header["VERSION"].startswith("EYELINK II") else "EyeLink I"
    return header, model, version
