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

from ._store import check_file, check_kind, image_sha256, named_groups, text

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
        with check_file(self.path) as file:
            return tuple(sorted(named_groups(file, kind)))

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
        return self._ids("maps", source)

    def mask_ids(self, condition: str) -> tuple[str, ...]:
        """Ids that have a mask in ``condition``, in table order."""
        return self._ids("masks", condition)

    def rendered_ids(self, condition: str) -> tuple[str, ...]:
        """Ids that have a rendered stimulus in ``condition``, in table order."""
        return self._ids("rendered", condition)

    def _ids(self, kind: str, name: str) -> tuple[str, ...]:
        with check_file(self.path) as file:
            present = set(self._entry_group(file, kind, name))
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
            if stimulus_id not in group:
                present = [sid for sid in self.ids if sid in group]
                noun = _NOUNS[kind]
                raise KeyError(
                    f"{noun[0].upper()}{noun[1:]} {name!r} has no entry for stimulus "
                    f"{stimulus_id!r}; it has entries for {_shown(present)}."
                    if kind != "maps"
                    else f"Map source {name!r} has no map for stimulus {stimulus_id!r}; it has "
                    f"maps for {_shown(present)}."
                )
            return np.asarray(group[stimulus_id][()])

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
            return dict(json.loads(text(group.attrs["provenance"])))

    @staticmethod
    def _entry_group(file: h5py.File, kind: str, name: str) -> h5py.Group:
        groups = named_groups(file, kind)
        if name not in groups:
            raise KeyError(_listing(_NOUNS[kind], name, sorted(groups)))
        return groups[name]


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
    ValueError
        Not an HDF5 file, not a stimulus set, or written by a newer format
        version than this software reads.
    """
    return StimulusSet(path)
