"""The build engine: stages run batch by batch on this rank's shard, written as they finish."""

from __future__ import annotations

import gc
import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._config import BuildConfig, MethodSpec, ModelSpec
from ._dist import Ranks, shard_path
from ..stimulus_set._reader import StimulusSet
from ..stimulus_set._store import check_file, prepare_entries, provenance_json
from ..stimulus_set._write import (
    SHARD_FORMAT_NAME,
    append_entries,
    create_shard,
    entry_ids,
    entry_provenance,
    provenance_differences,
)

__all__ = ["Target", "batches", "check_provenance", "image_seed", "maps_stage", "progress_bar"]

_NOUNS = {"maps": "map source", "masks": "mask condition", "rendered": "rendered condition"}


def _batch_done(stage: str, ids: Sequence[str]) -> None:
    """Called after each batch is on disk; a seam for tests that interrupt a build."""


class Target:
    """Where this rank writes: the stimulus set itself (one process) or its shard file.

    Every :meth:`append` opens the file, writes one entry's arrays, flushes
    and closes it, so an interruption loses at most the batch in progress.
    Nothing is touched before the first append: the shard file is created,
    or the set marked incomplete, then.
    """

    def __init__(self, config: BuildConfig, ranks: Ranks, *, resume: bool) -> None:
        self.config = config
        self.resume = resume
        self.sharded = ranks.world > 1
        self.path = shard_path(config.out, ranks.rank) if self.sharded else config.out
        self.format_name = SHARD_FORMAT_NAME if self.sharded else None
        self._started = False

    def append(self, kind: str, name: str, arrays: Mapping[str, Any], provenance: Any) -> None:
        """Append ``arrays`` (id -> array) to entry ``name`` of ``kind``."""
        item = prepare_entries(kind, name, arrays, None, provenance)
        if not self._started:
            if self.sharded:
                create_shard(self.path, target=self.config.out)
            else:
                mark_incomplete(self.config, resume=self.resume)
            self._started = True
        options = {"format_name": self.format_name} if self.format_name else {}
        with check_file(self.path, mode="r+", **options) as file:
            append_entries(file, item, existing="raise")


def mark_incomplete(config: BuildConfig, *, resume: bool) -> None:
    """Record in the set that a build is writing to it, and that build's configuration."""
    with check_file(config.out, mode="r+") as file:
        file.attrs["build_status"] = "incomplete"
        file.attrs["build_config"] = config_record(config, resume=resume)


def done_ids(out: Path, kind: str) -> dict[str, set[str]]:
    """Ids each entry of ``kind`` in the stimulus set ``out`` has already."""
    with check_file(out) as file:
        return entry_ids(file, kind)


def check_provenance(out: Path, kind: str, records: Mapping[str, Any]) -> None:
    """Refuse entries that ``out`` has with other settings, before computing anything."""
    with check_file(out) as file:
        stored = entry_provenance(file, kind)
    for name, record in records.items():
        if name not in stored:
            continue
        differ = provenance_differences(stored[name], provenance_json(kind, name, record))
        if differ:
            raise ValueError(
                f"The stimulus set {out} has {_NOUNS[kind]} {name!r} made with other settings "
                f"(provenance keys {differ} differ): continuing would mix them. Give the new "
                "settings another name, or write another output file."
            )


def batches(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """Consecutive slices of ``ids`` of at most ``size``."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def image_seed(seed: int, stimulus_id: str) -> int:
    """A seed for one image, from the build's seed and the image's id (not its position)."""
    digest = hashlib.sha256(f"{int(seed)}\0{stimulus_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFF_FFFF


def progress_bar(total: int, description: str, *, ranks: Ranks, enabled: bool) -> Any:
    """A tqdm bar for this rank (one line per rank under torchrun)."""
    from tqdm.auto import tqdm

    label = f"[rank {ranks.rank}] {description}" if ranks.world > 1 else description
    return tqdm(
        total=total,
        desc=label,
        unit="img",
        disable=not enabled,
        position=ranks.rank if ranks.world > 1 else None,
        dynamic_ncols=True,
    )


def _load(spec: ModelSpec, *, device: str, seed: int) -> Any:
    import torch

    from ..models import load_model

    options: dict[str, Any] = dict(spec.options)
    if spec.input_size != "auto":
        options["input_size"] = spec.input_size
    if spec.resize != "whole":
        options["resize"] = spec.resize
    # Random weights come from the build's seed, so that every rank and every resumed run
    # computes with the same network.
    torch.manual_seed(seed)
    return load_model(spec.model, weights=spec.weights, device=device, **options)


def _parameters(config: BuildConfig, model: ModelSpec, method: MethodSpec) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "target": "predicted" if model.target is None else model.target,
        "layer": method.layer_for(model.prefix),
        "options": dict(method.options),
        "to_map": config.to_map_options(method),
        "map_dtype": "float32",
    }
    if config.autocast is not None:
        parameters["autocast"] = config.autocast
    if model.weights is None:
        parameters["random_weights_seed"] = config.seed
    if _random_draws(method):
        base = method.options.get("seed", config.seed)
        parameters["seed"] = f"per image: image_seed({base}, stimulus id)"
    return parameters


def _check_layers(config: BuildConfig, model: ModelSpec, loaded: Any) -> None:
    """Refuse a method's layer that the loaded network lacks, naming the configuration key."""
    from selectivity.config import ConfigError

    for index, method in enumerate(config.methods):
        layer = method.layer_for(model.prefix)
        if not isinstance(layer, str):
            continue
        try:
            loaded.model.get_submodule(layer)
        except AttributeError:
            names = [name for name, _ in loaded.model.named_modules() if name]
            shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
            where = str(config.path) if config.path is not None else "BuildConfig"
            raise ConfigError(
                f"{where}: [methods][{index}] layer: the model {model.prefix!r} has no module "
                f"{layer!r}. Modules are: {shown}."
            ) from None


def _random_draws(method: MethodSpec) -> bool:
    """Whether the method draws random numbers (SmoothGrad's noise, a uniform baseline)."""
    from ..attribution import ATTRIBUTION_METHODS

    if "seed" not in ATTRIBUTION_METHODS[method.method].options:
        return False
    return method.method == "smoothgrad" or method.options.get("baseline") == "uniform"


def _attribute(
    loaded: Any,
    inputs: Any,
    ids: list[str],
    model: ModelSpec,
    method: MethodSpec,
    *,
    seed: int,
    autocast: str | None,
) -> Any:
    import torch

    from ..attribution import attribute

    options = dict(method.options)
    layer = method.layer_for(model.prefix)
    common: dict[str, Any] = {"method": method.method, "target": model.target, "layer": layer}
    if autocast is not None:
        common["autocast"] = autocast
    if not _random_draws(method):
        return attribute(loaded, inputs, **common, **options)
    # Random draws keyed by the image, not by its place in a batch: a resumed or sharded
    # run then gives the same maps as one uninterrupted run.
    base = options.pop("seed", seed)
    parts = [
        attribute(loaded, inputs[row : row + 1], **common, seed=image_seed(base, sid), **options)
        for row, sid in enumerate(ids)
    ]
    return torch.cat(parts)


def _to_image_map(
    raw: Any, image_shape: tuple[int, ...], preprocess: Any, options: Mapping[str, Any]
) -> NDArray[np.float32]:
    from ..maps import to_map

    size = options["size"]
    kwargs = {key: value for key, value in options.items() if key != "size"}
    if size == "input":
        return to_map(raw, **kwargs).astype(np.float32)
    if size != "image":
        return to_map(raw, size=tuple(size), **kwargs).astype(np.float32)
    height, width = int(image_shape[0]), int(image_shape[1])
    region = getattr(preprocess, "input_region", None)
    top, left, bottom, right = (
        (round(edge) for edge in region(image_shape)) if region else (0, 0, height, width)
    )
    if (top, left, bottom, right) == (0, 0, height, width):
        return to_map(raw, size=(height, width), **kwargs).astype(np.float32)
    # A centre-cropped input covers part of the image: the map goes there, zeros elsewhere.
    inner = to_map(raw, size=(bottom - top, right - left), **kwargs)
    full = np.zeros((height, width), np.float32)
    full[top:bottom, left:right] = inner
    return full


def _groups(tensors: list[Any]) -> dict[tuple[int, ...], list[int]]:
    """Rows of a batch grouped by tensor shape (images kept at their own size differ)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for row, tensor in enumerate(tensors):
        groups.setdefault(tuple(tensor.shape), []).append(row)
    return groups


def maps_stage(
    config: BuildConfig,
    stimuli: StimulusSet,
    mine: Sequence[str],
    target: Target,
    ranks: Ranks,
    *,
    progress: bool,
) -> None:
    """Compute the maps of every (model, method) missing for this rank's ids."""
    import torch

    done = done_ids(config.out, "maps")
    for model in config.models:
        methods = [(k, s) for m, k, s in config.sources() if m is model]
        todo = {s: {i for i in mine if i not in done.get(s, set())} for _, s in methods}
        needed = [i for i in mine if any(i in todo[s] for _, s in methods)]
        # Loaded even when nothing is left to do: its provenance must match what is stored.
        with warnings.catch_warnings():
            if not ranks.main:
                warnings.simplefilter("ignore", UserWarning)
            loaded = _load(model, device=ranks.device, seed=config.seed)
        records = {
            source: loaded.map_provenance(
                method=method.method, parameters=_parameters(config, model, method)
            )
            for method, source in methods
        }
        check_provenance(config.out, "maps", records)
        _check_layers(config, model, loaded)
        bar = progress_bar(len(needed), f"{model.prefix} maps", ranks=ranks, enabled=progress)
        with bar:
            for batch in batches(needed, config.batch_size):
                images = {i: stimuli.image(i) for i in batch}
                tensors = [loaded.preprocess(images[i]) for i in batch]
                for rows in _groups(tensors).values():
                    inputs = torch.stack([tensors[r] for r in rows])
                    for method, source in methods:
                        wanted = [r for r in rows if batch[r] in todo[source]]
                        if not wanted:
                            continue
                        ids = [batch[r] for r in wanted]
                        picked = inputs[[rows.index(r) for r in wanted]]
                        raw = _attribute(
                            loaded,
                            picked,
                            ids,
                            model,
                            method,
                            seed=config.seed,
                            autocast=config.autocast,
                        )
                        options = config.to_map_options(method)
                        maps = {
                            sid: _to_image_map(
                                raw[j], images[sid].shape, loaded.preprocess, options
                            )
                            for j, sid in enumerate(ids)
                        }
                        target.append("maps", source, maps, records[source])
                bar.update(len(batch))
                _batch_done("maps", batch)
        del loaded
        gc.collect()
        if ranks.device.startswith("cuda"):
            torch.cuda.empty_cache()


def config_record(config: BuildConfig, *, resume: bool) -> str:
    """The configuration as JSON, for the ``build_config`` attribute."""
    record = config.describe()
    record["resume"] = resume
    return json.dumps(record, sort_keys=True, default=str)
