"""The stimulus-set file (HDF5): images, a table of stimuli, maps, masks, rendered stimuli.

Layout (``format = "selectivity-stimulus-set"``, ``format_version = 2``)::

    /                    attrs: format, format_version (int), created (ISO 8601, UTC),
                                software ("selectivity"), software_version[, modified];
                                sets made by the build engine add build_status
                                ("incomplete" while a build writes, then "complete")
                                and build_config (JSON: the last build that wrote)
    /images/<id>         uint8 (H, W, 3), RGB, indexed [row, col, channel]; any size
    /stimuli/<column>    the table, one 1-D dataset per column, in stimulus order:
                         id, label (str), height, width (int), sha256 (hex of the image array's
                         C-order bytes, i.e. ``image.tobytes()``, not of an encoded file)
    /maps/<source>/<id>  float (h, w), any size; ``<source>`` is ``<model>/<method>`` for
                         network maps or ``human/<measure>`` for human maps (nested groups);
                         the source group has attrs ``source``, ``provenance`` (JSON) and
                         ``written`` (time of the last write)
    /masks/<condition>/<id>     float (h, w) in [0, 1]: how much of each pixel is shown;
                                group attrs ``condition``, ``provenance``, ``written``
    /rendered/<condition>/<id>  uint8 (H', W', 3) RGB: the stimulus as shown (masked image,
                                control, backward mask); group attrs as for masks

An entry (a map source or a condition) may be incomplete: the build engine
creates its group with the provenance first and appends arrays batch by
batch, so ``map_ids`` / ``mask_ids`` / ``rendered_ids`` say which stimuli it
has. Version 1 files (no ``masks`` or ``rendered`` groups; a source group
written whole, attributes last) are read as they are. Readers check
``format`` and ``format_version`` and refuse newer versions.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from ._reader import StimulusSet, read_stimulus_set
from ._store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    StimulusSetError,
    check_file,
    check_source_conflicts,
    now_iso,
    prepare_entries,
    prepare_maps,
    prepare_stimuli,
)
from ._write import append_entries, temporary_name, write_maps, write_root

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "StimulusSet",
    "StimulusSetError",
    "add_maps",
    "append_maps",
    "append_masks",
    "append_rendered",
    "read_stimulus_set",
    "write_stimulus_set",
]


def write_stimulus_set(
    path: str | os.PathLike[str],
    images: Mapping[str, NDArray[np.uint8]],
    *,
    labels: Mapping[str, str] | None = None,
    maps: Mapping[str, Mapping[str, NDArray[np.floating]]] | None = None,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write images, their labels and maps into a new stimulus-set file.

    Everything is checked before anything is written, and the file is
    written under a temporary name and then renamed, so a failure never
    leaves a partial file at ``path``.

    Parameters
    ----------
    path : path-like
        The ``.h5`` file to create.
    images : mapping of str to ndarray of uint8, shape (H, W, 3)
        Stimulus id -> RGB image; sizes may differ. Ids are non-empty
        strings without ``/``, not ``.``/``..``, without surrounding
        whitespace, and unique ignoring case (they become file names in
        :func:`export_png`). The table keeps the mapping's order.
    labels : mapping of str to str, optional
        Id -> category label; ids without one get ``""``.
    maps : mapping of str to mapping of str to ndarray of shape (h, w), optional
        Source (e.g. ``"vgg16/gradient"``, ``"human/fixations"``) -> id ->
        2-D finite map of any size, stored as float (float32 stays float32,
        other types become float64). Not every id needs a map.
    provenance : mapping of str to dict
        Source -> provenance, required for every source in ``maps``. Network
        sources need ``model``, ``weights``, ``weights_sha256``, ``method`` and
        ``parameters`` (see ``LoadedModel.map_provenance``); ``human/...``
        sources are free-form. Library versions of the writing environment are
        added under ``library_versions`` (entries already there are kept).
    overwrite : bool
        Replace an existing file at ``path``; by default it is refused.

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"The stimulus-set file {target} exists; pass overwrite=True to replace it."
        )
    for name, value in (("maps", maps), ("provenance", provenance)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(
                f"Invalid type for the '{name}' parameter: expected a mapping source -> ..., "
                f"but got {type(value).__name__}."
            )
    stimuli = prepare_stimuli(images, labels)
    ids = [row["id"] for row in stimuli]
    prepared = [
        prepare_maps(source, source_maps, ids, (provenance or {}).get(source))
        for source, source_maps in (maps or {}).items()
    ]
    extra = sorted(set(provenance or {}) - set(maps or {}))
    if extra:
        raise ValueError(
            f"The 'provenance' parameter names sources without maps: {extra}. "
            f"Map sources are {sorted(maps or {})}."
        )
    check_source_conflicts([p.source for p in prepared], existing=[])
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(target)
    try:
        with h5py.File(temporary, "w-") as file:
            write_root(file, stimuli, images)
            for item in prepared:
                write_maps(file.require_group("maps").create_group(item.source), item)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def add_maps(
    path: str | os.PathLike[str],
    source: str,
    maps: Mapping[str, NDArray[np.floating]],
    *,
    provenance: Mapping[str, Any],
    overwrite: bool = False,
) -> None:
    """Add the maps of one source to an existing stimulus-set file.

    Parameters
    ----------
    path : path-like
        A stimulus-set file.
    source : str
        E.g. ``"resnet50/gradient"`` or ``"human/fixations"``.
    maps : mapping of str to ndarray of shape (h, w)
        Id -> 2-D map; every id must be a stimulus of the file.
    provenance : dict
        As in :func:`write_stimulus_set`.
    overwrite : bool
        Replace the maps of ``source`` if the file has them; by default that
        is refused. The new maps are written completely before the old ones
        are removed. (HDF5 does not give the old space back; ``h5repack``
        does.)
    """
    existing = read_stimulus_set(path)
    item = prepare_maps(source, maps, list(existing.ids), provenance)
    sources = list(existing.map_sources)
    if source in sources and not overwrite:
        raise StimulusSetError(
            f"The stimulus-set file {existing.path} already has maps from source {source!r}; "
            "pass overwrite=True to replace them."
        )
    check_source_conflicts([source], existing=[s for s in sources if s != source])
    destination = f"maps/{source}"
    with h5py.File(existing.path, "r+") as file:
        # Write beside the maps first, so a failure leaves the old maps in place.
        staging = f"staging-{uuid.uuid4().hex}"
        write_maps(file.create_group(staging), item)
        if destination in file:
            del file[destination]
        file.require_group(posixpath.dirname(destination))
        file.move(staging, destination)
        file.attrs["modified"] = now_iso()


def _append(
    path: str | os.PathLike[str], kind: str, name: str, arrays: Any, provenance: Any
) -> list[str]:
    existing = read_stimulus_set(path)
    item = prepare_entries(kind, name, arrays, existing.ids, provenance)
    with check_file(existing.path, mode="r+") as file:
        written = append_entries(file, item, existing="raise")
        file.attrs["modified"] = now_iso()
    return written


def append_maps(
    path: str | os.PathLike[str],
    source: str,
    maps: Mapping[str, NDArray[np.floating]],
    *,
    provenance: Mapping[str, Any],
) -> None:
    """Append maps to a source of a stimulus-set file, creating the source if new.

    For writing batch by batch: each call writes its maps, flushes and
    closes the file, so an interruption loses at most the call in progress,
    and ``StimulusSet.map_ids(source)`` says which maps are done.

    Parameters
    ----------
    path : path-like
        A stimulus-set file.
    source : str
        E.g. ``"resnet50/gradient"``.
    maps : mapping of str to ndarray of shape (h, w)
        Id -> 2-D finite map; every id must be a stimulus of the file.
    provenance : dict
        As in :func:`write_stimulus_set`. For a source the file has already,
        it must equal the stored provenance (library versions aside): maps
        made with other settings are refused, never mixed in.

    Raises
    ------
    ValueError
        An id already has a map from ``source`` (maps are never written
        twice; use :func:`add_maps` with ``overwrite=True`` to replace a
        source), or the provenance differs.
    """
    _append(path, "maps", source, maps, provenance)


def append_masks(
    path: str | os.PathLike[str],
    condition: str,
    masks: Mapping[str, NDArray[np.floating]],
    *,
    provenance: Mapping[str, Any],
) -> None:
    """Append masks to a condition of a stimulus-set file, creating the condition if new.

    Parameters
    ----------
    path : path-like
        A stimulus-set file.
    condition : str
        Condition name, e.g. ``"top20"``.
    masks : mapping of str to ndarray of shape (h, w)
        Id -> mask with values in [0, 1] (the fraction of each pixel shown).
    provenance : dict
        What made the masks (map source, mask kind and options, control);
        free-form, library versions are added. Must equal the stored one for
        an existing condition.

    Raises
    ------
    ValueError
        As :func:`append_maps`; also for values outside [0, 1].
    """
    _append(path, "masks", condition, masks, provenance)


def append_rendered(
    path: str | os.PathLike[str],
    condition: str,
    images: Mapping[str, NDArray[np.uint8]],
    *,
    provenance: Mapping[str, Any],
) -> None:
    """Append rendered stimuli to a condition of a stimulus-set file.

    Parameters
    ----------
    path : path-like
        A stimulus-set file.
    condition : str
        Condition name, e.g. ``"top20"`` or ``"backward_mask"``.
    images : mapping of str to ndarray of uint8, shape (H, W, 3)
        Id -> the RGB stimulus as shown; any size (e.g. the presentation
        size).
    provenance : dict
        What made them (render options, mask condition); free-form. Must
        equal the stored one for an existing condition.

    Raises
    ------
    ValueError
        As :func:`append_maps`; also for arrays that are not RGB uint8.
    """
    _append(path, "rendered", condition, images, provenance)
