"""Session folders exported as a BIDS 1.11 dataset with eye tracking, and the BIDS validator.

:func:`export_bids` (``selectivity export bids DATA_ROOT OUT``) writes each session's
trials as ``_events.tsv``, each eye's samples as ``_recording-eye<n>_physio.tsv.gz`` and
the tracker's events as ``_physioevents.tsv.gz``, with their sidecars, the dataset
description, participants, README and the stimuli. :func:`validate_bids` runs the
official validator (``bids-validator-deno``, offline) on a dataset.
"""

from __future__ import annotations

from ._dataset import BIDS_VERSION
from ._export import BidsExport, export_bids
from ._labels import BidsExportError, bids_label
from ._validate import BidsValidation, validate_bids, validator_program

__all__ = [
    "BIDS_VERSION",
    "BidsExport",
    "BidsExportError",
    "BidsValidation",
    "bids_label",
    "export_bids",
    "validate_bids",
    "validator_program",
]
