"""Read an EyeLink ASC file (edf2asc output) into a :class:`Recording` of tidy tables."""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..protocol import IMAGE_ONSET
from ..recording import Recording
from ._blocks import _Block, fill_block, nominal_layout
from ._calib import calibration_tables, drift_checks_table
from ._samples import EXTRA_COLUMNS
from ._scan import _Scan, scan_file
from ._tables import (
    display_size,
    event_table,
    header_info,
    inputs_table,
    lost_counts,
    messages_table,
)
from ._trials import TrialIndex, trials_table

__all__ = ["read_asc"]

_EDF_PROBE_BYTES = 65536
#: From this many messages on, prefix searches run in Arrow rather than Python.
_VECTOR_MIN = 1000


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
        simulated tracker). Line endings may be LF, CRLF or CR.
    trial_start : str
        Regular expression matched at the start of a message text that opens
        a trial; the trial id is the rest of the text (or the regex's group
        named ``id``). When no message matches, every ``START`` ... ``END``
        recording block is a trial, numbered from 0. For OpenSesame files
        use ``trial_start=r"start_trial"``.
    trial_end : str
        Regular expression of the message that ends a trial; the rest of its
        text (or the regex's group named ``result``) is the trial's
        ``result`` code. For OpenSesame files use
        ``trial_end=r"stop_trial(?P<result>)"`` (its trial number is not a
        result code).
    onset_message : str
        Message text (or its first word) that marks the stimulus onset; its
        time goes to ``trials.onset``.
    message_offsets : bool
        Read a leading integer of a message text as SR Research's time
        offset (see Notes). With False, the integer stays in the text and
        ``time`` is the time stamp as written.
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
        events (an empty, or a header-only truncated, file).

    Warns
    -----
    UserWarning
        Once for all unrecognised or malformed lines (their number and the
        first one); when the file ends without a newline (truncated: the
        incomplete last line is left out and the last complete line named);
        when the tracker reported lost data (``ERROR MESSAGES LOST <n>``,
        with the total); and once per odd but usable feature of the file (a
        block without ``END``, trials out of time order, ...).

    Notes
    -----
    **Message offsets.** For ``MSG <t> <offset> <text>`` the event time is
    ``t - offset``: SR Research's Data Viewer reads a message that begins
    with an integer as a time offset and places it at "True_Event_Time =
    Time_Message_Was_Sent - Offset" (SR Research support forum, "How can I
    take advantage of the timing offset in sending messages?"). A negative
    offset marks an event after the message was written, so ``MSG 1000 -8
    !V ...`` happened at 1008, not 992; Experiment Builder writes negative
    offsets for display onsets that follow the message at the next
    retrace. MNE-Python's ``read_raw_eyelink(apply_offsets=True)`` adds the
    offset instead, and pymovements keeps it in the text; ``time_raw`` and
    ``offset`` keep what the file says, for either convention.

    **Speed.** The file is read in chunks of a few MB. Lines are sorted by
    their first bytes with NumPy; sample lines are parsed per chunk and
    recording layout by pandas' C parser (the other lines turned into
    comments), end-of-event lines likewise; messages are split into time,
    offset and text by Arrow (the usual forms; Python for the rest); only the
    few remaining lines are handled one by one.

    **Trials.** Each sample, event (by its start) and message (by its event
    time) gets the ``trial_id`` of the trial whose ``[start, end]`` interval
    holds it; a message written in the very millisecond a trial starts or
    ends belongs to it only if it comes after the start (before the end)
    message in the file. ``TRIAL_VAR``, ``IMGLOAD``, ``TRIAL_RESULT`` and
    onset messages belong to the trial whose start message precedes them in
    the file, so that variables sent after ``END`` still reach their trial.
    """
    path = Path(path)
    try:
        start_re, end_re = re.compile(trial_start), re.compile(trial_end)
    except re.error as err:
        raise ValueError(
            f"Invalid value for the 'trial_start' or 'trial_end' parameter: must be a "
            f"regular expression, but got {trial_start!r} / {trial_end!r} ({err})."
        ) from None
    _check_file(path)
    with path.open("rb") as handle:
        try:
            scan = scan_file(handle, encoding=encoding)
        except ValueError as err:
            raise ValueError(f"Cannot read {path}: {err}") from None
    return _build(path, scan, start_re, end_re, onset_message, message_offsets)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"EyeLink ASC file not found: {path}")
    if path.is_dir():
        raise ValueError(f"Expected an EyeLink ASC file, but {path} is a folder.")
    with path.open("rb") as handle:
        head = handle.read(_EDF_PROBE_BYTES)
    # A text file cut short by a crash may end in NUL padding; an EDF has NULs early.
    if path.suffix.lower() == ".edf" or b"\x00" in head.rstrip(b"\x00"):
        raise ValueError(
            f"{path} is a binary (EDF) file; read_asc reads the text ASC file that "
            "edf2asc makes from it (or use read_edf)."
        )


def _warn(path: Path, scan: _Scan, lost: dict[str, int], lost_line: int | None) -> None:
    p = scan.problems
    if p.count:
        warnings.warn(
            f"Skipped {p.count} unrecognised or malformed line(s) in {path.name}; the first is "
            f"line {p.first_lineno} ({p.first_reason}): {p.first_line[:80]!r}",
            stacklevel=4,
        )
    if scan.unterminated is not None:
        warnings.warn(
            _truncation_note(path, scan) + "; the data before it were read.", stacklevel=4
        )
    if lost:
        counts = ", ".join(f"{n} {what.lower()}" for what, n in lost.items())
        warnings.warn(
            f"{path.name}: the tracker reported lost data ({counts}; first ERROR ... LOST "
            f"message at line {lost_line}); the messages are kept in Recording.messages.",
            stacklevel=4,
        )
    for note in dict.fromkeys(scan.oddities):
        warnings.warn(f"{path.name}: {note}.", stacklevel=4)


def _truncation_note(path: Path, scan: _Scan) -> str:
    line = scan.unterminated or ""
    return (
        f"{path.name} ends without a newline (truncated file?): its incomplete last line "
        f"{scan.last_good_lineno + 1} ({line[:60]!r}) was left out; the last complete line is "
        f"{scan.last_good_lineno}"
    )


def _blocks_table(blocks: list[_Block]) -> pd.DataFrame:
    filters = [b.setting("FILTER") for b in blocks]
    return pd.DataFrame(
        {
            "block": np.arange(len(blocks), dtype=np.int64),
            "start": np.array([b.start for b in blocks], dtype=np.float64),
            "end": np.array([b.end for b in blocks], dtype=np.float64),
            "eyes": pd.array([b.eyes for b in blocks], dtype="string"),
            "sample_rate_hz": np.array([b.sample_rate_hz for b in blocks], dtype=np.float64),
            "pupil_type": pd.array([b.pupil_type for b in blocks], dtype="string"),
            "layout": pd.array([" ".join(nominal_layout(b).fields) for b in blocks], "string"),
            "n_samples": np.array([b.n_samples for b in blocks], dtype=np.int64),
            "data_type": pd.array([b.data_type for b in blocks], dtype="string"),
            "tracking_mode": pd.array([b.setting("TRACKING") for b in blocks], dtype="string"),
            "filter_level": pd.array([int(f) if f.isdigit() else None for f in filters], "Int64"),
        }
    )


def _sample_rate(blocks: list[_Block], oddities: list[str]) -> float | None:
    rates = sorted({b.sample_rate_hz for b in blocks if not math.isnan(b.sample_rate_hz)})
    if not rates:
        return None
    if len(rates) > 1:
        oddities.append(f"blocks have different sample rates {rates}; using the first")
        return float(next(b.sample_rate_hz for b in blocks if not math.isnan(b.sample_rate_hz)))
    return float(rates[0])


def _eye_strings(codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The one-letter eye codes (``uint8``) as a pandas string array, without a copy per row."""
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow" and len(codes) < 2**31:
        import pyarrow as pa

        offsets = np.arange(len(codes) + 1, dtype=np.int32)
        array = pa.StringArray.from_buffers(
            len(codes), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes))
        )
        return pd.array(array, dtype=dtype)
    return pd.array(np.array(["L", "R"], dtype=object)[(codes == ord("R")).astype(int)], dtype)


def _samples_frame(
    columns: dict[str, np.ndarray], blocks: list[_Block], index: TrialIndex
) -> pd.DataFrame:
    sizes = [b.n_samples * len(b.layout.eyes) if b.layout else 0 for b in blocks]
    time = columns.pop("time")
    data = {
        "time": time,
        "eye": _eye_strings(columns.pop("eye")),
        "x": columns.pop("x"),
        "y": columns.pop("y"),
        "pupil": columns.pop("pupil"),
        "trial_id": index.assign(time),
        "block": np.repeat(np.arange(len(blocks), dtype=np.int64), sizes),
    }
    data.update({name: columns.pop(name) for name in EXTRA_COLUMNS if name in columns})
    return pd.DataFrame(data, copy=False)


def _starting(messages: pd.DataFrame, texts: list[str], prefixes: tuple[str, ...]) -> np.ndarray:
    """Rows of the messages whose text starts with one of ``prefixes`` (vectorised where the
    strings are Arrow-backed, a Python pass otherwise)."""
    column = messages["text"]
    if pd.StringDtype().storage == "pyarrow" and len(texts) > _VECTOR_MIN:
        hits = np.zeros(len(texts), dtype=bool)
        for prefix in prefixes:
            hits |= column.str.startswith(prefix).to_numpy(dtype=bool, na_value=False)
        return np.flatnonzero(hits)
    return np.array([k for k, t in enumerate(texts) if t.startswith(prefixes)], dtype=np.int64)


def _build(
    path: Path,
    scan: _Scan,
    trial_start: re.Pattern[str],
    trial_end: re.Pattern[str],
    onset_message: str,
    message_offsets: bool,
) -> Recording:
    assert scan.samples is not None
    columns = scan.samples.finish()
    scan.oddities.extend(b.layout_note for b in scan.blocks if b.layout_note)
    events = {kind: event_table(scan, kind) for kind in ("EFIX", "ESACC", "EBLINK")}
    if len(columns["time"]) == 0 and not any(len(t) for t in events.values()):
        _warn(path, scan, {}, None)
        truncated = f" ({_truncation_note(path, scan)})" if scan.unterminated else ""
        raise ValueError(
            f"No samples and no eye events in {path}{truncated}: is it an EyeLink ASC file "
            "(converted by edf2asc with samples or events)?"
        )
    for block in scan.blocks:
        fill_block(block)
    messages, texts = messages_table(scan, offsets=message_offsets)
    scan.msg_raw.clear()
    times = messages["time"].to_numpy()
    lines = messages["lineno"].to_numpy()
    lost_at = _starting(messages, texts, ("ERROR",))
    lost, lost_line = lost_counts([texts[k] for k in lost_at], lines[lost_at])
    coords_at = _starting(messages, texts, ("DISPLAY_COORDS", "GAZE_COORDS"))
    display = display_size([texts[k] for k in coords_at], scan.oddities)
    ends = [float(np.nanmax(t["end"])) for t in events.values() if len(t)]
    ends += [float(columns["time"][-1])] if len(columns["time"]) else []
    ends += [float(messages["time"].max())] if len(messages) else []
    file_end = max(ends, default=math.nan)
    trials, index = trials_table(
        messages,
        texts,
        scan.blocks,
        trial_start=trial_start,
        trial_end=trial_end,
        onset_message=onset_message,
        display=display,
        file_end=file_end,
        problems=scan.problems,
        oddities=scan.oddities,
    )
    for table in events.values():
        table["trial_id"] = index.assign(table["start"].to_numpy())
    cal_at = _starting(messages, texts, ("!CAL", "VALIDATE"))
    calibrations, validations, points = calibration_tables(
        [texts[k] for k in cal_at], times[cal_at]
    )
    drift_at = _starting(messages, texts, ("DRIFTCORRECT",))
    drift = drift_checks_table([texts[k] for k in drift_at], times[drift_at])
    drift["trial_id"] = index.assign(drift["time"].to_numpy())
    messages["trial_id"] = index.assign(messages["time"].to_numpy(), messages["lineno"].to_numpy())
    messages = messages.drop(columns="lineno")
    header, model, version = header_info(scan.header_lines)
    event_eyes = "".join(str(e) for t in events.values() for e in t["eye"].unique())
    block_eyes = "".join(b.eyes for b in scan.blocks)
    recording = Recording(
        samples=_samples_frame(columns, scan.blocks, index),
        fixations=events["EFIX"],
        saccades=events["ESACC"],
        blinks=events["EBLINK"],
        messages=messages,
        trials=trials,
        blocks=_blocks_table(scan.blocks),
        calibrations=calibrations,
        validations=validations,
        validation_points=points,
        drift_checks=drift,
        inputs=inputs_table(scan),
        display_size_px=display,
        sample_rate_hz=_sample_rate(scan.blocks, scan.oddities),
        eyes=tuple(e for e in "LR" if e in block_eyes or e in event_eyes),
        tracker_model=model,
        tracker_version=version,
        lost=lost,
        header=header,
        path=path,
    )
    _warn(path, scan, lost, lost_line)
    return recording
