"""The build's mask stage: controls, masks and rendered stimuli per condition; PNG export."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _engine
from ._config import BuildConfig, ConditionSpec
from ._dist import Ranks
from ._engine import (
    Target,
    batches,
    check_provenance,
    done_ids,
    image_seed,
    progress_bar,
)
from ..stimulus_set._reader import StimulusSet, read_stimulus_set

__all__ = ["export_pngs", "mask_kinds", "masks_stage"]

BACKWARD_MASK = "backward_mask"
_PNG_BATCH = 64


def masks_available() -> bool:
    """Whether ``stimuli.masks`` and ``stimuli.render`` are installed."""
    return all(
        importlib.util.find_spec(f"stimuli.{name}") is not None for name in ("masks", "render")
    )


def mask_kinds() -> tuple[str, ...] | None:
    """Names ``make_mask`` accepts (None when ``stimuli.masks`` is missing)."""
    if not masks_available():
        return None
    from ..masks import MASK_KINDS

    return tuple(MASK_KINDS)


def condition_map(
    condition: ConditionSpec, stimulus_id: str, stimuli: StimulusSet, *, seed: int
) -> NDArray[np.float64]:
    """The map a condition's mask is made from: the image's own map, or its control.

    Controls come from :func:`stimuli.masks.control_maps`, one image at a time:
    ``"permuted"`` takes the next image in table order (circularly), and
    ``"random_smooth"`` is seeded from the build's seed and the image's id, so
    that a resumed or sharded build makes the same controls.
    """
    from ..masks import control_maps

    own = np.asarray(stimuli.map(condition.source, stimulus_id), np.float64)
    if condition.control == "none":
        return own
    options = dict(condition.control_options)
    maps: list[Any] = [own]
    if condition.control == "permuted":
        ids = stimuli.ids
        maps.append(stimuli.map(condition.source, ids[(ids.index(stimulus_id) + 1) % len(ids)]))
    if condition.control == "random_smooth":
        options["rng"] = image_seed(int(options.pop("seed", seed)), stimulus_id)
    return np.asarray(control_maps(maps, kind=condition.control, **options)[0], np.float64)


def masks_stage(
    config: BuildConfig,
    stimuli: StimulusSet,
    mine: Sequence[str],
    target: Target,
    ranks: Ranks,
    *,
    progress: bool,
) -> None:
    """Make the masks and rendered stimuli missing for this rank's ids."""

    out = config.out
    mask_records = {c.name: _mask_record(c, stimuli, config) for c in config.conditions}
    render_records = {c.name: _render_record(c, config) for c in config.conditions if c.render}
    if config.render.backward_masks:
        render_records[BACKWARD_MASK] = {
            "condition": BACKWARD_MASK,
            "kind": "phase-scrambled backward mask",
            "seed": f"per image: image_seed({config.seed}, stimulus id)",
            "size": config.render.size,
            "greyscale": config.render.greyscale,
        }
    check_provenance(out, "masks", mask_records)
    check_provenance(out, "rendered", render_records)
    have_masks, have_rendered = done_ids(out, "masks"), done_ids(out, "rendered")

    def missing(kind_done: dict[str, set[str]], name: str, sid: str) -> bool:
        return sid not in kind_done.get(name, set())

    needed = [
        sid
        for sid in mine
        if any(missing(have_masks, name, sid) for name in mask_records)
        or any(missing(have_rendered, name, sid) for name in render_records)
    ]
    bar = progress_bar(len(needed), "masks", ranks=ranks, enabled=progress)
    with bar:
        for batch in batches(needed, config.batch_size):
            images = {sid: stimuli.image(sid) for sid in batch}
            made: dict[str, dict[str, NDArray[Any]]] = {}
            for condition in config.conditions:
                name = condition.name
                referenced = any(c.match_coverage == name for c in config.conditions)
                made[name] = {}
                new_masks, new_rendered = {}, {}
                for sid in batch:
                    make = missing(have_masks, name, sid)
                    show = condition.render and missing(have_rendered, name, sid)
                    if not (make or show or referenced):
                        continue
                    if make:
                        shape = images[sid].shape[:2]
                        mask = _make(condition, sid, shape, stimuli, made, seed=config.seed)
                        new_masks[sid] = mask
                    else:
                        mask = stimuli.mask(name, sid)
                    made[name][sid] = mask
                    if show:
                        new_rendered[sid] = _render(images[sid], mask, config)
                if new_masks:
                    target.append("masks", name, new_masks, mask_records[name])
                if new_rendered:
                    target.append("rendered", name, new_rendered, render_records[name])
            if config.render.backward_masks:
                backward = {
                    sid: _backward(images[sid], config, seed=image_seed(config.seed, sid))
                    for sid in batch
                    if missing(have_rendered, BACKWARD_MASK, sid)
                }
                if backward:
                    record = render_records[BACKWARD_MASK]
                    target.append("rendered", BACKWARD_MASK, backward, record)
            bar.update(len(batch))
            _engine._batch_done("masks", batch)


def _make(
    condition: ConditionSpec,
    stimulus_id: str,
    shape: tuple[int, ...],
    stimuli: StimulusSet,
    made: dict[str, dict[str, NDArray[Any]]],
    *,
    seed: int,
) -> NDArray[np.float32]:
    from ..masks import make_mask

    options = dict(condition.mask_options)
    # Masks are kept at the image's size, which render() needs; render resizes for display.
    options["size"] = (int(shape[0]), int(shape[1]))
    if condition.match_coverage is not None:
        reference = made[condition.match_coverage].get(stimulus_id)
        if reference is None:
            reference = stimuli.mask(condition.match_coverage, stimulus_id)
        options["coverage"] = float(np.mean(reference))
    try:
        source = condition_map(condition, stimulus_id, stimuli, seed=seed)
        mask = make_mask(source, kind=condition.mask, **options)
    except (ValueError, TypeError) as error:
        raise ValueError(f"Condition {condition.name!r}, image {stimulus_id!r}: {error}") from None
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)


def _size(value: Any, image: NDArray[np.uint8]) -> tuple[int, int] | None:
    return None if value == "image" else (int(value[0]), int(value[1]))


def _render(image: NDArray[np.uint8], mask: Any, config: BuildConfig) -> Any:
    from ..render import render

    options = config.render
    rendered = render(
        image,
        np.asarray(mask, np.float64),
        background=options.background,
        greyscale=options.greyscale,
        size=_size(options.size, image),
        blend=options.blend,
    )
    return np.asarray(rendered, np.uint8)


def _backward(image: NDArray[np.uint8], config: BuildConfig, *, seed: int) -> Any:
    from ..render import phase_scrambled_mask

    scrambled = phase_scrambled_mask(
        image, rng=seed, greyscale=config.render.greyscale, size=_size(config.render.size, image)
    )
    return np.asarray(scrambled, np.uint8)


def _mask_record(condition: ConditionSpec, stimuli: StimulusSet, config: BuildConfig) -> dict:
    return {
        "condition": condition.name,
        "source": condition.source,
        "mask": condition.mask,
        "mask_options": dict(condition.mask_options),
        "control": condition.control,
        "control_options": dict(condition.control_options),
        "match_coverage": condition.match_coverage,
        "seed": config.seed,
    }


def _render_record(condition: ConditionSpec, config: BuildConfig) -> dict:
    return {
        "condition": condition.name,
        "mask_condition": condition.name,
        "source": condition.source,
        "background": config.render.background,
        "greyscale": config.render.greyscale,
        "size": config.render.size,
        "blend": config.render.blend,
    }


def export_pngs(path: Path, folder: Path, *, overwrite: bool) -> list[Path]:
    """PNG files of a set's images and rendered stimuli, a batch of images at a time.

    Images go to ``<folder>/images/<id>.png`` (:func:`stimuli.export_png`),
    rendered stimuli to ``<folder>/<condition>/<id>.png``
    (:func:`stimuli.save_png`). Existing files are refused, before anything
    is written, unless ``overwrite``.
    """
    from ..export import export_png, save_png

    stimuli = read_stimulus_set(path)
    planned = {
        condition: [folder / condition / f"{sid}.png" for sid in stimuli.rendered_ids(condition)]
        for condition in stimuli.rendered_conditions
    }
    existing = [str(file) for files in planned.values() for file in files if file.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"PNG files exist already: {existing[:5]}.")
    written = export_png(path, folder / "images", overwrite=overwrite)
    for condition in planned:
        for batch in batches(stimuli.rendered_ids(condition), _PNG_BATCH):
            arrays = {sid: stimuli.rendered(condition, sid) for sid in batch}
            written += save_png(arrays, folder / condition, overwrite=True)
    return written
