"""``selectivity export ...``: hand the data on in the community's formats (BIDS)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]

_BIDS_DESCRIPTION = """\
Export every session folder of a data root (sub-<participant>/ses-<session>/<task>/, as
`selectivity run` writes them) as a BIDS 1.11 dataset with eye tracking, in OUT:

  sub-<p>/ses-<s>/beh/sub-<p>_ses-<s>_task-<label>[_run-<n>]_events.tsv + .json
      one row per finished trial: onset and duration (s), stim_file, the task's columns;
      StimulusPresentation (screen distance, origin, resolution, size) from session.json
  ..._recording-eye1|eye2_physio.tsv.gz + .json
      each eye's samples (tracker timestamp in ms, gaze x/y in screen pixels, pupil),
      sampling rate, calibration and validation figures, tracker make and model
  ..._recording-eye1|eye2_physioevents.tsv.gz + .json
      the tracker's fixations, saccades, blinks and messages
  dataset_description.json, participants.tsv + .json, README, stimuli/<image_id>.png

Task labels are the task names' letters and digits (free-viewing -> freeviewing).
Events onsets count from the run's first eye sample; physio timestamps keep the
tracker clock. A resumed session (one tracker file per run) becomes run-1, run-2, ...
Eye files may be the simulated tracker's ASC, EyeLink ASC or EDF (EDF needs edf2asc or
eyelinkio). Sessions without a tracker export their events only. The simulated tracker's
data say so (Manufacturer). OUT must be empty or absent; --overwrite replaces an earlier
export. When the official validator (bids-validator-deno, part of the dev extra) is
installed, --validate runs it on OUT.
"""


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``export`` command group to the subparsers ``sub`` of the main parser.

    Every leaf command sets ``handler(args) -> int`` (the exit status) as a default.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export sessions in a community format: `export bids DATA_ROOT OUT`",
        description="Export session folders in a community format.",
    )
    commands = parser.add_subparsers(dest="export_command", metavar="COMMAND")
    commands.required = True
    bids = commands.add_parser(
        "bids",
        help="a data root of sessions as a BIDS 1.11 dataset with eye tracking",
        description=_BIDS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bids.add_argument("data_root", type=Path, metavar="DATA_ROOT", help="the sessions' data root")
    bids.add_argument("out", type=Path, metavar="OUT", help="the dataset folder to write")
    bids.add_argument(
        "--stimulus-set",
        type=Path,
        default=None,
        help="stimulus-set file of every session (default: the one each session.json names)",
    )
    bids.add_argument("--overwrite", action="store_true", help="replace an earlier export in OUT")
    bids.add_argument("--name", default=None, help="dataset Name (dataset_description.json)")
    bids.add_argument(
        "--author",
        action="append",
        default=[],
        dest="authors",
        metavar="NAME",
        help="an author of the dataset (repeat for several)",
    )
    bids.add_argument("--license", default=None, help="dataset License, e.g. CC0-1.0")
    bids.add_argument(
        "--validate",
        action="store_true",
        help="run the BIDS validator on OUT afterwards (exit status 1 when it finds errors)",
    )
    bids.set_defaults(handler=_run_bids)
    return parser


def _run_bids(args: argparse.Namespace) -> int:
    from ._errors import report_user_errors

    return report_user_errors(lambda: _bids(args))


def _bids(args: argparse.Namespace) -> int:
    from analysis.bids import export_bids, validate_bids

    export = export_bids(
        args.data_root,
        args.out,
        stimulus_set=args.stimulus_set,
        overwrite=args.overwrite,
        name=args.name,
        authors=tuple(args.authors),
        license=args.license,
    )
    print(
        f"BIDS dataset: {export.root.resolve()} ({len(export.sessions)} session folders, "
        f"{len(export.files)} files)"
    )
    if not args.validate:
        return 0
    report = validate_bids(export.root)
    print(f"BIDS validator {report.validator_version}: {report.summary()}")
    for issue in report.errors:
        print(f"  error {issue.get('code')}: {issue.get('location')}")
    return 0 if report.valid else 1
