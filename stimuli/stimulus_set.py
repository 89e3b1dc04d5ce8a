"""The stimulus-set file (HDF5): images, a table of stimuli, named maps and their provenance.

Layout (``format = "selectivity-stimulus-set"``, ``format_version = 1``)::

    /                    attrs: format, format_version (int), created (ISO 8601, UTC),
                                software ("selectivity"), software_version[, modified]
    /images/<id>         uint8 (H, W, 3), RGB, indexed [row, col, channel]; any size
    /stimuli/<column>    the table, one 1-D dataset per column, in stimulus order:
                         id, label (str), height, width (int), sha256 (hex of the image array's
                         C-order bytes, i.e. ``image.tobytes()``, not of an encoded file)
    /maps/<source>/<id>  float (h, w), any size; ``<source>`` is ``<model>/<method>`` for
                         network maps or ``human/<measure>`` for human maps (nested groups);
                         the source group has attrs ``source`` and ``provenance`` (JSON)

Readers check ``format`` and ``format_version`` and refuse newer versions.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    check_file,
    check_source_conflicts,
    image_sha256,
    now_iso,
    prepare_maps,
    prepare_stimuli,
    text,
    write_maps,
    write_root,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "StimulusSet",
    "add_maps",
    "read_stimulus_set",
    "write_stimulus_set",
]

_TABLE_COLUMNS = ("id", "label", "height", "width", "sha256")


def _shown(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{shown or 'none'}{more}"


def _listing(kind: str, wanted: str, existing: list[str]) -> str:
    return f"No {kind} {wanted!r} in this stimulus set; there are: {_shown(existing)}."


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
    # Not tempfile.mkstemp: its 0600 permissions would carry over to the final file.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
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
        raise ValueError(
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


class StimulusSet:
    """A stimulus-set file opened for reading.

    No file handle is kept: the table is read once when the set is opened,
    and each :meth:`image`, :meth:`map` or :meth:`provenance` call opens the
    file read-only for the time of the call. So a set can be read from
    several processes, and maps added with :func:`add_maps` show up in an
    open set. Nothing needs closing.

    Attributes
    ----------
    path : Path
        The file.
    attrs : dict
        The file's root attributes (format, format_version, created, ...).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with check_file(self.path) as file:
            self.attrs = {key: _plain(value) for key, value in file.attrs.items()}
            group = file.get("stimuli")
            missing = [
                n for n in _TABLE_COLUMNS if not isinstance(group, h5py.Group) or n not in group
            ]
            if missing or "images" not in file:
                raise ValueError(
                    f"The stimulus-set file {self.path} is damaged: the table columns {missing} "
                    f"or the images group are missing."
                )
            columns = {name: group[name][()] for name in _TABLE_COLUMNS}
        for name in ("id", "label", "sha256"):
            columns[name] = [text(value) for value in columns[name]]
        self._table = pd.DataFrame(columns, columns=list(_TABLE_COLUMNS))
        self._table = self._table.astype({"height": "int64", "width": "int64"})
        self._index = {sid: row for row, sid in enumerate(self._table["id"])}

    def __repr__(self) -> str:
        return f"<StimulusSet {self.path.name}: {len(self)} stimuli>"

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __contains__(self, stimulus_id: object) -> bool:
        return stimulus_id in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        """Stimulus ids in table order."""
        return tuple(self._index)

    @property
    def table(self) -> pd.DataFrame:
        """The table of stimuli (a copy): id, label, height, width, sha256."""
        return self._table.copy()

    @property
    def map_sources(self) -> tuple[str, ...]:
        """Names of the map sources in the file, sorted."""
        with check_file(self.path) as file:
            return tuple(sorted(_sources(file)))

    def _row(self, stimulus_id: str) -> int:
        if stimulus_id not in self._index:
            raise KeyError(_listing("stimulus id", stimulus_id, list(self._index)))
        return self._index[stimulus_id]

    def image(self, stimulus_id: str, *, verify: bool = True) -> NDArray[np.uint8]:
        """The RGB image of ``stimulus_id``, shape (H, W, 3), uint8.

        With ``verify`` (default) its sha256 is checked against the table;
        a mismatch raises ``ValueError``.
        """
        row = self._row(stimulus_id)
        with check_file(self.path) as file:
            image = np.asarray(file["images"][stimulus_id][()])
        if verify:
            expected = str(self._table["sha256"].iloc[row])
            actual = image_sha256(image)
            if actual != expected:
                raise ValueError(
                    f"Checksum mismatch for image {stimulus_id!r} in {self.path}: the table says "
                    f"sha256 {expected}, the stored image has {actual}. The file is damaged."
                )
        return image

    def verify(self) -> None:
        """Check every image against its checksum; raise ``ValueError`` naming the bad ones."""
        bad = []
        for stimulus_id in self.ids:
            try:
                self.image(stimulus_id, verify=True)
            except ValueError:
                bad.append(stimulus_id)
        if bad:
            raise ValueError(f"Checksum mismatch in {self.path} for images {bad}.")

    def map_ids(self, source: str) -> tuple[str, ...]:
        """Ids that have a map from ``source``, in table order."""
        with check_file(self.path) as file:
            group = self._source_group(file, source)
            present = set(group)
        return tuple(sid for sid in self.ids if sid in present)

    def map(self, source: str, stimulus_id: str) -> NDArray[np.floating]:
        """The map of ``stimulus_id`` from ``source``, shape (h, w), float."""
        self._row(stimulus_id)
        with check_file(self.path) as file:
            group = self._source_group(file, source)
            if stimulus_id not in group:
                present = [sid for sid in self.ids if sid in group]
                raise KeyError(
                    f"Map source {source!r} has no map for stimulus {stimulus_id!r}; it has maps "
                    f"for {_shown(present)}."
                )
            return np.asarray(group[stimulus_id][()])

    def provenance(self, source: str) -> dict[str, Any]:
        """The provenance record of ``source`` (decoded JSON)."""
        with check_file(self.path) as file:
            return dict(json.loads(text(self._source_group(file, source).attrs["provenance"])))

    @staticmethod
    def _source_group(file: h5py.File, source: str) -> h5py.Group:
        sources = _sources(file)
        if source not in sources:
            raise KeyError(_listing("map source", source, sorted(sources)))
        return file["maps"][source]


def _sources(file: h5py.File) -> list[str]:
    if "maps" not in file:
        return []
    found: list[str] = []

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Group) and "source" in item.attrs:
            found.append(text(item.attrs["source"]))

    file["maps"].visititems(visit)
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_stimulus_set(path: str | os.PathLike[str]) -> StimulusSet:
    """Open a stimulus-set file for reading.

    Parameters
    ----------
    path : path-like
        A file written by :func:`write_stimulus_set`.

    Returns
    -------
    StimulusSet
        With ``.ids``, ``.table``, ``.image(id)``, ``.map(source, id)``,
        ``.map_sources`` and ``.provenance(source)``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not an HDF5 file, not a stimulus set, or written by a newer format
        version than this software reads.
    """
    return StimulusSet(path)
