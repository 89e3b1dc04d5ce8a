"""The AIS study pipeline: a configuration in; scores, pruning, heatmaps and a report out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd

    from ..similarity import SimilarityMatrix
    from ._results import AISResult, PruningResult
    from .config import AISConfig

__all__ = ["AISRun", "run_ais"]


@dataclass(frozen=True, eq=False)
class AISRun:
    """What :func:`run_ais` computed and wrote.

    Attributes
    ----------
    folder : Path
        The output folder.
    ids : tuple of str
        The rated images, in the stimulus set's order (the rows of every table).
    similarity : SimilarityMatrix
        The ratings as used, rows and columns in the order of ``ids``.
    result : AISResult
        Set-level and per-image scores.
    pruned : PruningResult or None
        Cross-validated pruning (None when ``[pruning] enabled = false``).
    heatmaps : tuple of ndarray of shape (H_i, W_i)
        Each image's raw heatmap at its own size, in the order of ``ids``
        (NaN where undefined).
    tables : dict of str to DataFrame
        ``scores_set``, ``scores_image`` and, with pruning, ``pruning_table``,
        ``pruning_folds`` and ``pruning_summary``, as written.
    paths : dict of str to Path
        Every file written, by name: the tables, ``heatmap:<id>`` PNGs,
        ``report`` (the HTML page) and ``config`` (the configuration used).
    map_source : str or None
        The stimulus-set map source the heatmaps went into (``ais/<model>``),
        or None when none was written.
    notes : tuple of str
        The notes shown in the report (model, engine, warnings).
    """

    folder: Path
    ids: tuple[str, ...]
    similarity: SimilarityMatrix
    result: AISResult
    pruned: PruningResult | None
    heatmaps: tuple[NDArray[np.float64], ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    map_source: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def report(self) -> Path:
        """The HTML report, ``<folder>/report/index.html``."""
        return self.paths["report"]


def run_ais(config: AISConfig, *, progress: Callable[[str], None] | None = None) -> AISRun:
    """Run the AIS protocol that ``config`` describes and write its outputs.

    The ratings are read once; the images they rate must all be in the
    stimulus set and are used in the set's order. Writes into
    ``config.folder``: ``scores_set.tsv`` (one row per map),
    ``scores_image.tsv`` (one row per image and map), ``pruning_table.tsv``
    (fold x n), ``pruning_folds.tsv``, ``pruning_summary.tsv``,
    ``heatmaps/<id>.png`` (display-normalised), ``report/index.html`` and
    ``config.json``; with ``write_maps``, the raw heatmaps go into the
    stimulus-set file as the map source ``ais/<model>`` with the network's
    provenance. Warnings about the data (dropped ratings, NaN heatmaps) are
    passed on to the caller, never silenced.

    Parameters
    ----------
    config : AISConfig
        From :func:`load_ais_config` (paths resolved).
    progress : callable, optional
        Called with a short line as each step starts (e.g. ``print``).

    Returns
    -------
    AISRun

    Raises
    ------
    RatingsError
        The ratings cannot be read, name images that are not in the stimulus
        set, or miss pairs while ``[ais] missing = "error"``.
    AISConfigError
        The model, weights, layer or readout of the configuration do not exist.
    FileNotFoundError
        The stimulus set, a ratings file or the weights file is missing.
    StimulusSetError
        The stimulus-set file is not one, or already has ``ais/<model>`` maps
        while ``[output] overwrite_maps = false``.
    """
    from stimuli.stimulus_set import add_maps, read_stimulus_set

    from ..similarity import RatingsError, _check_missing, read_similarity
    from .scores import ais_protocol, alignment_importance

    say = progress or (lambda _line: None)
    stimulus_set = read_stimulus_set(config.stimulus_set)
    say(f"reading the ratings {', '.join(map(str, config.similarity))}")
    rated = read_similarity(
        list(config.similarity),
        layout=config.layout,
        dissimilarity=config.dissimilarity,
        asymmetric=config.asymmetric,
        missing="mask",
    )
    unknown = [sid for sid in rated.ids if sid not in stimulus_set]
    if unknown:
        raise RatingsError(
            f"The similarity ratings ({rated.source}) name images that are not in "
            f"{stimulus_set.path}: {unknown[:10]}."
        )
    in_ratings = set(rated.ids)
    ids = [sid for sid in stimulus_set.ids if sid in in_ratings]
    similarity = rated.reorder(ids)
    _check_missing(similarity, config.missing)
    say(f"loading {config.model} (weights: {config.weights})")
    loaded = _load_model(config)
    images = [stimulus_set.image(sid) for sid in ids]
    options: dict[str, Any] = {
        "layer": config.layer or None,
        "readout": config.readout or None,
        "method": config.method,
        "batch_size": config.batch_size,
    }
    say(f"scoring {len(ids)} images" + (" with pruning" if config.pruning else ""))
    pruned = None
    if config.pruning:
        result, pruned = ais_protocol(
            loaded, images, similarity, n_folds=config.n_folds, seeds=config.seeds, **options
        )
    else:
        result = alignment_importance(loaded, images, similarity, **options)
    out = config.folder
    out.mkdir(parents=True, exist_ok=True)
    tables, paths = _write_tables(out, result, pruned)
    raw = _image_size_heatmaps(result, images, normalize=None)
    shown = _image_size_heatmaps(result, images, normalize="display")
    paths.update(_write_pngs(out / "heatmaps", ids, shown))
    notes = _notes(loaded, result, raw, ids)
    map_source = None
    maps = {sid: raw[i] for i, sid in enumerate(ids) if np.isfinite(raw[i]).all()}
    if config.write_maps and maps:
        map_source = f"ais/{loaded.name}"
        parameters = {
            "layer": result.layer,
            "readout": result.readout,
            "similarity": similarity.source,
            "dissimilarity": config.dissimilarity,
            "images": len(ids),
            "baseline_fit": result.baseline_fit,
            "heatmap": "sum_k AIS_(i,k) A_(i,k) / sum_k AIS_(i,k), bilinear to the image size",
            "engine": result.method,
        }
        add_maps(
            stimulus_set.path,
            map_source,
            maps,
            provenance=loaded.map_provenance(method="ais", parameters=parameters),
            overwrite=config.overwrite_maps,
        )
        notes.append(f"Heatmaps written to {stimulus_set.path} as map source '{map_source}'.")
    say("writing the report")
    paths["report"] = _report(out, config, loaded, result, pruned, ids, images, shown, notes)
    paths["config"] = out / "config.json"
    paths["config"].write_text(
        json.dumps(dataclasses.asdict(config), default=str, indent=2), encoding="utf-8"
    )
    return AISRun(
        folder=out,
        ids=tuple(ids),
        similarity=similarity,
        result=result,
        pruned=pruned,
        heatmaps=tuple(raw),
        tables=tables,
        paths=paths,
        map_source=map_source,
        notes=tuple(notes),
    )


def _load_model(config: AISConfig) -> Any:
    """The configured network, with its layer and readout checked; naming the key when wrong."""
    from stimuli.models import load_model

    from ._modules import resolve, unwrap
    from .config import AISConfigError

    weights = None if config.weights == "none" else config.weights
    try:
        loaded = load_model(
            config.model, weights=weights, input_size=config.input_size, device=config.device
        )
    except ValueError as error:  # load_model raises ValueError only for the names it was given
        raise AISConfigError(
            f"{config.path}: [ais] model = {config.model!r}, weights = {config.weights!r}: {error}"
        ) from error
    try:
        resolve(unwrap(loaded)[0], config.layer or None, config.readout or None)
    except ValueError as error:  # resolve raises only for module names
        raise AISConfigError(
            f"{config.path}: [ais] layer = {config.layer!r}, readout = {config.readout!r}: {error}"
        ) from error
    return loaded


def _write_tables(
    out: Path, result: AISResult, pruned: PruningResult | None
) -> tuple[dict[str, pd.DataFrame], dict[str, Path]]:
    tables = {"scores_set": result.set_table(), "scores_image": result.image_table()}
    if pruned is not None:
        tables.update(
            pruning_table=pruned.table, pruning_folds=pruned.folds, pruning_summary=pruned.summary
        )
    from selectivity.tsv import write_table

    paths = {}
    for name, frame in tables.items():
        paths[name] = out / f"{name}.tsv"
        write_table(frame, paths[name])
    return tables, paths


def _image_size_heatmaps(
    result: AISResult, images: list[Any], *, normalize: str | None
) -> list[NDArray[np.float64]]:
    """Each image's heatmap upsampled to that image's (height, width), as the issue defines.

    The network saw each image resized whole to its input, so the input-space
    map is stretched back onto the image; one call per distinct image size.
    """
    from ._overlap import ais_heatmaps

    by_size: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        height, width = np.shape(image)[:2]
        by_size.setdefault((int(height), int(width)), []).append(i)
    out: list[NDArray[np.float64]] = [np.empty(0)] * len(images)
    for size, rows in by_size.items():
        maps = ais_heatmaps(result, size=size, normalize=normalize)  # type: ignore[arg-type]
        for i in rows:
            out[i] = maps[i]
    return out


def _write_pngs(
    folder: Path, ids: list[str], heatmaps: list[NDArray[np.float64]]
) -> dict[str, Path]:
    from matplotlib.image import imsave

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for sid, heat in zip(ids, heatmaps, strict=True):
        if np.isfinite(heat).all():
            path = folder / f"{sid}.png"
            imsave(path, heat, cmap="inferno", vmin=0.0, vmax=1.0)
            written[f"heatmap:{sid}"] = path
    return written


def _report(
    out: Path,
    config: AISConfig,
    loaded: Any,
    result: AISResult,
    pruned: PruningResult | None,
    ids: list[str],
    images: list[Any],
    shown: list[NDArray[np.float64]],
    notes: list[str],
) -> Path:
    from ._report import write_ais_report

    return write_ais_report(
        out / "report",
        result=result,
        pruned=pruned,
        images=dict(zip(ids, images, strict=True)),
        heatmaps=shown,
        notes=notes,
        max_images=config.report_images,
        title=f"Alignment importance: {loaded.name}, {result.layer} -> {result.readout}",
    )


def _notes(
    loaded: Any, result: AISResult, raw: list[NDArray[np.float64]], ids: list[str]
) -> list[str]:
    notes = [
        f"Model {loaded.identifier}; layer {result.layer} ({result.activations.shape[1]} maps), "
        f"readout {result.readout}; engine '{result.method}'; {len(ids)} images; "
        f"{int(result.pair_mask.sum()) // 2} rated pairs; baseline fit {result.baseline_fit:.4g}.",
        "Heatmaps: sum_k AIS_(i,k) A_(i,k) / sum_k AIS_(i,k), upsampled to the image size; "
        "shown divided by their maximum and squared (negative values set to 0).",
    ]
    if loaded.provenance.get("warning"):
        notes.append(f"Warning: {loaded.provenance['warning']}.")
    undefined = [sid for sid, heat in zip(ids, raw, strict=True) if not np.isfinite(heat).all()]
    if undefined:
        notes.append(
            f"No heatmap for {undefined[:10]}: their per-image scores sum to zero or are NaN."
        )
    return notes
