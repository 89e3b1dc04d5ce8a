"""``selectivity analyze ...``: offline analyses driven by a configuration file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]

_AIS_DESCRIPTION = """\
Alignment importance scores (Truong, Pesenti & Hasson 2024): which feature maps of a
network make its representational geometry agree with human similarity ratings, and
where they respond in each image. Reads the images of a stimulus set and a pairwise
similarity-rating file (N x N matrix, long table image_a/image_b/rating, or rating
sessions), runs set-level and per-image scores and cross-validated pruning, and writes
into the output folder: scores_set.tsv, scores_image.tsv, pruning_*.tsv,
heatmaps/<id>.png and report/index.html; the heatmaps also go into the stimulus-set
file as the map source ais/<model>. Example configuration: configs/ais.toml.
"""


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``analyze`` command group to the subparsers ``sub`` of the main parser.

    Every leaf command sets ``handler(args) -> int`` (the exit status) as a default.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        "analyze",
        help="offline analyses (alignment importance scores, ...)",
        description="Offline analyses driven by a configuration file.",
    )
    commands = parser.add_subparsers(dest="analyze_command", metavar="COMMAND")
    commands.required = True
    ais = commands.add_parser(
        "ais",
        help="alignment importance scores, heatmaps and pruning (configs/ais.toml)",
        description=_AIS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ais.add_argument("config", type=Path, help="AIS configuration (TOML), e.g. configs/ais.toml")
    ais.add_argument(
        "--out", type=Path, default=None, help="output folder (default: [output] folder)"
    )
    ais.add_argument(
        "--device", default=None, help="torch device, e.g. cuda (default: [ais] device)"
    )
    ais.set_defaults(handler=_run_ais)
    return parser


def _run_ais(args: argparse.Namespace) -> int:
    from ._errors import report_user_errors

    return report_user_errors(lambda: _ais(args))


def _ais(args: argparse.Namespace) -> int:
    import dataclasses

    from analysis.ais import load_ais_config, run_ais

    config = load_ais_config(args.config)
    changes: dict[str, Any] = {}
    if args.out is not None:
        changes["folder"] = args.out
    if args.device is not None:
        changes["device"] = args.device
    run = run_ais(
        dataclasses.replace(config, **changes), progress=lambda line: print(f"[ais] {line}")
    )
    print(f"Scores: {run.folder.resolve()}")
    print(f"Report: {run.report.resolve()}")
    return 0
