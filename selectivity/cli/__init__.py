"""The ``selectivity`` command: ``demo``, ``run <task>``, ``stimuli``, ``analyze``, ``export``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
selectivity: compare what people find informative in an image with what neural
networks attend to. Subcommands:

  demo     build a small stimulus set, run simulated free-viewing sessions in a real
           PsychoPy window, and write an HTML report comparing fixation maps with ANN maps
  run      run a task in the lab (or simulated), e.g. `selectivity run free-viewing`
  stimuli  compute ANN attribution maps and build stimulus sets from image folders
  analyze  offline analyses, e.g. `selectivity analyze ais CONFIG`
  export   hand the sessions on: `selectivity export bids DATA_ROOT OUT` (BIDS with
           eye tracking)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``selectivity`` command."""
    from tasks import TASKS
    from tasks.registry import task_summaries

    parser = argparse.ArgumentParser(
        prog="selectivity",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="end-to-end demo with simulated participants (offline, CPU)",
        description=(
            "The whole simulated study: build a stimulus set from photographs shipped with "
            "scikit-image (a planted map, simulation/truth, and ANN maps of two networks and "
            "three attribution methods), run every task for simulated participants through "
            "the real PsychoPy window path (simulated EyeLink tracker writing ASC files; "
            "several participants at once, each in its own window), then the study analysis "
            "(`selectivity analyze study`): the human maps into the stimulus set as "
            "human/<task> and human/shared, the ANN comparison with noise ceilings, masked "
            "recognition, the reverse test and AIS, and one self-contained HTML report "
            "(<out>/analysis/report/index.html). The photographs are also written to "
            "<out>/photos, which configs/stimuli_build.toml reads."
        ),
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        help="output folder (default: %(default)s); must not hold an earlier demo",
    )
    demo.add_argument(
        "--participants", type=int, default=4, help="simulated participants (default: %(default)s)"
    )
    demo.add_argument(
        "--images",
        type=int,
        default=6,
        help="number of photographs, at most 8 (default: %(default)s)",
    )
    demo.add_argument(
        "--model",
        default="resnet18",
        help="torchvision model for the ANN maps (default: %(default)s)",
    )
    demo.add_argument(
        "--weights",
        default="default",
        help="'default' (torchvision weights from the local torch cache; a random "
        "initialisation seeded with --seed, with a warning, when absent), 'none' (random, "
        "seeded), or a .pth file (refused when it does not exist)",
    )
    demo.add_argument(
        "--workers",
        type=int,
        default=None,
        help="participants run at once, each in its own window (default: all)",
    )
    demo.add_argument(
        "--tasks",
        nargs="+",
        choices=sorted(TASKS),
        default=None,
        metavar="TASK",
        help="tasks to run (default: all)",
    )
    demo.add_argument("--seed", type=int, default=1, help="seed (default: %(default)s)")

    run = sub.add_parser(
        "run",
        help="run a task session",
        description=(
            "Run a task session: opens the session folder "
            "<data root>/sub-<participant>/ses-<session>/<task>/, the window and the tracker "
            "of the lab configuration, and writes session.json, trials.tsv (flushed after each "
            "trial), frames.tsv and the tracker's file in eye/. Escape ends the session with "
            "everything saved; a session that stopped early continues with --resume. The "
            "stimulus set is checked before the first trial (checksums recorded in "
            "session.json and compared on resume); while the session runs, session.lock in "
            "its folder refuses a second process, also on another station; a full disk ends "
            "the session with every finished trial kept, to be resumed once there is space."
        ),
        epilog="tasks:\n"
        + "\n".join(f"  {name}\n      {summary}" for name, summary in task_summaries().items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("task", choices=sorted(TASKS), help="task to run")
    run.add_argument(
        "--config",
        type=Path,
        required=True,
        help="task configuration (TOML), e.g. configs/free_viewing.toml",
    )
    run.add_argument("--participant", required=True, help="participant label (letters, digits)")
    run.add_argument("--session", default="1", help="session label (default: %(default)s)")
    run.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data root (default: [data] root of the lab configuration)",
    )
    run.add_argument(
        "--lab",
        type=Path,
        default=None,
        help="lab configuration replacing the one the task file names",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted session at its first unfinished trial",
    )
    run.add_argument(
        "--break-lock",
        action="store_true",
        help="with --resume: take over the session's lock (session.lock) held by another "
        "station sharing the data root, once you know that station has stopped; a lock left "
        "by a process of this station that has ended is taken over without it",
    )
    run.add_argument(
        "--windowed", action="store_true", help="open a window instead of fullscreen (development)"
    )
    from . import analyze, export, stimuli

    stimuli.register(sub)
    analyze.register(sub)
    export.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``selectivity`` console script.

    A user error (see :func:`selectivity.cli._errors.user_errors`) is printed
    as ``selectivity: error: <message>`` with exit status 2; any other
    exception propagates with its traceback.
    """
    args = build_parser().parse_args(argv)
    if args.command in ("stimuli", "analyze", "export"):
        return int(args.handler(args))
    from ._errors import report_user_errors

    if args.command == "demo":
        return report_user_errors(lambda: _demo(args))
    return report_user_errors(lambda: _run_task(args))


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    report = run_demo(
        out=args.out,
        n_participants=args.participants,
        n_images=args.images,
        model=args.model,
        weights=None if args.weights == "none" else args.weights,
        seed=args.seed,
        workers=args.workers,
        tasks=None if args.tasks is None else tuple(args.tasks),
    )
    print(f"Report: {report.resolve()}")
    return 0


def _run_task(args: argparse.Namespace) -> int:
    from tasks import ConfigError, load_config, run_task

    config = load_config(args.config, lab=args.lab)
    if config.task_name != args.task:
        raise ConfigError(
            f"{args.config}: [task] name is {config.task_name!r}, but the command asks "
            f"for {args.task!r}"
        )
    if args.break_lock and not args.resume:
        from ..errors import UserError

        raise UserError("--break-lock takes over the lock of a session to resume: add --resume.")
    folder = run_task(
        config,
        participant=args.participant,
        session=args.session,
        data_root=args.data,
        resume=args.resume,
        windowed=args.windowed,
        break_lock=args.break_lock,
    )
    print(f"Session folder: {folder}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
