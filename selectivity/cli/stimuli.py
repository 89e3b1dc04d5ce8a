"""``selectivity stimuli ...``: attribution maps and stimulus sets from image folders."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "register"]

_RESUME_HELP = (
    "continue an interrupted run, or extend an existing stimulus set made from the same "
    "images; finished maps are kept and never computed twice (without it, an existing "
    "output is refused)"
)
_TORCHRUN = (
    "Several GPUs: torchrun --nproc_per_node=<n> -m selectivity stimuli ... ; each process "
    "takes a shard of the images and writes its own shard file, which rank 0 merges into the "
    "stimulus set at the end (backend nccl on CUDA, gloo on the CPU)."
)


def _target(value: str) -> int | None:
    if value == "predicted":
        return None
    try:
        index = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'predicted' or a class index, got {value!r}"
        ) from None
    if index < 0:
        raise argparse.ArgumentTypeError(f"class indices are >= 0, got {index}")
    return index


def _input_size(value: str) -> str | int | tuple[int, int]:
    if value == "auto":
        return value
    parts = value.lower().split("x")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1 and numbers[0] > 0:
        return numbers[0]
    if len(numbers) == 2 and min(numbers) > 0:
        return (numbers[0], numbers[1])
    raise argparse.ArgumentTypeError(f"expected 'auto', N or HxW in pixels, got {value!r}")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resume", action="store_true", help=_RESUME_HELP)
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (they go to stderr)"
    )


def register(sub: Any) -> argparse.ArgumentParser:
    """Add the ``stimuli`` command group to the subparsers ``sub`` of the main parser.

    Every leaf command sets ``handler(args) -> int`` (the exit status) as a default.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        "stimuli",
        help="ANN attribution maps, masks and stimulus sets",
        description="Compute ANN attribution maps and build stimulus sets from image folders.",
    )
    commands = parser.add_subparsers(dest="stimuli_command", metavar="COMMAND")
    commands.required = True
    maps = commands.add_parser(
        "maps",
        help="attribution maps of one model for an image folder",
        description=(
            "Compute attribution maps of one model with one or more methods for the images of "
            "a folder (.jpg, .jpeg, .png; ids are the file names without extension) and write "
            "them, with the images and the provenance of every map, into a stimulus-set file "
            "(sources <model>/<method>). Batched, with a progress bar; maps are written batch "
            f"by batch, so an interrupted run continues with --resume. {_TORCHRUN}"
        ),
    )
    maps.add_argument("images", type=Path, metavar="IMAGES_DIR", help="folder of images")
    maps.add_argument("--model", required=True, help="torchvision model name or module:callable")
    maps.add_argument(
        "--method",
        action="append",
        required=True,
        help="attribution method (repeat for several), e.g. gradient, gradcam, smoothgrad",
    )
    maps.add_argument(
        "--weights",
        default="default",
        help="'default' (torchvision weights from the local torch cache; never downloaded), a "
        "weights name, a state-dict file, or 'none' for random weights (default: %(default)s)",
    )
    maps.add_argument("--out", type=Path, required=True, help="stimulus-set file (.h5) to write")
    maps.add_argument("--labels", type=Path, help="CSV with columns id,label")
    maps.add_argument(
        "--batch-size", type=int, default=16, help="images per batch (default: %(default)s)"
    )
    maps.add_argument(
        "--device",
        default="cpu",
        help="cpu, cuda or cuda:N; under torchrun 'cuda' means each rank's own GPU "
        "(default: %(default)s)",
    )
    maps.add_argument(
        "--input-size",
        type=_input_size,
        default="auto",
        help="network input size: auto (the weights' own), N, or HxW (default: %(default)s)",
    )
    maps.add_argument("--layer", help="layer of layer methods (default: the method's default)")
    maps.add_argument(
        "--target",
        type=_target,
        default=None,
        help="'predicted' (default) or one class index for every image",
    )
    maps.add_argument(
        "--seed", type=int, default=0, help="seed of random weights and noise (default: 0)"
    )
    maps.add_argument(
        "--autocast", choices=("bf16", "fp16"), help="forward passes in bf16 or fp16 (GPU)"
    )
    _add_common(maps)
    maps.set_defaults(handler=_maps)
    build = commands.add_parser(
        "build",
        help="stimulus set from a configuration: several models and methods, masks, renders",
        description=(
            "Build a stimulus set as a configuration file describes it (see "
            "configs/stimuli_build.toml): images folder in; maps of several models and "
            "methods, masks and rendered stimuli for the conditions and controls, and "
            f"optionally PNG files out. Resumable with --resume. {_TORCHRUN}"
        ),
    )
    build.add_argument("config", type=Path, metavar="CONFIG", help="build configuration (TOML)")
    _add_common(build)
    build.set_defaults(handler=_build)
    return parser


def _maps(args: argparse.Namespace) -> int:
    from stimuli.build import BuildConfig, MethodSpec, ModelSpec

    layers = _layer_methods(args.method) if args.layer else set()
    config = BuildConfig(
        images=args.images,
        out=args.out,
        labels=args.labels,
        models=(
            ModelSpec(
                model=args.model,
                weights=None if args.weights == "none" else args.weights,
                input_size=args.input_size,
                target=args.target,
            ),
        ),
        methods=tuple(
            MethodSpec(method=m, layer=args.layer if m in layers else None) for m in args.method
        ),
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        autocast=args.autocast,
    )
    return _run(config, args)


def _layer_methods(methods: list[str]) -> set[str]:
    from stimuli.attribution import ATTRIBUTION_METHODS

    return {
        m for m in methods if m in ATTRIBUTION_METHODS and ATTRIBUTION_METHODS[m].layer != "unused"
    }


def _build(args: argparse.Namespace) -> int:
    return _run(args.config, args)


def _run(config: Any, args: argparse.Namespace) -> int:
    from ._errors import report_user_errors

    return report_user_errors(lambda: _build_set(config, args))


def _build_set(config: Any, args: argparse.Namespace) -> int:
    from stimuli.build import build_stimulus_set

    path = build_stimulus_set(config, resume=args.resume, progress=not args.no_progress)
    if os.environ.get("RANK", "0") == "0":
        print(f"Stimulus set: {Path(path).resolve()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``selectivity stimuli ...`` on its own (``python -m selectivity.cli.stimuli``)."""
    parser = argparse.ArgumentParser(prog="selectivity")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(["stimuli", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
