"""Build a stimulus set from an image folder: maps, masks, rendered stimuli; resumable, sharded.

Importing this module does not import torch; a build does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ._check import check_config
from ._config import (
    CONTROLS,
    BuildConfig,
    BuildConfigError,
    ConditionSpec,
    MapOptions,
    MethodSpec,
    ModelSpec,
    RenderOptions,
)
from ._dist import MainRankError, Ranks, leftover_shards, setup_ranks
from ._engine import Target, config_record, maps_stage, mark_incomplete, progress_bar
from ._images import iter_images, list_images, read_labels
from ._toml import load_build_config
from ..stimulus_set._reader import read_stimulus_set
from ..stimulus_set._store import StimulusSetError, UnopenableFileError, check_file
from ..stimulus_set._write import create_streaming, merge_shards

_T = TypeVar("_T")

__all__ = [
    "CONTROLS",
    "BuildConfig",
    "BuildConfigError",
    "ConditionSpec",
    "MainRankError",
    "MapOptions",
    "MethodSpec",
    "ModelSpec",
    "RenderOptions",
    "build_stimulus_set",
    "load_build_config",
]


def build_stimulus_set(
    config: BuildConfig | str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Compute maps, masks and rendered stimuli for an image folder into a stimulus set.

    The steps, each batch by batch and each written to disk as it finishes:

    1. the images are read from the folder (ids are file names without
       extension; labels from the optional CSV) into a new stimulus-set file
       (written under a temporary name, then renamed);
    2. maps: for every model, every method (sources ``<model>/<method>``),
       images are read from the set ``batch_size`` at a time, preprocessed,
       attributed and turned into maps with :func:`stimuli.to_map`, and the
       batch's maps are appended to the file with their provenance;
    3. masks and rendered stimuli for each condition (and the controls), and
       phase-scrambled backward masks when asked for;
    4. optionally, PNG files of the images and rendered stimuli.

    An interrupted build continues with ``resume=True``: finished maps, masks
    and rendered stimuli are kept and never computed or written twice. The
    same call extends a finished set with new models, methods or conditions.
    Entries that the file has with other settings (another to_map option,
    other weights) are refused rather than mixed.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) each rank takes every
    ``WORLD_SIZE``-th image (rank r the ids r, r + W, ...), computes on its
    device (``cuda:<LOCAL_RANK>`` for ``device="cuda"``; backend ``nccl``, or
    ``gloo`` on the CPU) and writes its own shard file beside the output;
    after each stage rank 0 merges the shards into the set and deletes them.
    Shards left by a killed run are merged when it is resumed (with any
    number of processes).

    Parameters
    ----------
    config : BuildConfig or path-like
        The build, or a TOML file read with :func:`load_build_config`.
    resume : bool
        Continue or extend an existing output file. Without it an existing
        output file, shard files or a non-empty PNG folder are refused.
    progress : bool
        Show tqdm progress bars (on stderr).

    Returns
    -------
    Path
        The stimulus-set file.

    Raises
    ------
    FileExistsError
        The output exists and ``resume`` is False.
    BuildConfigError
        A setting is invalid.
    """
    if isinstance(config, BuildConfig):
        check_config(config, "BuildConfig")
    else:
        config = load_build_config(config)
    ranks = setup_ranks(config.device)
    created = False
    try:
        created = ranks.on_main(lambda: _prepare(config, resume=resume, progress=progress))
        stimuli = read_stimulus_set(config.out)
        mine = list(stimuli.ids)[ranks.rank :: ranks.world]
        target = Target(config, ranks, resume=resume)
        maps_stage(config, stimuli, mine, target, ranks, progress=progress)
        _merge(config, ranks, resume=resume)
        if config.conditions or config.render.backward_masks:
            from ._masks import masks_stage

            target = Target(config, ranks, resume=resume)
            masks_stage(config, stimuli, mine, target, ranks, progress=progress)
            _merge(config, ranks, resume=resume)
        ranks.on_main(lambda: _finish(config, resume=resume))
    except Exception:
        # An error (not an interruption) before any entry was written is a setup mistake,
        # such as missing weights: the set made of the folder's images goes again.
        if created and ranks.world == 1:
            _remove_if_empty(config.out)
        raise
    finally:
        ranks.close()
    return config.out


def _prepare(config: BuildConfig, *, resume: bool, progress: bool) -> bool:
    """Rank 0: check what exists, merge left-over shards, create the set if new.

    Returns whether the set was created.
    """
    out = config.out
    files = list_images(config.images)
    labels = read_labels(config.labels, list(files)) if config.labels else None
    shards = leftover_shards(out)
    how = "pass --resume (resume=True) to continue or extend it, or choose another output"
    if not resume:
        existing = [str(p) for p in [out, *shards] if p.exists()]
        if config.png_dir is not None and config.png_dir.is_dir() and any(config.png_dir.iterdir()):
            existing.append(str(config.png_dir))
        if existing:
            raise FileExistsError(
                f"The build output exists already: {', '.join(existing)}; {how}. Recorded "
                "data are never overwritten."
            )
    if resume:
        _remove_temporary_files(out)
    if out.exists():
        try:
            stimuli = read_stimulus_set(out)
        except (OSError, UnopenableFileError) as error:
            raise StimulusSetError(
                f"The stimulus set {out} cannot be read ({error}); an interruption during a "
                "write may have damaged it. Restore it from a copy, or start a new build."
            ) from None
        missing = sorted(set(files) - set(stimuli.ids))
        extra = sorted(set(stimuli.ids) - set(files))
        if missing or extra:
            raise StimulusSetError(
                f"The stimulus set {out} was made from other images than those in "
                f"{config.images}: ids only in the folder {missing[:10]}, only in the set "
                f"{extra[:10]}. Write a new output file."
            )
    elif shards:
        raise FileExistsError(
            f"Shard files {[str(p) for p in shards]} are left from a build whose stimulus set "
            f"{out} does not exist; delete them."
        )
    else:
        bar = progress_bar(len(files), "images", ranks=Ranks(), enabled=progress)
        with bar:
            create_streaming(
                out,
                _counted(iter_images(files), bar),
                labels=labels,
                attrs={
                    "build_status": "incomplete",
                    "build_config": config_record(config, resume=resume),
                },
            )
        return True
    if shards:
        mark_incomplete(config, resume=resume)
        merge_shards(out, shards)
    return False


def _remove_if_empty(out: Path) -> None:
    """Delete a set this run created when it failed before writing any entry.

    It holds only the folder's images then, so that the corrected command can
    run again without ``--resume``.
    """
    stimuli = read_stimulus_set(out)
    if not (stimuli.map_sources or stimuli.mask_conditions or stimuli.rendered_conditions):
        out.unlink()


def _remove_temporary_files(out: Path) -> None:
    """Delete the temporary files an interrupted creation of ``out`` left behind."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.[0-9a-f]{{32}}\.tmp$")
    if out.parent.is_dir():
        for path in out.parent.iterdir():
            if pattern.match(path.name):
                path.unlink()


def _counted(items: Iterable[_T], bar: Any) -> Iterator[_T]:
    for item in items:
        yield item
        bar.update(1)


def _merge(config: BuildConfig, ranks: Ranks, *, resume: bool) -> None:
    """After a stage: every rank done, then rank 0 merges the shard files."""
    if ranks.world == 1:
        return
    ranks.barrier()
    ranks.on_main(lambda: _merge_shards(config, resume=resume))


def _merge_shards(config: BuildConfig, *, resume: bool) -> None:
    shards = leftover_shards(config.out)
    if shards:
        mark_incomplete(config, resume=resume)
        merge_shards(config.out, shards)


def _finish(config: BuildConfig, *, resume: bool) -> None:
    """Rank 0: PNG export, then mark the set complete (if this build wrote to it)."""
    if config.png_dir is not None:
        from ._masks import export_pngs

        export_pngs(config.out, config.png_dir, overwrite=resume)
    with check_file(config.out, mode="r+") as file:
        if file.attrs.get("build_status") != "complete":
            file.attrs["build_status"] = "complete"
