"""Read an EyeLink ASC file (edf2asc output) into a :class:`Recording` of tidy tables."""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._asc_samples import block_layout, samples_table
from ._asc_scan import _Block, _Scan, scan_bytes
from ._asc_tables import (
    calibration_tables,
    display_size,
    event_table,
    header_info,
    inputs_table,
    messages_table,
)
from ._asc_trials import TrialIndex, trials_table
from .protocol import IMAGE_ONSET
from .recording import Recording

__all__ = ["read_asc"]


def read_asc(
    path: str | os.PathLike[str],
    *,
    trial_start: str = r"TRIALID",
    trial_end: str = r"TRIAL_RESULT",
    onset_message: str = IMAGE_ONSET,
    message_offsets: bool = True,
    encoding: str | None = None,
) -> Recording:
    """Read an EyeLink ASC file into tables of samples, events, messages and trials.

    Parameters
    ----------
    path : path-like
        The ``.asc`` file written by SR Research's ``edf2asc`` (or by the
        simulated tracker). Line endings may be LF or CRLF.
    trial_start : str
        Regular expression matched at the start of a message text that opens
        a trial; the trial id is the rest of the text (or the regex's group
        named ``id``). When no message matches, every ``START`` ... ``END``
        recording block is a trial, numbered from 0.
    trial_end : str
        Regular expression of the message that ends a trial; the rest of its
        text is the trial's ``result`` code.
    onset_message : str
        Message text (or its first word) that marks the stimulus onset; its
        time goes to ``trials.onset``.
    message_offsets : bool
        Read a leading integer of a message as EyeLink's time offset: for
        ``MSG <t> <offset> <text>`` the event time is ``t - offset`` (as in
        SR Research's Data Viewer; a negative offset marks an event after the
        message was written). With False, the integer stays in the text.
    encoding : str, optional
        Text encoding of messages and header; by default UTF-8, falling back
        to Latin-1 for lines that are not valid UTF-8.

    Returns
    -------
    Recording
        Tables whose columns and dtypes are listed in :class:`Recording`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is an EDF (binary) file, or holds neither samples nor eye
        events.

    Warns
    -----
    UserWarning
        Once for all unrecognised or malformed lines (their number and the
        first one), and once per odd but usable feature of the file (a block
        without ``END``, trials out of time order, ...).

    Notes
    -----
    Lines are sorted by their first token. Sample lines (those that start
    with a digit) are found on the raw bytes and parsed in bulk per recording
    block (missing values ``.`` become NaN; the flags, input and other
    trailing columns are not read); the other lines are handled one by one.

    Each sample, event (by its start) and message (by its event time) gets
    the ``trial_id`` of the trial whose ``[start, end]`` interval holds it; a
    message written in the very millisecond a trial starts or ends belongs to
    it only if it comes after the start (before the end) message in the file.
    ``TRIAL_VAR``, ``IMGLOAD``, ``TRIAL_RESULT`` and onset messages belong to
    the trial whose start message precedes them in the file, so that
    variables sent after ``END`` still reach their trial.

    The message time offset follows SR Research's Data Viewer ("How can I take
    advantage of the timing offset in sending messages?", SR Research support
    forum): ``true event time = time message was sent - offset``. Some readers
    (e.g. the R package eyelinkReader) document the opposite sign; the raw
    ``time_raw`` and ``offset`` columns keep what the file says.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        start_re, end_re = re.compile(trial_start), re.compile(trial_end)
    except re.error as err:
        raise ValueError(
            f"Invalid value for the 'trial_start' or 'trial_end' parameter: must be a "
            f"regular expression, but got {trial_start!r} / {trial_end!r} ({err})."
        ) from None
    try:
        scan = scan_bytes(data, encoding=encoding)
    except ValueError as err:
        raise ValueError(f"Cannot read {path}: {err}") from None
    return _build(path, scan, start_re, end_re, onset_message, message_offsets)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise FileNotFoundError(f"EyeLink ASC file not found: {path}")
    if path.is_dir():
        raise ValueError(f"Expected an EyeLink ASC file, but {path} is a folder.")
    data = path.read_bytes()
    if path.suffix.lower() == ".edf" or b"\x00" in data[:65536]:
        raise ValueError(
            f"{path} is a binary (EDF) file; read_asc reads the text ASC file that "
            "edf2asc makes from it (or use read_edf)."
        )
    return data


def _warn(path: Path, scan: _Scan) -> None:
    p = scan.problems
    if p.count:
        warnings.warn(
            f"Skipped {p.count} unrecognised or malformed line(s) in {path.name}; the first is "
            f"line {p.first_lineno} ({p.first_reason}): {p.first_line[:80]!r}",
            stacklevel=4,
        )
    for note in dict.fromkeys(scan.oddities):
        warnings.warn(f"{path.name}: {note}.", stacklevel=4)


def _blocks_table(blocks: list[_Block], counts: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "block": np.arange(len(blocks), dtype=np.int64),
            "start": np.array([b.start for b in blocks], dtype=np.float64),
            "end": np.array([b.end for b in blocks], dtype=np.float64),
            "eyes": pd.array([b.eyes for b in blocks], dtype="string"),
            "sample_rate_hz": np.array([b.sample_rate_hz for b in blocks], dtype=np.float64),
            "pupil_type": pd.array([b.pupil_type for b in blocks], dtype="string"),
            "layout": pd.array([" ".join(block_layout(b)) for b in blocks], dtype="string"),
            "n_samples": np.asarray(counts, dtype=np.int64),
        }
    )


def _sample_rate(blocks: pd.DataFrame, oddities: list[str]) -> float | None:
    rates = blocks["sample_rate_hz"].dropna().unique()
    if len(rates) == 0:
        return None
    if len(rates) > 1:
        oddities.append(f"blocks have different sample rates {sorted(rates)}; using the first")
    return float(rates[0])


def _with_trials(table: pd.DataFrame, times: np.ndarray, index: TrialIndex) -> pd.DataFrame:
    table["trial_id"] = index.assign(times)
    return table


def _build(
    path: Path,
    scan: _Scan,
    trial_start: re.Pattern[str],
    trial_end: re.Pattern[str],
    onset_message: str,
    message_offsets: bool,
) -> Recording:
    columns, counts = samples_table(scan.blocks, scan.problems)
    events = {kind: event_table(scan, kind) for kind in ("EFIX", "ESACC", "EBLINK")}
    if len(columns["time"]) == 0 and not any(len(t) for t in events.values()):
        _warn(path, scan)
        raise ValueError(
            f"No samples and no eye events in {path}: is it an EyeLink ASC file "
            "(converted by edf2asc with samples or events)?"
        )
    messages = messages_table(scan, offsets=message_offsets)
    display = display_size(messages, scan.oddities)
    times = [columns["time"], messages["time"].to_numpy()]
    times += [t["end"].to_numpy() for t in events.values()]
    file_end = max((float(np.nanmax(t)) for t in times if len(t)), default=math.nan)
    trials, index = trials_table(
        messages,
        scan.blocks,
        trial_start=trial_start,
        trial_end=trial_end,
        onset_message=onset_message,
        display=display,
        file_end=file_end,
        problems=scan.problems,
        oddities=scan.oddities,
    )
    samples = pd.DataFrame(
        {
            "time": columns["time"],
            "eye": pd.array(columns["eye"], dtype="string"),
            "x": columns["x"],
            "y": columns["y"],
            "pupil": columns["pupil"],
        }
    )
    samples["trial_id"] = index.assign(columns["time"])
    samples["block"] = columns["block"]
    fixations, saccades, blinks = (
        _with_trials(events[k], events[k]["start"].to_numpy(), index)
        for k in ("EFIX", "ESACC", "EBLINK")
    )
    calibrations, validations, points = calibration_tables(messages)
    messages["trial_id"] = index.assign(messages["time"].to_numpy(), messages["lineno"].to_numpy())
    messages = messages.drop(columns="lineno")
    blocks = _blocks_table(scan.blocks, counts)
    header, model = header_info(scan.header_lines)
    recording = Recording(
        samples=samples,
        fixations=fixations,
        saccades=saccades,
        blinks=blinks,
        messages=messages,
        trials=trials,
        blocks=blocks,
        calibrations=calibrations,
        validations=validations,
        validation_points=points,
        inputs=inputs_table(scan),
        display_size_px=display,
        sample_rate_hz=_sample_rate(blocks, scan.oddities),
        eyes=tuple(
            e
            for e in "LR"
            if any(e in b.eyes for b in scan.blocks)
            or any((t["eye"] == e).any() for t in events.values())
        ),
        tracker_model=model,
        header=header,
        path=path,
    )
    _warn(path, scan)
    return recording
