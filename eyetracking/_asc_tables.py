"""Messages, eye events, calibration results and header of an EyeLink ASC file as tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._asc_scan import _Problems, _Scan

__all__: list[str] = []

# ``MSG <time> [<offset>] <text>``: Data Viewer reads a leading integer as an
# offset and places the event at ``time - offset`` (SR Research support forum,
# "How can I take advantage of the timing offset in sending messages?").
_MSG_WITH_OFFSET = re.compile(
    r"(?P<time>[-+]?\d+(?:\.\d*)?)(?:\s(?P<offset>[-+]?\d+)(?=\s))?(?:\s(?P<text>.*))?\Z", re.S
)
_MSG_NO_OFFSET = re.compile(r"(?P<time>[-+]?\d+(?:\.\d*)?)(?:\s(?P<text>.*))?\Z", re.S)

#: Columns of each end-of-event line after the eye letter.
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

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_CALIBRATION = re.compile(
    r"!CAL\s+CALIBRATION\s+(?P<type>\S+)\s+(?:[LR]{1,2}\s+)?(?P<eye>LEFT|RIGHT)\s+(?P<result>\S+)"
)
_VALIDATION = re.compile(
    rf"!CAL\s+VALIDATION\s+(?P<type>\S+)\s+(?:[LR]{{1,2}}\s+)?(?P<eye>LEFT|RIGHT)\s+(?P<result>\S+)"
    rf"(?:\s+ERROR\s+(?P<error_avg_deg>{_NUM})\s+avg\.\s+(?P<error_max_deg>{_NUM})\s+max"
    rf"(?:\s+OFFSET\s+(?P<offset_deg>{_NUM})\s+deg\.\s+(?P<offset_x_px>{_NUM}),\s*"
    rf"(?P<offset_y_px>{_NUM})\s+pix\.)?)?"
)
_VALIDATE_POINT = re.compile(
    rf"VALIDATE\s+(?:[LR]{{1,2}}\s+)?\d*POINT\s+(?P<point>\d+)\s+(?P<eye>LEFT|RIGHT)\s+at\s+"
    rf"(?P<target_x_px>{_NUM}),\s*(?P<target_y_px>{_NUM})\s+OFFSET\s+(?P<offset_deg>{_NUM})\s+"
    rf"deg\.\s+(?P<offset_x_px>{_NUM}),\s*(?P<offset_y_px>{_NUM})\s+pix\."
)
_COORDS = re.compile(
    rf"^(?P<kind>DISPLAY_COORDS|GAZE_COORDS)\s+(?P<x1>{_NUM})\s+(?P<y1>{_NUM})\s+(?P<x2>{_NUM})"
    rf"\s+(?P<y2>{_NUM})"
)
_HEADER_KEY = re.compile(r"([A-Z][A-Z_ ]*[A-Z]):(?:\s+(.*))?")


def messages_table(scan: _Scan, *, offsets: bool) -> pd.DataFrame:
    """``time``, ``time_raw``, ``offset``, ``text`` and (internal) ``lineno`` of every MSG line."""
    pattern = _MSG_WITH_OFFSET if offsets else _MSG_NO_OFFSET
    time_raw, offset, text, lineno = [], [], [], []
    for n, raw in zip(scan.msg_linenos, scan.msg_raw, strict=True):
        m = pattern.match(raw)
        if m is None:
            scan.problems.add(n, "MSG\t" + raw, "MSG without a valid time stamp")
            continue
        groups = m.groupdict()
        time_raw.append(float(groups["time"]))
        offset.append(float(groups["offset"]) if groups.get("offset") is not None else np.nan)
        text.append(groups["text"] or "")
        lineno.append(n)
    time_arr = np.asarray(time_raw, dtype=np.float64)
    offset_arr = np.asarray(offset, dtype=np.float64)
    return pd.DataFrame(
        {
            "time": time_arr - np.nan_to_num(offset_arr, nan=0.0),
            "time_raw": time_arr,
            "offset": offset_arr,
            "text": pd.array(text, dtype="string"),
            "lineno": np.asarray(lineno, dtype=np.int64),
        }
    )


def event_table(scan: _Scan, kind: str) -> pd.DataFrame:
    """One end-of-event table (``EFIX``, ``ESACC`` or ``EBLINK``); malformed lines reported."""
    names = EVENT_COLUMNS[kind]
    rows, linenos = scan.events[kind], scan.event_linenos[kind]
    width = 2 + len(names)
    good = [i for i, r in enumerate(rows) if len(r) >= width and r[1] in ("L", "R")]
    raw = pd.DataFrame([rows[i][2:width] for i in good], columns=list(names), dtype=object)
    values = raw.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    bad = (values.isna() & (raw != ".")).any(axis=1).to_numpy() | values[
        ["start", "end"]
    ].isna().any(axis=1).to_numpy()
    _report(scan.problems, [good[i] for i in np.flatnonzero(bad)], rows, linenos, kind)
    _report(scan.problems, sorted(set(range(len(rows))) - set(good)), rows, linenos, kind)
    keep = [good[i] for i in np.flatnonzero(~bad)]
    table = values[~bad].reset_index(drop=True)
    table.insert(0, "eye", pd.array([rows[i][1] for i in keep], dtype="string"))
    return table


def _report(
    problems: _Problems, idx: list[int], rows: list[list[str]], linenos: list[int], kind: str
) -> None:
    for i in idx:
        problems.add(linenos[i], "\t".join(rows[i]), f"malformed {kind} line")


def _extract(messages: pd.DataFrame, pattern: re.Pattern[str], prefix: str) -> pd.DataFrame:
    """Named groups of ``pattern`` for the messages whose text starts with ``prefix``."""
    candidates = messages[messages["text"].str.startswith(prefix)]
    found = candidates["text"].str.extract(pattern)
    found = found[found.notna().any(axis=1)]
    found.insert(0, "time", candidates.loc[found.index, "time"])
    found["eye"] = found["eye"].str[0]
    return found.reset_index(drop=True)


def calibration_tables(
    messages: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Calibrations, validations and validation points from ``!CAL`` / ``VALIDATE`` messages."""
    cal = _extract(messages, _CALIBRATION, "!CAL")
    val = _extract(messages, _VALIDATION, "!CAL")
    points = _extract(messages, _VALIDATE_POINT, "VALIDATE")
    for table, numeric in (
        (val, ("error_avg_deg", "error_max_deg", "offset_deg", "offset_x_px", "offset_y_px")),
        (points, ("target_x_px", "target_y_px", "offset_deg", "offset_x_px", "offset_y_px")),
    ):
        for col in numeric:
            table[col] = pd.to_numeric(table[col]).astype(np.float64)
    for table in (cal, val, points):
        for col in ("type", "eye", "result"):
            if col in table:
                table[col] = table[col].astype("string")
    points["point"] = points["point"].astype(np.int64)
    # Each point belongs to the latest validation of its eye at or before it.
    which = pd.array([pd.NA] * len(points), dtype="Int64")
    for i, (t, eye) in enumerate(zip(points["time"], points["eye"], strict=True)):
        earlier = np.flatnonzero((val["time"].to_numpy() <= t) & (val["eye"] == eye).to_numpy())
        if len(earlier):
            which[i] = int(earlier[-1])
    points["validation"] = which
    return cal, val, points


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
    table = pd.DataFrame(rows, columns=["time", "kind", "value", "state"])
    table["kind"] = table["kind"].astype("string")
    return table.astype({"time": np.float64, "value": np.float64, "state": np.float64})


def display_size(messages: pd.DataFrame, oddities: list[str]) -> tuple[int, int] | None:
    """``(width, height)`` from the first ``DISPLAY_COORDS``, else the first ``GAZE_COORDS``."""
    found = messages["text"].str.extract(_COORDS).dropna()
    for kind in ("DISPLAY_COORDS", "GAZE_COORDS"):
        rows = found[found["kind"] == kind]
        if len(rows):
            coords = rows[["x1", "y1", "x2", "y2"]].astype(np.float64).to_numpy()
            sizes = np.rint(coords[:, 2:] - coords[:, :2] + 1).astype(int)
            size = (int(sizes[0, 0]), int(sizes[0, 1]))
            distinct = sorted({(int(w), int(h)) for w, h in sizes})
            if len(distinct) > 1:
                oddities.append(f"several {kind} sizes {distinct}; using the first, {size}")
            return size
    return None


def header_info(lines: list[str]) -> tuple[dict[str, str], str | None]:
    """``KEY: value`` pairs of the ``**`` header lines, and the tracker model or version."""
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
    model = None
    for line in loose:
        if line.upper().startswith("EYELINK"):
            inner = re.search(r"\(([^)]*)\)\s*$", line)
            model = inner.group(1) if inner else " ".join(line.split())
            break
    return header, model
