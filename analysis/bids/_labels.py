"""BIDS labels and file names: task names made alphanumeric, entities in their order."""

from __future__ import annotations

import re

from selectivity.errors import UserError

__all__ = ["BidsExportError", "bids_label", "entity_label", "file_stem"]

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_LABEL = re.compile(r"^[0-9A-Za-z]+$")


class BidsExportError(UserError, ValueError):
    """A session folder that cannot be exported to BIDS as it is, or an output folder refused.

    The message names the session folder and file, what was wrong, and what is allowed.
    """


def bids_label(name: str) -> str:
    """``name`` as a BIDS label: its letters and digits only (``free-viewing`` -> ``freeviewing``).

    BIDS labels are alphanumeric; the task label may be derived from ``TaskName`` by
    removing every other character, which is what this does.

    Raises
    ------
    BidsExportError
        When ``name`` has no letter or digit at all.
    """
    label = _NOT_ALNUM.sub("", str(name))
    if not label:
        raise BidsExportError(
            f"Cannot make a BIDS label of {name!r}: BIDS labels are letters and digits, and "
            "it has none."
        )
    return label


def entity_label(folder_name: str, entity: str, where: object) -> str:
    """The label of a ``<entity>-<label>`` folder name (``ses-1`` -> ``1``).

    Raises
    ------
    BidsExportError
        When the name is not ``<entity>-`` followed by letters and digits; ``where``
        (the folder) is named in the message.
    """
    prefix = f"{entity}-"
    label = folder_name[len(prefix) :] if folder_name.startswith(prefix) else ""
    if not _LABEL.match(label):
        raise BidsExportError(
            f"{where}: the folder name {folder_name!r} is not {prefix}<label> with a label of "
            "letters and digits only, as BIDS needs (and `selectivity run` writes)."
        )
    return label


def file_stem(
    subject: str,
    session: str,
    task: str,
    *,
    run: int | None = None,
    recording: str | None = None,
) -> str:
    """``sub-<s>_ses-<s>_task-<t>[_run-<n>][_recording-<r>]``: the entities in BIDS order."""
    parts = [f"sub-{subject}", f"ses-{session}", f"task-{task}"]
    if run is not None:
        parts.append(f"run-{run}")
    if recording is not None:
        parts.append(f"recording-{recording}")
    return "_".join(parts)
