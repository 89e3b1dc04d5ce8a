"""Trials of an EyeLink ASC file: TRIALID ... TRIAL_RESULT, trial variables and image placement."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._asc_scan import _Block, _Problems

__all__: list[str] = []

_TRIAL_VAR = re.compile(r"!V\s+TRIAL_VAR\s+(?P<name>\S+)(?:\s+(?P<value>.*))?\Z", re.S)
_INT = re.compile(r"[-+]?\d+")
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

    def assign(
        self, times: np.ndarray, lines: np.ndarray | None = None
    ) -> pd.api.extensions.ExtensionArray:
        """``trial_id`` of the trial whose ``[start, end]`` holds each time; NA outside trials."""
        times = np.asarray(times, dtype=np.float64)
        n = len(self.starts)
        k = np.searchsorted(self.starts, times, side="right") - 1 if n else np.full(len(times), -1)
        if n and lines is not None:
            tie = (k >= 0) & (times == self.starts[np.clip(k, 0, None)])
            tie &= lines < self.start_lines[np.clip(k, 0, None)]
            k = np.where(tie, np.searchsorted(self.starts, times, side="left") - 1, k)
        kk = np.clip(k, 0, None)
        ok = k >= 0
        if n:
            ok &= times <= self.ends[kk]
            if lines is not None:
                ok &= (times < self.ends[kk]) | (lines <= self.end_lines[kk])
        if self.dtype == "Int64":
            values = self.ids[kk].astype(np.int64) if n else np.zeros(len(times), np.int64)
            return pd.arrays.IntegerArray(values, ~ok)
        labels = np.full(len(times), None, dtype=object)
        labels[ok] = self.ids[kk[ok]]
        return pd.array(labels, dtype="string")


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _match_prefix(pattern: re.Pattern[str], text: str) -> str | None:
    """The rest of ``text`` after ``pattern`` matched at its start, as a whole word; else None."""
    m = pattern.match(text)
    if m is None:
        return None
    if "id" in pattern.groupindex:
        return (m.group("id") or "").strip()
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
    messages: pd.DataFrame, blocks: list[_Block], trial_start: re.Pattern[str], oddities: list[str]
) -> tuple[list[int], list[float], list[str], list[float]]:
    """Line, start time, id and fixed end (NaN: to be found) of every trial, in file order."""
    hits = messages[messages["text"].str.match(trial_start.pattern)]
    linenos: list[int] = []
    starts: list[float] = []
    ids: list[str] = []
    for lineno, time, text in zip(hits["lineno"], hits["time"], hits["text"], strict=True):
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


def trials_table(
    messages: pd.DataFrame,
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
    linenos, starts, ids, fixed_ends = _anchors(messages, blocks, trial_start, oddities)
    n = len(ids)
    owner = np.searchsorted(np.asarray(linenos, dtype=np.int64), messages["lineno"], "right") - 1
    result_time = [math.nan] * n
    end_lines = [math.inf] * n
    result = [math.nan] * n
    onset = [math.nan] * n
    images: list[dict[str, object] | None] = [None] * n
    variables: list[dict[str, str]] = [{} for _ in range(n)]
    several_results = []
    for j, lineno, time, text in zip(
        owner, messages["lineno"], messages["time"], messages["text"], strict=True
    ):
        if j < 0:
            continue
        if text.startswith("!V"):
            var = _TRIAL_VAR.match(text)
            if var is not None:
                variables[j][var.group("name")] = (var.group("value") or "").strip()
            elif text.split(None, 2)[1:2] == ["IMGLOAD"]:
                image = _imgload(text, display)
                if image is None:
                    problems.add(int(lineno), f"MSG\t{text}", "malformed !V IMGLOAD message")
                else:
                    images[j] = image
            continue
        if math.isnan(onset[j]) and (text == onset_message or text.startswith(onset_message + " ")):
            onset[j] = float(time)
            continue
        code = _match_prefix(trial_end, text)
        if code is not None:
            if not math.isnan(result_time[j]):
                several_results.append(ids[j])
                continue
            result_time[j] = float(time)
            end_lines[j] = float(lineno)
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
    table = pd.DataFrame(
        {
            "trial_id": id_values if as_int else pd.array(ids, dtype="string"),
            "start": start_arr,
            "end": ends,
            "result": np.asarray(result, dtype=np.float64),
            "onset": np.asarray(onset, dtype=np.float64),
        }
    )
    img = pd.DataFrame(
        [im or {} for im in images], index=table.index, columns=list(_BASE_COLUMNS[5:])
    )
    for col in _BASE_COLUMNS[5:]:
        table[col] = img[col].astype("string" if col in ("img_path", "img_mode") else np.float64)
    _add_variables(table, variables, oddities)

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


def _add_variables(
    table: pd.DataFrame, variables: list[dict[str, str]], oddities: list[str]
) -> None:
    """One column per TRIAL_VAR name; numeric when every value parses as a number."""
    names = list(dict.fromkeys(name for v in variables for name in v))
    for name in names:
        raw = pd.Series([v.get(name) for v in variables], index=table.index, dtype="string")
        try:
            column: pd.Series = pd.to_numeric(raw.astype(object), errors="raise")
        except (ValueError, TypeError):
            column = raw
        target = name
        if name in table.columns:
            target = f"var_{name}"
            oddities.append(
                f"TRIAL_VAR {name!r} clashes with a trials column; stored as {target!r}"
            )
        table[target] = column
