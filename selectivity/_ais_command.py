"""``selectivity analyze ais``: scores, heatmaps and an HTML summary from a configuration file."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from analysis.ais.config import AISConfig

from .tsv import write_table

__all__ = ["run_ais"]


def run_ais(config: AISConfig) -> dict[str, Path]:
    """Run the AIS protocol that ``config`` describes and write its outputs.

    Writes into ``config.folder``: ``scores_set.tsv`` (one row per map),
    ``scores_image.tsv`` (one row per image and map), ``pruning_table.tsv``
    (fold x n), ``pruning_folds.tsv``, ``pruning_summary.tsv``,
    ``heatmaps/<id>.png`` (display-normalised) and ``report/index.html``;
    with ``write_maps``, the raw heatmaps go into the stimulus-set file as the
    map source ``ais/<model>`` with the network's provenance.

    Returns
    -------
    dict of str to Path
        What was written, by name.
    """
    from analysis.ais import ais_heatmaps, ais_protocol, alignment_importance, write_ais_report
    from analysis.similarity import read_similarity
    from stimuli.models import load_model
    from stimuli.stimulus_set import add_maps, read_stimulus_set

    stimulus_set = read_stimulus_set(config.stimulus_set)
    paths = list(config.similarity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the second read below warns
        rated = read_similarity(
            paths,
            layout=config.layout,
            dissimilarity=config.dissimilarity,
            asymmetric=config.asymmetric,
            missing="mask",
        ).ids
    unknown = [sid for sid in rated if sid not in stimulus_set]
    if unknown:
        raise KeyError(
            f"The similarity ratings name images that are not in {stimulus_set.path}: "
            f"{unknown[:10]}."
        )
    ids = [sid for sid in stimulus_set.ids if sid in set(rated)]
    similarity = read_similarity(
        paths,
        layout=config.layout,
        dissimilarity=config.dissimilarity,
        asymmetric=config.asymmetric,
        missing=config.missing,
        ids=ids,
    )
    weights = None if config.weights == "none" else config.weights
    loaded = load_model(
        config.model, weights=weights, input_size=config.input_size, device=config.device
    )
    images = [stimulus_set.image(sid) for sid in ids]
    options: dict[str, Any] = {
        "layer": config.layer or None,
        "readout": config.readout or None,
        "method": config.method,
        "batch_size": config.batch_size,
    }
    pruned = None
    if config.pruning:
        result, pruned = ais_protocol(
            loaded, images, similarity, n_folds=config.n_folds, seeds=config.seeds, **options
        )
    else:
        result = alignment_importance(loaded, images, similarity, **options)
    out = config.folder
    out.mkdir(parents=True, exist_ok=True)
    written = _write_tables(out, result, pruned)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = _image_size_heatmaps(ais_heatmaps, result, images, normalize=None)
        shown = _image_size_heatmaps(ais_heatmaps, result, images, normalize="display")
    written.update(_write_pngs(out / "heatmaps", ids, shown))
    notes = _notes(loaded, result, raw, ids)
    if config.write_maps:
        maps = {sid: raw[i] for i, sid in enumerate(ids) if np.isfinite(raw[i]).all()}
        if maps:
            source = f"ais/{loaded.name}"
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
                source,
                maps,
                provenance=loaded.map_provenance(method="ais", parameters=parameters),
                overwrite=config.overwrite_maps,
            )
            notes.append(f"Heatmaps written to {stimulus_set.path} as map source '{source}'.")
    written["report"] = write_ais_report(
        out / "report",
        result=result,
        pruned=pruned,
        images=dict(zip(ids, images, strict=True)),
        heatmaps=shown,
        notes=notes,
        max_images=config.report_images,
        title=f"Alignment importance: {loaded.name}, {result.layer} -> {result.readout}",
    )
    (out / "config.json").write_text(
        json.dumps(dataclasses.asdict(config), default=str, indent=2), encoding="utf-8"
    )
    return written


def _write_tables(out: Path, result: Any, pruned: Any) -> dict[str, Path]:
    written = {"scores_set": out / "scores_set.tsv", "scores_image": out / "scores_image.tsv"}
    write_table(result.set_table(), written["scores_set"])
    write_table(result.image_table(), written["scores_image"])
    if pruned is not None:
        for name, frame in (
            ("pruning_table", pruned.table),
            ("pruning_folds", pruned.folds),
            ("pruning_summary", pruned.summary),
        ):
            written[name] = out / f"{name}.tsv"
            write_table(frame, written[name])
    return written


def _image_size_heatmaps(
    ais_heatmaps: Any, result: Any, images: list[Any], *, normalize: str | None
) -> list[np.ndarray]:
    """Each image's heatmap upsampled to that image's (height, width), as the issue defines.

    The network saw each image resized whole to its input, so the input-space
    map is stretched back onto the image; one call per distinct image size.
    """
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        height, width = np.shape(image)[:2]
        by_size.setdefault((int(height), int(width)), []).append(i)
    out: list[np.ndarray] = [np.empty(0)] * len(images)
    for size, rows in by_size.items():
        maps = ais_heatmaps(result, size=size, normalize=normalize)
        for i in rows:
            out[i] = maps[i]
    return out


def _write_pngs(folder: Path, ids: list[str], heatmaps: list[np.ndarray]) -> dict[str, Path]:
    from matplotlib.image import imsave

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for sid, heat in zip(ids, heatmaps, strict=True):
        if np.isfinite(heat).all():
            path = folder / f"{sid}.png"
            imsave(path, heat, cmap="inferno", vmin=0.0, vmax=1.0)
            written[f"heatmap:{sid}"] = path
    return written


def _notes(loaded: Any, result: Any, raw: list[np.ndarray], ids: list[str]) -> list[str]:
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
