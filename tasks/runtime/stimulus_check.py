"""Checksums of what a session shows from its stimulus set: taken at the start, compared on resume.

A session records in ``session.json`` (``stimulus_checksums``) the sha256 of every image
(checked against the set's own table first), of every mask and rendered stimulus, and of
the maps the runtime and the task read: those under ``simulation/`` (the simulated
participant's planted map and embeddings), ``target/`` (object search's target regions)
and any map source the task settings name (e.g. masked recognition's ``mask_sources``).
Other maps (ANN maps, the ``human/*`` maps an analysis adds later to the same file) are
not shown by a task, so a set that gained or rewrote them resumes all the same. The whole
file's hash is no criterion for the same reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .session import SessionError

__all__ = [
    "RUNTIME_MAP_PREFIXES",
    "StimulusCheckError",
    "compare_checksums",
    "stimulus_checksums",
]

#: Map sources read by the runtime or a task whatever the settings say.
RUNTIME_MAP_PREFIXES = ("simulation/", "target/")


class StimulusCheckError(SessionError):
    """The stimulus set is damaged, or differs from the one the session started with."""


def _digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and C-order bytes."""
    data = np.ascontiguousarray(array)
    head = f"{data.dtype.str}{data.shape}".encode()
    return hashlib.sha256(head + data.tobytes()).hexdigest()


def _damaged(path: Any, what: str, error: BaseException) -> StimulusCheckError:
    return StimulusCheckError(
        f"The stimulus set {path} is damaged at {what} ({type(error).__name__}: {error}): "
        "it is cut short or its bytes changed. No trial is shown from it: copy the file "
        "again from where it was built."
    )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def stimulus_checksums(stimuli: Any, *, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check the set's images against its table, and take the checksums a session records.

    Parameters
    ----------
    stimuli : StimulusSet
        From :func:`stimuli.read_stimulus_set`.
    settings : mapping
        The task settings as JSON values (map sources they name are checked too).

    Returns
    -------
    dict
        ``images``: id -> sha256 of the image (as in the set's table); ``maps``,
        ``masks``, ``rendered``: name -> id -> sha256 of the array (dtype, shape
        and bytes).

    Raises
    ------
    StimulusCheckError
        An entry cannot be read (a truncated or corrupted file), or an image differs
        from its checksum in the set's table (naming the file, the entry and what
        differs).
    """
    path = stimuli.path
    table = stimuli.table
    images: dict[str, str] = {}
    for image_id, expected in zip(table["id"], table["sha256"], strict=True):
        try:
            stimuli.image(str(image_id), verify=True)  # its sha256 against the set's table
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise _damaged(path, f"image {image_id!r}", error) from None
        images[str(image_id)] = str(expected)
    named = set(_strings(settings))
    out: dict[str, Any] = {"images": images}
    try:
        kinds = {
            "maps": [
                s for s in stimuli.map_sources if s.startswith(RUNTIME_MAP_PREFIXES) or s in named
            ],
            "masks": list(stimuli.mask_conditions),
            "rendered": list(stimuli.rendered_conditions),
        }
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise _damaged(path, "its list of maps, masks and rendered stimuli", error) from None
    read = {"maps": stimuli.map, "masks": stimuli.mask, "rendered": stimuli.rendered}
    ids_of = {"maps": stimuli.map_ids, "masks": stimuli.mask_ids, "rendered": stimuli.rendered_ids}
    for kind, names in kinds.items():
        out[kind] = {}
        for name in names:
            sums = {}
            try:
                for stimulus_id in ids_of[kind](name):
                    sums[stimulus_id] = _digest(read[kind](name, stimulus_id))
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                raise _damaged(path, f"{kind} {name!r}", error) from None
            out[kind][name] = sums
    return out


def compare_checksums(
    recorded: Mapping[str, Any] | None, current: Mapping[str, Any], *, path: Any
) -> dict[str, Any]:
    """Refuse a resume whose stimulus set differs from the recorded one in what it shows.

    Every image and every entry recorded at the start must be there with the same
    checksum; entries added since (maps of another model, ``human/*``) are allowed.

    Parameters
    ----------
    recorded : mapping or None
        ``stimulus_checksums`` of ``session.json`` (None: a session of an earlier
        version, which recorded none).
    current : mapping
        :func:`stimulus_checksums` of the set now.
    path : path-like
        The set's file, for the message.

    Returns
    -------
    dict
        What to record in the run's ``resumes`` entry (``stimulus_check``).

    Raises
    ------
    StimulusCheckError
        Naming the file and each entry that changed or went missing (at most 10).
    """
    if not recorded:
        return {
            "stimulus_check": "no checksums recorded at the start (an earlier version): the "
            "images were checked against the set's table only",
            "stimulus_checksums": dict(current),
        }
    differ: list[str] = []
    kinds: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = [
        ("image", {"": recorded.get("images", {})}, {"": current.get("images", {})})
    ]
    kinds += [(k, recorded.get(k, {}), current.get(k, {})) for k in ("maps", "masks", "rendered")]
    for kind, before, now in kinds:
        for name, sums in before.items():
            label = f"{kind} {name!r}" if name else kind
            if name not in now:
                differ.append(f"{label} is missing")
                continue
            for stimulus_id, digest in sums.items():
                found = now[name].get(stimulus_id)
                if found is None:
                    differ.append(f"{label} has no entry for {stimulus_id!r}")
                elif found != digest:
                    differ.append(
                        f"{label} of {stimulus_id!r} changed (sha256 {digest[:12]}... at the "
                        f"start, {found[:12]}... now)"
                    )
    if differ:
        shown = "; ".join(differ[:10]) + (
            f"; and {len(differ) - 10} more" if len(differ) > 10 else ""
        )
        raise StimulusCheckError(
            f"Cannot resume: the stimulus set {path} differs from the one this session started "
            f"with ({shown}). Restore the file the session started with (session.json, "
            "'stimulus_checksums'), or start a new --session."
        )
    return {"stimulus_check": "the set matches the checksums recorded at the start"}
