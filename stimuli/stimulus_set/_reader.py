"""Reading stimulus-set files (private to ``stimulus_set``, which exports these names)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._store import (
    StimulusSetError,
    check_file,
    check_kind,
    image_sha256,
    named_groups,
    reading,
    text,
)

__all__ = ["StimulusSet", "read_stimulus_set"]

_TABLE_COLUMNS = ("id", "label", "height", "width", "sha256")
_NOUNS = {"maps": "map source", "masks": "mask condition", "rendered": "rendered condition"}


def _shown(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{shown or 'none'}{more}"


def _listing(kind: str, wanted: str, existing: list[str]) -> str:
    return f"No {kind} {wanted!r} in this stimulus set; there are: {_shown(existing)}."


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


class StimulusSet:
    """A stimulus-set file opened for reading.

    No file handle is kept: the table is read once when the set is opened,
    and each :meth:`image`, :meth:`map`, :meth:`mask`, :meth:`rendered` or
    :meth:`provenance` call opens the file read-only for the time of the
    call. So a set can be read from several processes, and entries added
    later (:func:`add_maps`, :func:`append_maps`, ...) show up in an open
    set. Nothing needs closing.

    Attributes
    ----------
    path : Path
        The file.
    attrs : dict
        The file's root attributes (format, format_version, created, ...;
        ``build_status`` and ``build_config`` for sets made by
        :func:`stimuli.build.build_stimulus_set`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with check_file(self.path) as file, reading(self.path, "the table of stimuli"):
            self.attrs = {key: _plain(value) for key, value in file.attrs.items()}
            group = file.get("stimuli")
            missing = [
                n
                for n in _TABLE_COLUMNS
                if not isinstance(group, h5py.Group) or not isinstance(group.get(n), h5py.Dataset)
            ]
            if missing or not isinstance(file.get("images"), h5py.Group):
                raise StimulusSetError(
                    f"The stimulus-set file {self.path} is damaged: the table columns {missing} "
                    f"or the images group are missing."
                )
            columns = {name: self._column(group[name]) for name in _TABLE_COLUMNS}
        self._table = pd.DataFrame(columns, columns=list(_TABLE_COLUMNS))
        self._index = {sid: row for row, sid in enumerate(self._table["id"])}

    def _column(self, dataset: h5py.Dataset) -> list[Any]:
        """One column of the table, checked: text for id, label, sha256, sizes > 0 else."""
        name = dataset.name.rsplit("/", 1)[-1]
        values = dataset[()]
        lengths = {
            len(group) for group in [dataset.parent[n] for n in _TABLE_COLUMNS] if group.ndim == 1
        }
        if np.ndim(values) != 1 or len(lengths) != 1:
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: the table column {name!r} "
                f"has shape {np.shape(values)}, but the columns are 1-D arrays of one length."
            )
        if name in ("height", "width"):
            if values.dtype.kind not in "iu" or (values < 1).any():
                raise StimulusSetError(
                    f"The stimulus-set file {self.path} is damaged: the table column {name!r} "
                    f"holds {values.tolist()!r}, not sizes in pixels (integers > 0)."
                )
            return [int(v) for v in values]
        if values.dtype.kind not in "OSU":
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: the table column {name!r} "
                f"holds {values.dtype} values, not text."
            )
        out = [text(value) for value in values]
        if name == "id" and len(set(out)) != len(out):
            twice = next(v for v in out if out.count(v) > 1)
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: the stimulus id {twice!r} "
                "appears more than once in the table."
            )
        return out

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
        return self._names("maps")

    @property
    def mask_conditions(self) -> tuple[str, ...]:
        """Names of the conditions with masks, sorted (empty for format version 1)."""
        return self._names("masks")

    @property
    def rendered_conditions(self) -> tuple[str, ...]:
        """Names of the conditions with rendered stimuli, sorted (empty for version 1)."""
        return self._names("rendered")

    def _names(self, kind: str) -> tuple[str, ...]:
        with check_file(self.path) as file, reading(self.path, f"the {_NOUNS[kind]}s"):
            return tuple(sorted(named_groups(file, kind)))

    def _row(self, stimulus_id: str) -> int:
        if stimulus_id not in self._index:
            raise KeyError(_listing("stimulus id", stimulus_id, list(self._index)))
        return self._index[stimulus_id]

    def image(self, stimulus_id: str, *, verify: bool = True) -> NDArray[np.uint8]:
        """The RGB image of ``stimulus_id``, shape (H, W, 3), uint8.

        With ``verify`` (default) its sha256 is checked against the table;
        a mismatch raises :class:`StimulusSetError` (a ``ValueError``), as does
        an image that is missing or not RGB uint8 of the table's size.
        """
        row = self._row(stimulus_id)
        where = f"/images/{stimulus_id}"
        with check_file(self.path) as file, reading(self.path, where):
            image = np.asarray(file["images"][stimulus_id][()])
        size = (int(self._table["height"].iloc[row]), int(self._table["width"].iloc[row]), 3)
        if image.dtype != np.uint8 or image.shape != size:
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: {where} has shape {image.shape} "
                f"and dtype {image.dtype}; the table says an RGB uint8 image of shape {size}."
            )
        if verify:
            expected = str(self._table["sha256"].iloc[row])
            actual = image_sha256(image)
            if actual != expected:
                raise StimulusSetError(
                    f"Checksum mismatch for image {stimulus_id!r} in {self.path}: the table says "
                    f"sha256 {expected}, the stored image has {actual}. The file is damaged."
                )
        return image

    def verify(self) -> None:
        """Check every image against its checksum; raise ``StimulusSetError`` naming the bad ones.

        (A ``ValueError``.) An image that cannot be read, or is not RGB uint8 of the table's
        size, counts as bad too.
        """
        bad = []
        for stimulus_id in self.ids:
            try:
                self.image(stimulus_id, verify=True)
            except StimulusSetError:
                bad.append(stimulus_id)
        if bad:
            raise StimulusSetError(
                f"Checksum mismatch in {self.path} for images {bad} (or they cannot be read)."
            )

    def map_ids(self, source: str) -> tuple[str, ...]:
        """Ids that have a map from ``source``, in table order."""
        return self._ids("maps", source)

    def mask_ids(self, condition: str) -> tuple[str, ...]:
        """Ids that have a mask in ``condition``, in table order."""
        return self._ids("masks", condition)

    def rendered_ids(self, condition: str) -> tuple[str, ...]:
        """Ids that have a rendered stimulus in ``condition``, in table order."""
        return self._ids("rendered", condition)

    def _ids(self, kind: str, name: str) -> tuple[str, ...]:
        with check_file(self.path) as file:
            group = self._entry_group(file, kind, name)
            with reading(self.path, f"the entries of {_NOUNS[kind]} {name!r}"):
                present = set(group)
        return tuple(sid for sid in self.ids if sid in present)

    def map(self, source: str, stimulus_id: str) -> NDArray[np.floating]:
        """The map of ``stimulus_id`` from ``source``, shape (h, w), float."""
        return self._array("maps", source, stimulus_id)

    def mask(self, condition: str, stimulus_id: str) -> NDArray[np.floating]:
        """The mask of ``stimulus_id`` in ``condition``: shape (h, w), float in [0, 1]."""
        return self._array("masks", condition, stimulus_id)

    def rendered(self, condition: str, stimulus_id: str) -> NDArray[np.uint8]:
        """The rendered stimulus of ``stimulus_id`` in ``condition``: (H, W, 3) RGB uint8."""
        return self._array("rendered", condition, stimulus_id)

    def _array(self, kind: str, name: str, stimulus_id: str) -> NDArray[Any]:
        self._row(stimulus_id)
        with check_file(self.path) as file:
            group = self._entry_group(file, kind, name)
            with reading(self.path, f"the entries of {_NOUNS[kind]} {name!r}"):
                has = stimulus_id in group
                listed = set(group)
            if not has and stimulus_id in listed:  # listed (by map_ids...), but not found
                raise StimulusSetError(
                    f"The stimulus-set file {self.path} is damaged: {group.name} lists "
                    f"{stimulus_id!r}, but it cannot be opened."
                )
            if not has:
                present = [sid for sid in self.ids if sid in listed]
                noun = _NOUNS[kind]
                raise KeyError(
                    f"{noun[0].upper()}{noun[1:]} {name!r} has no entry for stimulus "
                    f"{stimulus_id!r}; it has entries for {_shown(present)}."
                    if kind != "maps"
                    else f"Map source {name!r} has no map for stimulus {stimulus_id!r}; it has "
                    f"maps for {_shown(present)}."
                )
            where = f"{group.name}/{stimulus_id}"
            with reading(self.path, where):
                array = np.asarray(group[stimulus_id][()])
        problem = _array_problem(kind, array)
        if problem:
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: {where} {problem} (shape "
                f"{array.shape}, dtype {array.dtype})."
            )
        return array

    def provenance(self, name: str, *, kind: str = "maps") -> dict[str, Any]:
        """The provenance record (decoded JSON) of a map source or a condition.

        Parameters
        ----------
        name : str
            A map source (``kind="maps"``) or a condition name.
        kind : {"maps", "masks", "rendered"}
            Which kind of entry ``name`` is.
        """
        check_kind(kind)
        with check_file(self.path) as file:
            group = self._entry_group(file, kind, name)
            with reading(self.path, f"the provenance of {_NOUNS[kind]} {name!r}"):
                record = json.loads(text(group.attrs["provenance"]))
        if not isinstance(record, dict):
            raise StimulusSetError(
                f"The stimulus-set file {self.path} is damaged: the provenance of "
                f"{_NOUNS[kind]} {name!r} is {record!r}, not a JSON object."
            )
        return record

    def _entry_group(self, file: h5py.File, kind: str, name: str) -> h5py.Group:
        with reading(self.path, f"the {_NOUNS[kind]}s"):
            groups = named_groups(file, kind)
        if name not in groups:
            raise KeyError(_listing(_NOUNS[kind], name, sorted(groups)))
        return groups[name]


def _array_problem(kind: str, array: NDArray[Any]) -> str:
    """What is wrong with a stored map, mask or rendered image ("" when nothing is)."""
    if kind == "rendered":
        rgb = array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
        return "" if rgb and 0 not in array.shape else "is not an RGB uint8 image"
    if array.ndim != 2 or 0 in array.shape or array.dtype.kind != "f":
        return "is not a 2-D array of floats"
    if not np.isfinite(array).all():
        return "has NaN or infinite values"
    if kind == "masks" and (array.min() < 0 or array.max() > 1):
        return "has values outside [0, 1]"
    return ""


def read_stimulus_set(path: str | os.PathLike[str]) -> StimulusSet:
    """Open a stimulus-set file for reading.

    Parameters
    ----------
    path : path-like
        A file written by :func:`write_stimulus_set` or the build engine;
        format versions 1 and 2 are read.

    Returns
    -------
    StimulusSet
        With ``.ids``, ``.table``, ``.image(id)``, ``.map(source, id)``,
        ``.map_sources``, ``.mask(condition, id)``, ``.rendered(condition,
        id)`` and ``.provenance(name)``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    StimulusSetError
        (a ``ValueError``) Not an HDF5 file, not a stimulus set, written by a
        newer format version than this software reads, or damaged (cut short,
        a missing or malformed table column, duplicate ids). The accessors
        raise it too for damage found when they read: a missing or malformed
        image, map, mask or rendered stimulus (an image must be RGB uint8 of
        the table's size and match its checksum; maps finite 2-D floats;
        masks in [0, 1]), a missing or malformed provenance record.
    """
    return StimulusSet(path)
