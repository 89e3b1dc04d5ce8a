"""One eye of a recording as BIDS ``_physio`` (samples) and ``_physioevents`` (its events)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._labels import BidsExportError

if TYPE_CHECKING:
    import pandas as pd

    from eyetracking import Recording

__all__ = [
    "PHYSIOEVENTS_COLUMNS",
    "PHYSIO_COLUMNS",
    "eye_labels",
    "physio_sidecar",
    "physio_table",
    "physioevents_sidecar",
    "physioevents_table",
    "sampling_frequency",
]

#: Columns of ``_physio.tsv.gz`` (no header line; named in the sidecar's ``Columns``).
PHYSIO_COLUMNS = ("timestamp", "x_coordinate", "y_coordinate", "pupil_size")
#: Columns of ``_physioevents.tsv.gz``.
PHYSIOEVENTS_COLUMNS = (
    "onset",
    "duration",
    "trial_type",
    "message",
    "trial_id",
    "x_coordinate",
    "y_coordinate",
    "pupil_size",
    "x_start",
    "y_start",
    "amplitude",
    "peak_velocity",
)
_EYE_NAMES = {"L": "left", "R": "right"}
_FILTERS = {0: "off", 1: "standard", 2: "extra"}
_SIMULATED_MANUFACTURER = (
    "selectivity (simulated tracker: no eye-tracking hardware; samples and events generated "
    "by selectivity's simulated observer, written in EyeLink's ASC format)"
)


def sampling_frequency(recording: Recording, where: object) -> float:
    """The one sampling rate of the recording's blocks (Hz).

    Raises
    ------
    BidsExportError
        The blocks have several rates (BIDS: one ``SamplingFrequency`` per file) or none.
    """
    rates = sorted({float(r) for r in recording.blocks["sample_rate_hz"].dropna()})
    if not rates and recording.sample_rate_hz:
        rates = [float(recording.sample_rate_hz)]
    if len(rates) != 1:
        raise BidsExportError(
            f"{where}: the recording blocks have sampling rates {rates} Hz; a BIDS physio file "
            "has one SamplingFrequency."
        )
    return rates[0]


def physio_table(recording: Recording, eye: str) -> pd.DataFrame:
    """The samples of ``eye`` ("L"/"R"): timestamp (tracker ms), x, y (screen px), pupil.

    Samples are written as the tracker recorded them, in file order: between recording
    blocks (EyeLink records trial by trial) there are none, and the ``timestamp``
    column says where the gaps are.
    """
    import pandas as pd

    samples = recording.samples[recording.samples["eye"] == eye]
    return pd.DataFrame(
        {
            "timestamp": samples["time"].to_numpy(dtype=float),
            "x_coordinate": samples["x"].to_numpy(dtype=float),
            "y_coordinate": samples["y"].to_numpy(dtype=float),
            "pupil_size": samples["pupil"].to_numpy(dtype=float),
        }
    )


def physioevents_table(recording: Recording, eye: str) -> pd.DataFrame:
    """The parser's fixations, saccades and blinks of ``eye``, and every message, by onset.

    ``onset`` is on the tracker clock (ms, the physio ``timestamp``); ``duration`` in
    seconds (EyeLink's duration: end - start plus one sample interval).
    """
    import pandas as pd

    def events(kind: str, table: pd.DataFrame, **columns: str) -> pd.DataFrame:
        rows = table[table["eye"] == eye]
        out = pd.DataFrame(
            {
                "onset": rows["start"].to_numpy(dtype=float),
                "duration": rows["duration"].to_numpy(dtype=float) / 1000.0,
                "trial_type": kind,
                "trial_id": rows["trial_id"].astype(object).to_numpy(),
            }
        )
        for target, source in columns.items():
            out[target] = rows[source].to_numpy(dtype=float)
        return out

    messages = recording.messages
    parts = [
        events(
            "fixation", recording.fixations, x_coordinate="x", y_coordinate="y", pupil_size="pupil"
        ),
        events(
            "saccade",
            recording.saccades,
            x_start="x_start",
            y_start="y_start",
            x_coordinate="x_end",
            y_coordinate="y_end",
            amplitude="amplitude_deg",
            peak_velocity="peak_velocity",
        ),
        events("blink", recording.blinks),
        pd.DataFrame(
            {
                "onset": messages["time"].to_numpy(dtype=float),
                "duration": 0.0,
                "message": messages["text"].astype(object).to_numpy(),
                "trial_id": messages["trial_id"].astype(object).to_numpy(),
            }
        ),
    ]
    table = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=list(PHYSIOEVENTS_COLUMNS))
    )
    table = table.reindex(columns=list(PHYSIOEVENTS_COLUMNS))
    table["duration"] = table["duration"].round(6)
    return table.sort_values("onset", kind="stable").reset_index(drop=True)


def _calibration(recording: Recording, eye: str) -> dict[str, Any]:
    """Calibration figures of ``eye`` from the file's calibration and validation results."""
    out: dict[str, Any] = {}
    calibrations = recording.calibrations[recording.calibrations["eye"] == eye]
    validations = recording.validations[recording.validations["eye"] == eye]
    out["CalibrationCount"] = len(calibrations)
    if len(calibrations):
        out["CalibrationType"] = str(calibrations["type"].iloc[-1])
    if len(validations):
        last = validations.iloc[-1]
        for key, column in (
            ("AverageCalibrationError", "error_avg_deg"),
            ("MaximalCalibrationError", "error_max_deg"),
        ):
            if not math.isnan(float(last[column])):
                out[key] = float(last[column])
        points = recording.validation_points
        points = points[points["validation"] == validations.index[-1]]
        if len(points):
            out["CalibrationPosition"] = [
                [float(x), float(y)]
                for x, y in zip(points["target_x_px"], points["target_y_px"], strict=True)
            ]
            out["CalibrationUnit"] = "pixel"
    return out


def _pupil_fit(recording: Recording) -> str | None:
    texts = recording.messages["text"].dropna().astype(str)
    proc = texts[texts.str.startswith("ELCL_PROC")]
    if not len(proc):
        return None
    word = proc.iloc[0].split()[1].upper() if len(proc.iloc[0].split()) > 1 else ""
    return {"CENTROID": "centre-of-mass", "ELLIPSE": "ellipse"}.get(word, word.lower() or None)


def physio_sidecar(
    recording: Recording,
    eye: str,
    *,
    simulated: bool,
    model: str | None,
    where: object,
) -> dict[str, Any]:
    """The ``_recording-eye<n>_physio.json`` of one eye.

    Parameters
    ----------
    recording : Recording
        The tracker file.
    eye : {"L", "R"}
        The eye.
    simulated : bool
        The file comes from selectivity's simulated tracker: the manufacturer says so
        and no hardware settings (tracking method, filters) are claimed.
    model : str, optional
        The tracker model from ``session.json`` (used for the simulated tracker).
    where : object
        The session folder, for messages.
    """
    blocks = recording.blocks
    data_type = str(blocks["data_type"].dropna().iloc[0]) if len(blocks) else "GAZE"
    if data_type != "GAZE":
        raise BidsExportError(
            f"{where}: the tracker file holds {data_type} samples; the export writes gaze on "
            "the screen (GAZE samples) only."
        )
    pupil = str(blocks["pupil_type"].dropna().iloc[0]).lower() if len(blocks) else "area"
    clock = "selectivity's simulated tracker clock" if simulated else "the EyeLink tracker clock"
    sidecar: dict[str, Any] = {
        "SamplingFrequency": sampling_frequency(recording, where),
        "StartTime": 0,
        "Columns": list(PHYSIO_COLUMNS),
        "PhysioType": "eyetrack",
        "RecordedEye": _EYE_NAMES[eye],
        "SampleCoordinateSystem": "gaze-on-screen",
        "SampleCoordinateUnits": "pixel",
    }
    if simulated:
        sidecar["Manufacturer"] = _SIMULATED_MANUFACTURER
        sidecar["ManufacturersModelName"] = model or "selectivity SimulatedTracker"
        sidecar["EyeTrackingMethod"] = "simulated (no eye was recorded)"
    else:
        sidecar["Manufacturer"] = "SR Research"
        header_model = recording.header.get("VERSION")
        name = recording.tracker_model or header_model
        if name:
            sidecar["ManufacturersModelName"] = str(name)
        if recording.tracker_version:
            sidecar["SoftwareVersions"] = str(recording.tracker_version)
        if recording.header.get("SERIAL NUMBER"):
            sidecar["DeviceSerialNumber"] = str(recording.header["SERIAL NUMBER"])
        modes = set(blocks["tracking_mode"].dropna().astype(str))
        if modes:
            sidecar["EyeTrackingMethod"] = "P-CR" if modes == {"CR"} else "pupil only"
        levels = sorted({int(v) for v in blocks["filter_level"].dropna()})
        if levels:
            sidecar["RawDataFilters"] = "EyeLink file sample filter " + ", ".join(
                f"{_FILTERS.get(v, v)} (FILTER {v})" for v in levels
            )
        fit = _pupil_fit(recording)
        if fit:
            sidecar["PupilFitMethod"] = fit
    sidecar.update(_calibration(recording, eye))
    sidecar["timestamp"] = {
        "Description": f"Time of the sample on {clock}, as the tracker file writes it. Samples "
        "exist only while the tracker recorded (EyeLink records trial by trial): gaps between "
        "recording blocks show as jumps in this column. The events file's onsets count from "
        "the run's first sample (StartTime 0).",
        "Units": "ms",
        "Origin": "the tracker's clock start",
    }
    for axis in ("x", "y"):
        sidecar[f"{axis}_coordinate"] = {
            "LongName": f"Gaze position ({axis})",
            "Description": f"Gaze {axis} on the screen, pixels, origin at the top-left pixel's "
            "centre, x to the right, y down (EyeLink's DISPLAY_COORDS); n/a while the eye "
            "was lost (blinks).",
            "Units": "pixel",
        }
    sidecar["pupil_size"] = {
        "Description": f"Pupil {pupil} of the recorded eye in the tracker's arbitrary units "
        "(0 while the pupil was lost).",
        "Units": "arbitrary",
    }
    return sidecar


def physioevents_sidecar(*, simulated: bool) -> dict[str, Any]:
    """The ``_physioevents.json`` of one eye."""
    parser = "the simulated tracker's event list" if simulated else "the EyeLink parser"
    return {
        "Columns": list(PHYSIOEVENTS_COLUMNS),
        "Description": f"Fixations, saccades and blinks of this eye as {parser} marked them "
        "(EFIX, ESACC, EBLINK), and every message of the tracker file (MSG).",
        "OnsetSource": "timestamp",
        "onset": {
            "Description": "Start of the event on the tracker clock (the physio timestamp).",
            "Units": "ms",
        },
        "duration": {
            "Description": "Duration as the tracker writes it (end - start plus one sample "
            "interval); 0 for messages.",
            "Units": "s",
        },
        "trial_type": {
            "Description": "Event type; n/a for messages.",
            "Levels": {
                "fixation": "a fixation (EFIX)",
                "saccade": "a saccade (ESACC)",
                "blink": "a blink (EBLINK): the pupil was lost",
            },
        },
        "message": {"Description": "Text of a tracker message (MSG), exactly as written."},
        "trial_id": {"Description": "The trial (TRIALID) the event falls in; n/a outside."},
        "x_coordinate": {
            "Description": "Fixation: average gaze x; saccade: end x. Screen pixels, origin "
            "top left.",
            "Units": "pixel",
        },
        "y_coordinate": {
            "Description": "Fixation: average gaze y; saccade: end y. Screen pixels, origin "
            "top left, y down.",
            "Units": "pixel",
        },
        "pupil_size": {
            "Description": "Fixation: average pupil size (area or diameter, as the physio "
            "file), tracker units.",
            "Units": "arbitrary",
        },
        "x_start": {"Description": "Saccade: start x, screen pixels.", "Units": "pixel"},
        "y_start": {"Description": "Saccade: start y, screen pixels.", "Units": "pixel"},
        "amplitude": {"Description": "Saccade amplitude.", "Units": "degree"},
        "peak_velocity": {"Description": "Saccade peak velocity.", "Units": "degree/s"},
    }


def eye_labels(recording: Recording) -> list[tuple[str, str]]:
    """``(recording label, eye)`` pairs: ``eye1`` is the first eye recorded (left before right)."""
    eyes = [e for e in ("L", "R") if e in set(recording.samples["eye"].dropna().astype(str))]
    return [(f"eye{k}", eye) for k, eye in enumerate(eyes, start=1)]
