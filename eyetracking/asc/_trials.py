"""Trials of an EyeLink ASC file: TRIALID ... TRIAL_RESULT, trial variables and image placement."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._blocks import _Block, _Problems

__all__: list[str] = []

_TRIAL_VAR = re.compile(r"!V\s+TRIAL_VAR\s+(?P<name>\S+)(?:\s+(?P<value>.*))?\Z", re.S)
_INT = re.compile(r"[-+]?\d+")
_LEADING_ZERO = re.compile(r"[+-]?0\d")
_BASE_COLUMNS = (
    "trial_id",
    "start",
    "end",
    "result",
    "onset",
    "img_path",
    "img_mode",
    "img_x",
    "img_y",
    "img_left",
    "img_top",
    "img_width",
    "img_height",
)
_IMG_MODES = ("FILL", "CENTER", "TOP_LEFT")


@dataclass
class TrialIndex:
    """Trial intervals sorted by start, to give any time its ``trial_id``.

    ``start_lines``/``end_lines`` are the file lines of the messages that open
    and close each trial (``inf`` when no message closes it): a message
    written at the very millisecond a trial starts or ends belongs to it only
    if it comes after the start message, or before the end message, in the
    file.
    """

    starts: np.ndarray
    ends: np.ndarray
    ids: np.ndarray
    dtype: str
    start_lines: np.ndarray
    end_lines: np.ndarray

    def _locate(self, times: np.ndarray, lines: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Index of the trial that holds each time (0 where none), and whether one does."""
        n = len(self.starts)
        if not n:
            return np.zeros(len(times), dtype=np.int64), np.zeros(len(times), dtype=bool)
        k = np.searchsorted(self.starts, times, side="right") - 1
        if lines is not None:
            tie = (k >= 0) & (times == self.starts[np.maximum(k, 0)])
            tie &= lines < self.start_lines[np.maximum(k, 0)]
            k = np.where(tie, np.searchsorted(self.starts, times, side="left") - 1, k)
        ok = k >= 0
        np.maximum(k, 0, out=k)
        ok &= times <= self.ends[k]
        if lines is not None:
            ok &= (times < self.ends[k]) | (lines <= self.end_lines[k])
        return k, ok

    def assign(
        self, times: np.ndarray, lines: np.ndarray | None = None
    ) -> pd.api.extensions.ExtensionArray:
        """``trial_id`` of the trial whose ``[start, end]`` holds each time; NA outside trials.

        Works through long inputs (samples) in slices, to keep its temporaries small.
        """
        times = np.asarray(times, dtype=np.float64)
        total = len(times)
        which = np.empty(total, dtype=np.int64)
        missing = np.empty(total, dtype=bool)
        for lo in range(0, total, _SLICE):
            hi = min(lo + _SLICE, total)
            k, ok = self._locate(times[lo:hi], None if lines is None else lines[lo:hi])
            which[lo:hi] = self.ids[k] if self.dtype == "Int64" and len(self.ids) else k
            missing[lo:hi] = ~ok
        if self.dtype == "Int64":
            if not len(self.ids):
                which[:] = 0
            return pd.arrays.IntegerArray(which, missing)
        return _take_strings(self.ids, which, missing)


#: Elements per slice when assigning trials to long tables.
_SLICE = 1 << 20


def _take_strings(
    ids: np.ndarray, which: np.ndarray, missing: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """``ids[which]`` (NA where ``missing``) as a pandas string array."""
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow":
        import pyarrow as pa

        taken = pa.array(ids.tolist(), type=pa.string()).take(
            pa.array(which, mask=missing, type=pa.int64())
        )
        return pd.array(taken, dtype=dtype)
    labels = np.full(len(which), None, dtype=object)
    labels[~missing] = ids[which[~missing]]
    return pd.array(labels, dtype=dtype)


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _match_prefix(pattern: re.Pattern[str], text: str, group: str = "id") -> str | None:
    """The rest of ``text`` after ``pattern`` matched at its start, as a whole word; else None.

    When the pattern has a group named ``group``, that group instead.
    """
    m = pattern.match(text)
    if m is None:
        return None
    if group in pattern.groupindex:
        return (m.group(group) or "").strip()
    rest = text[m.end() :]
    if rest and not rest[0].isspace():
        return None
    return rest.strip()


def _imgload(text: str, display: tuple[int, int] | None) -> dict[str, object] | None:
    """The ``img_*`` columns of one ``!V IMGLOAD <mode> <path> [x y [w h]]`` message."""
    tokens = text.split()
    if len(tokens) < 4 or tokens[2].upper() not in _IMG_MODES:
        return None
    mode, path = tokens[2].upper(), tokens[3]
    try:
        nums = [float(t) for t in tokens[4:]]
    except ValueError:
        return None
    nan = math.nan
    out: dict[str, object] = {"img_path": path, "img_mode": mode, "img_x": nan, "img_y": nan}
    if mode == "FILL":
        width, height = display if display is not None else (nan, nan)
        out.update(img_left=0.0, img_top=0.0, img_width=float(width), img_height=float(height))
        return out
    if len(nums) not in (2, 4):
        return None
    x, y = nums[0], nums[1]
    width, height = (nums[2], nums[3]) if len(nums) == 4 else (nan, nan)
    if mode == "CENTER":
        left, top = x - width / 2.0, y - height / 2.0
    else:
        left, top = x, y
    out.update(img_x=x, img_y=y, img_left=left, img_top=top, img_width=width, img_height=height)
    return out


def _anchors(
    messages: pd.DataFrame,
    texts: list[str],
    blocks: list[_Block],
    trial_start: re.Pattern[str],
    oddities: list[str],
) -> tuple[list[int], list[float], list[str], list[float]]:
    """Line, start time, id and fixed end (NaN: to be found) of every trial, in file order."""
    hits = [k for k, text in enumerate(texts) if trial_start.match(text)]
    linenos: list[int] = []
    starts: list[float] = []
    ids: list[str] = []
    all_lines, all_times = messages["lineno"].to_numpy(), messages["time"].to_numpy()
    for k in hits:
        lineno, time, text = all_lines[k], all_times[k], texts[k]
        trial_id = _match_prefix(trial_start, text)
        if trial_id is None:
            continue
        if not trial_id:
            trial_id = str(len(ids))
            oddities.append(f"trial-start message at line {lineno} has no id; using {trial_id}")
        linenos.append(int(lineno))
        starts.append(float(time))
        ids.append(trial_id)
    if ids:
        return linenos, starts, ids, [math.nan] * len(ids)
    return (
        [b.lineno for b in blocks],
        [b.start for b in blocks],
        [str(b.index) for b in blocks],
        [b.end for b in blocks],
    )


def _owner_rows(owner: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rows where ``mask`` holds, of messages that belong to a trial."""
    return np.flatnonzero(mask & (owner >= 0))


def _first_rows(owner: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The first row of each trial where ``mask`` holds."""
    rows = _owner_rows(owner, mask)
    _, first = np.unique(owner[rows], return_index=True)
    return rows[first]


def trials_table(
    messages: pd.DataFrame,
    texts: list[str],
    blocks: list[_Block],
    *,
    trial_start: re.Pattern[str],
    trial_end: re.Pattern[str],
    onset_message: str,
    display: tuple[int, int] | None,
    file_end: float,
    problems: _Problems,
    oddities: list[str],
) -> tuple[pd.DataFrame, TrialIndex]:
    """One row per trial, and the index that gives other tables their ``trial_id``.

    Trials start at the messages that match ``trial_start`` (the id is the rest
    of the text, or its group ``id``), or, when there is none, at each
    ``START`` line. Messages belong to the trial whose start message precedes
    them in the file (TRIAL_VAR messages may follow ``END``).
    """
    linenos, starts, ids, fixed_ends = _anchors(messages, texts, blocks, trial_start, oddities)
    n = len(ids)
    msg_lines = messages["lineno"].to_numpy()
    owner = np.searchsorted(np.asarray(linenos, dtype=np.int64), msg_lines, "right") - 1
    times = messages["time"].to_numpy()
    is_v = np.array([t.startswith("!V") for t in texts], dtype=bool)
    variables: list[dict[str, str]] = [{} for _ in range(n)]
    images: list[dict[str, object] | None] = [None] * n
    for k in _owner_rows(owner, is_v).tolist():
        var = _TRIAL_VAR.match(texts[k])
        if var is not None:
            variables[owner[k]][var.group("name")] = (var.group("value") or "").strip()
        elif texts[k].split(None, 2)[1:2] == ["IMGLOAD"]:
            image = _imgload(texts[k], display)
            if image is None:
                line = f"MSG\t{texts[k]}"
                problems.add(int(msg_lines[k]), line, "malformed !V IMGLOAD message")
            else:
                images[owner[k]] = image
    onset = np.full(n, math.nan)
    prefix = onset_message + " "
    is_onset = np.array([t == onset_message or t.startswith(prefix) for t in texts], dtype=bool)
    first_onsets = _first_rows(owner, is_onset & ~is_v)
    onset[owner[first_onsets]] = times[first_onsets]
    result_time = [math.nan] * n
    end_lines = [math.inf] * n
    result = [math.nan] * n
    several_results = []
    is_end = np.array([trial_end.match(t) is not None for t in texts], dtype=bool) & ~is_v
    # The message that gave a trial its onset does not also end it.
    taken = set(first_onsets.tolist())
    for k in _owner_rows(owner, is_end).tolist():
        if k in taken:
            continue
        code = _match_prefix(trial_end, texts[k], group="result")
        if code is None:
            continue
        j = owner[k]
        if not math.isnan(result_time[j]):
            several_results.append(ids[j])
            continue
        result_time[j] = float(times[k])
        end_lines[j] = float(msg_lines[k])
        result[j] = _to_float(code)
    if several_results:
        oddities.append(
            f"{len(several_results)} trial(s) have several trial-end messages "
            f"(first: trial {several_results[0]}); the first one ends the trial"
        )

    start_arr = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(fixed_ends, dtype=np.float64)
    by_time = np.argsort(start_arr, kind="stable")
    next_start = np.searchsorted(start_arr[by_time], start_arr, side="right")
    block_end = max((b.end for b in blocks if not math.isnan(b.end)), default=math.nan)
    for j in range(n):
        if not math.isnan(result_time[j]) and math.isnan(ends[j]):
            ends[j] = result_time[j]
        if math.isnan(ends[j]):
            if next_start[j] < n:
                later = int(by_time[next_start[j]])
                ends[j] = start_arr[later]
                end_lines[j] = float(linenos[later])
            elif block_end >= start_arr[j]:
                ends[j] = block_end
            else:
                ends[j] = file_end
    if n > 1 and np.any(np.diff(start_arr) < 0):
        first = linenos[int(np.flatnonzero(np.diff(start_arr) < 0)[0]) + 1]
        oddities.append(f"trials are not in time order (first out of order at line {first})")
    if len(set(ids)) < n:
        oddities.append("some trial ids occur more than once; joins on trial_id are ambiguous")

    as_int = all(_INT.fullmatch(i) for i in ids)
    id_values = np.array(
        [int(i) for i in ids] if as_int else ids, dtype=np.int64 if as_int else object
    )
    columns: dict[str, Any] = {
        "trial_id": id_values if as_int else pd.array(ids, dtype="string"),
        "start": start_arr,
        "end": ends,
        "result": np.asarray(result, dtype=np.float64),
        "onset": np.asarray(onset, dtype=np.float64),
    }
    for col in _BASE_COLUMNS[5:]:
        if col in ("img_path", "img_mode"):
            labels = [None if im is None else str(im[col]) for im in images]
            columns[col] = pd.array(labels, dtype="string")
        else:
            values = [math.nan if im is None else im[col] for im in images]
            columns[col] = np.asarray(values, dtype=np.float64)
    _add_variables(columns, variables, oddities)
    table = pd.DataFrame(columns)

    order = np.argsort(start_arr, kind="stable")
    index = TrialIndex(
        starts=start_arr[order],
        ends=ends[order],
        ids=id_values[order],
        dtype="Int64" if as_int else "string",
        start_lines=np.asarray(linenos, dtype=np.float64)[order],
        end_lines=np.asarray(end_lines, dtype=np.float64)[order],
    )
    return table, index


def _variable_column(values: list[str | None]) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """``int64`` when every value is an integer, ``float64`` when every value (or the
    present ones) is a number, else ``string``.

    A value written with a leading zero (``"007"``, ``"0.50"`` is fine) keeps the whole
    column as text: such values are identifiers, and a number would lose the zeros.
    """
    present = [v for v in values if v is not None]
    if any(_LEADING_ZERO.match(v) for v in present):
        return pd.array(values, dtype="string")
    if all(_INT.fullmatch(v) for v in present) and len(present) == len(values):
        return np.array([int(v) for v in present], dtype=np.int64)
    try:
        if any("_" in v for v in present):
            raise ValueError
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    except ValueError:
        return pd.array(values, dtype="string")


def _add_variables(
    columns: dict[str, Any], variables: list[dict[str, str]], oddities: list[str]
) -> None:
    """One column per TRIAL_VAR name; numeric when every value parses as a number."""
    names = list(dict.fromkeys(name for v in variables for name in v))
    for name in names:
        target = name
        if name in columns:
            target = f"var_{name}"
            oddities.append(
                f"TRIAL_VAR {name!r} clashes with a trials column; stored as {target!r}"
            )
        columns[target] = _variable_column([v.get(name) for v in variables])
