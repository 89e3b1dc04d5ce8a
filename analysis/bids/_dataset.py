"""The dataset-level files: dataset_description.json, participants, README, stimuli/."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._labels import BidsExportError

if TYPE_CHECKING:
    from ._sessions import SessionFolder

__all__ = [
    "BIDS_VERSION",
    "dataset_description",
    "participants_rows",
    "readme_text",
    "write_json",
    "write_stimuli",
]

#: The BIDS version the export follows (eye tracking, BEP020, is part of BIDS since 1.11.0).
BIDS_VERSION = "1.11.1"


def write_json(path: Path, content: dict[str, Any]) -> Path:
    """``content`` as indented UTF-8 JSON, one trailing newline."""
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _software_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("selectivity")
    except metadata.PackageNotFoundError:
        return "unknown"


def dataset_description(
    data_root: Path,
    *,
    name: str | None,
    authors: Sequence[str],
    license: str | None,
) -> dict[str, Any]:
    """``dataset_description.json``: raw dataset, GeneratedBy selectivity and its version."""
    description: dict[str, Any] = {
        "Name": name or f"selectivity sessions of {Path(data_root).resolve().name}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
    }
    if license:
        description["License"] = license
    if authors:
        description["Authors"] = list(authors)
    description["GeneratedBy"] = [
        {
            "Name": "selectivity",
            "Version": _software_version(),
            "Description": "`selectivity export bids`: session folders written by "
            "`selectivity run` exported to BIDS (trials as events, eye tracking as physio).",
        }
    ]
    description["SourceDatasets"] = [{"URL": Path(data_root).resolve().as_uri()}]
    return description


def participants_rows(sessions: Sequence[SessionFolder]) -> list[dict[str, Any]]:
    """One row per participant: ``participant_id`` and ``kind`` (``simulated`` or ``person``)."""
    kinds: dict[str, set[str]] = {}
    for s in sessions:
        kinds.setdefault(s.subject, set()).add(str(s.info.get("participant_kind") or "n/a"))
    return [
        {"participant_id": f"sub-{subject}", "kind": "/".join(sorted(found))}
        for subject, found in sorted(kinds.items())
    ]


PARTICIPANTS_SIDECAR = {
    "participant_id": {"Description": "The participant label of `selectivity run --participant`."},
    "kind": {
        "Description": "Who did the sessions (session.json participant_kind).",
        "Levels": {
            "simulated": "selectivity's simulated participant: answers and gaze generated "
            "from a planted map; no person took part",
            "person": "a person at the lab's station",
        },
    },
}


def readme_text(sessions: Sequence[SessionFolder], mapping: dict[str, str]) -> str:
    """The README: what the dataset holds, how times align, and what is simulated."""
    simulated = sorted({s.subject for s in sessions if s.info.get("simulated")})
    tracked = sorted({s.task for s in sessions if any(r.eye_file for r in s.runs)})
    lines = [
        "# selectivity sessions in BIDS",
        "",
        "Exported by `selectivity export bids` from session folders written by `selectivity run`",
        "(<data root>/sub-<participant>/ses-<session>/<task>/: session.json, trials.tsv, eye/).",
        "",
        "Per participant, session and task (folder `beh/`):",
        "",
        "- `_events.tsv`: one row per finished trial, with every column of the task's trials.tsv.",
        "- `_recording-eye1|eye2_physio.tsv.gz`: the eye tracker's samples of each eye (eye1 is",
        "  the first eye recorded, see RecordedEye), and `_physioevents.tsv.gz`: the tracker's",
        "  fixations, saccades, blinks and messages.",
        "",
        "Times: physio timestamps stay on the tracker clock (ms); events onsets count in seconds",
        "from the run's first eye sample (the physio files' StartTime 0). A session continued",
        "after an interruption (`--resume`) has one tracker file per run: `run-1`, `run-2`, ...",
        "Sessions without an eye tracker have events only, timed on the experiment clock.",
        "",
        "Task labels are the task names without non-alphanumeric characters:",
        "",
        *[f"- `{label}`: `{task}`" for task, label in sorted(mapping.items())],
        "",
        "Tasks with eye tracking: " + (", ".join(tracked) or "none") + ".",
        "",
        "Stimuli: `stimuli/<image_id>.png`, the images of the stimulus set the sessions showed,",
        "referenced from the events' `stim_file` column.",
    ]
    if simulated:
        lines += [
            "",
            "SIMULATED DATA: participants "
            + ", ".join(f"sub-{s}" for s in simulated)
            + " are selectivity's simulated",
            "participants, and their eye data come from its simulated tracker: no person took",
            "part and no eye was recorded (see Manufacturer in the physio sidecars).",
        ]
    return "\n".join(lines) + "\n"


def write_stimuli(
    sessions: Sequence[SessionFolder], out: Path, *, stimulus_set: Path | None
) -> set[str]:
    """The images of the sessions' stimulus sets as ``out/stimuli/<id>.png``; their ids.

    Raises
    ------
    BidsExportError
        A stimulus set cannot be read (named with the session that uses it), or two sets
        hold different images under one id.
    """
    from stimuli import export_png, read_stimulus_set

    sets: dict[Path, SessionFolder] = {}
    for s in sessions:
        named = stimulus_set or s.info.get("stimulus_set")
        if named:
            sets.setdefault(Path(named), s)
    checksums: dict[str, tuple[str, Path]] = {}
    written: set[str] = set()
    for path, user in sets.items():
        try:
            table = read_stimulus_set(path).table
        except (OSError, ValueError, KeyError) as error:
            hint = "" if stimulus_set else "; give the set's path with --stimulus-set"
            raise BidsExportError(
                f"{user.folder}/session.json: cannot read its stimulus set {path} ({error}){hint}."
            ) from None
        new = []
        for stimulus_id, sha in zip(table["id"], table["sha256"], strict=True):
            if stimulus_id in checksums:
                if checksums[stimulus_id][0] != sha:
                    raise BidsExportError(
                        f"The stimulus sets {checksums[stimulus_id][1]} and {path} hold "
                        f"different images under the id {stimulus_id!r}; stimuli/ can hold "
                        "one of them. Export their sessions to separate datasets."
                    )
                continue
            checksums[stimulus_id] = (sha, path)
            new.append(str(stimulus_id))
        export_png(path, out / "stimuli", ids=new)
        written.update(new)
    return written
