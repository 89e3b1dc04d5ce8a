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
        help="offline analyses: the study (maps, comparison, recognition, report), AIS",
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
    for name, (summary, description) in _STUDY_COMMANDS.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=description + _STUDY_COMMON,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument(
            "config", type=Path, help="study configuration (TOML), e.g. configs/study.toml"
        )
        command.add_argument(
            "--data", type=Path, default=None, help="data root (default: [data] root)"
        )
        command.add_argument(
            "--stimulus-set",
            type=Path,
            default=None,
            help="stimulus-set file (default: [data] stimulus_set, else the sessions' own)",
        )
        command.add_argument(
            "--out", type=Path, default=None, help="output folder (default: [output] folder)"
        )
        command.set_defaults(handler=_run_study_step, step=name)
    return parser


_STUDY_COMMON = """
Every step reads the configuration's [data] root (sub-<participant>/ses-<session>/<task>/
folders written by `selectivity run`) and writes its tables (TSV) into the output folder.
Example configuration: configs/study.toml.
"""

_STUDY_COMMANDS = {
    "study": (
        "the whole study analysis: maps, comparison, recognition, reverse test, AIS, report",
        "Run every step the sessions allow: human maps and their shared component\n"
        "(written into the stimulus set as human/<task> and human/shared), the comparison\n"
        "of every ANN map with them (cross-validated smoothing, split-half ceilings,\n"
        "bootstrap intervals, variance shares), masked-recognition statistics when its\n"
        "sessions exist, the reverse test with [reverse] model, AIS with [ais] model and\n"
        "similarity sessions, then report/index.html (one self-contained file).\n",
    ),
    "maps": (
        "human maps per task and their shared component, into the stimulus set",
        "Read the sessions (data quality and exclusions: sessions.tsv, exclusions.tsv),\n"
        "estimate each task's human map ([maps]: fixation density, accuracy surface,\n"
        "chain density, patch ratings; maps.tsv) and the shared component ([shared];\n"
        "shared.tsv), and write them into the stimulus set as human/<task> and\n"
        "human/shared.\n",
    ),
    "compare": (
        "every ANN map against every human map, with ceilings and variance shares",
        "Estimate the human maps (as `maps` does), then compare every ANN map source of\n"
        "the stimulus set with them ([comparison]): comparison.tsv (per source, human map\n"
        "and metric: mean, bootstrap interval, p-value, chosen smoothing in degrees,\n"
        "split-half ceiling, normalised score), comparison_images.tsv, ceilings.tsv and\n"
        "variance_share.tsv (method, architecture, training set).\n",
    ),
    "recognition": (
        "masked-recognition accuracy and d' per condition, mixed-effects model",
        "Accuracy and m-alternative d' (log-linear correction) per mask source and\n"
        "correct/incorrect mask with bootstrap intervals over participants, frames flagged\n"
        "by the task excluded and counted (recognition.tsv, recognition_effects.tsv,\n"
        "recognition_participants.tsv), and a logistic model with participant and image\n"
        "random effects (recognition_model.tsv).\n",
    ),
    "reverse": (
        "the ANN's recognition of images masked by the human maps",
        "Mask each image by each human map of the stimulus set (correct masks, and\n"
        "incorrect ones by circular permutation), and score the network's ([reverse]\n"
        "model) rank of the image's class: reverse.tsv, reverse_summary.tsv.\n",
    ),
    "report": (
        "the study report from the tables of earlier steps",
        "Write report/index.html (self-contained: figures embedded) from the output\n"
        "folder's tables and the stimulus set's maps: data quality and exclusions, the\n"
        "human maps and shared component per image, the ANN ranking with ceilings,\n"
        "masked recognition, the reverse test, AIS, software versions.\n",
    ),
}


def _run_study_step(args: argparse.Namespace) -> int:
    from ._errors import report_user_errors

    return report_user_errors(lambda: _study_step(args))


def _study_step(args: argparse.Namespace) -> int:
    import dataclasses

    from analysis.study import load_study_config, pipeline
    from analysis.study.report import write_study_report

    config = load_study_config(args.config)
    data = config.data
    if args.data is not None:
        data = dataclasses.replace(data, root=args.data)
    if args.stimulus_set is not None:
        data = dataclasses.replace(data, stimulus_set=args.stimulus_set)
    config = dataclasses.replace(config, data=data)
    if args.out is not None:
        config = dataclasses.replace(config, folder=args.out)
    step = args.step
    if step == "study":
        run = pipeline.run_study(config)
        print(f"Report: {run.report}")
    elif step == "maps":
        pipeline.study_maps(config)
    elif step == "compare":
        pipeline.study_comparison(config)
    elif step == "recognition":
        pipeline.study_recognition(config)
    elif step == "reverse":
        pipeline.study_reverse(config)
    else:
        print(f"Report: {write_study_report(config)}")
    print(f"Tables: {config.folder.resolve()}")
    return 0


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
