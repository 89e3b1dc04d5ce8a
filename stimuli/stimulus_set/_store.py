"""Checks and HDF5 writing behind the stimulus-set file (private to ``stimulus_set``)."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from selectivity.errors import UserError

FORMAT_NAME = "selectivity-stimulus-set"
#: Version 2 added the ``masks`` and ``rendered`` groups and source groups written batch by
#: batch (attributes first, maps appended); version 1 files are still read.
FORMAT_VERSION = 2

#: Kinds of named entries under the root: group name -> the attribute that names an entry.
KINDS = {"maps": "source", "masks": "condition", "rendered": "condition"}

#: Provenance keys that every network map source must carry.
NETWORK_PROVENANCE_KEYS = ("model", "weights", "weights_sha256", "method", "parameters")
HUMAN_PREFIX = "human/"
#: Map sources that are not a network's and have free-form provenance: human measures, the
#: planted "true" maps that drive simulated observers, and the searched targets' regions
#: (``target/region``, read by the object-search task).
FREE_PROVENANCE_PREFIXES = (HUMAN_PREFIX, "simulation/", "target/")

_VERSIONED = ("selectivity", "numpy", "h5py", "scipy", "opencv-python", "torch", "torchvision")


class StimulusSetError(UserError, ValueError):
    """A file that is not a stimulus-set file this code reads, a change it refuses, or a build
    input (image folder, labels file) it cannot use."""


class UnopenableFileError(StimulusSetError):
    """An HDF5 file that HDF5 cannot open (cut short by an interrupted write, overwritten)."""


_NOUNS = {"maps": "map source", "masks": "mask condition", "rendered": "rendered condition"}
_EXPECTED_NAMES = {
    "maps": "'<model>/<method>' or 'human/<measure>'",
    "masks": "a condition name such as 'top20' or 'resnet18/top20'",
    "rendered": "a condition name such as 'top20' or 'resnet18/top20'",
}


@dataclass(frozen=True)
class PreparedEntries:
    """One named entry's arrays (a map source, or a condition's masks or rendered images),
    checked and ready to write."""

    kind: str
    name: str
    arrays: dict[str, NDArray[Any]]
    provenance_json: str

    @property
    def source(self) -> str:
        """The entry's name (for map sources)."""
        return self.name

    @property
    def maps(self) -> dict[str, NDArray[Any]]:
        """The arrays by stimulus id."""
        return self.arrays


#: Version-1 name of :class:`PreparedEntries`.
PreparedMaps = PreparedEntries


def text(value: Any) -> str:
    """HDF5 attribute or string element to ``str``."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def now_iso() -> str:
    """Current UTC time, ISO 8601 with offset, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def software_version() -> str:
    """Installed version of this project, or ``"unknown"``."""
    try:
        return importlib.metadata.version("selectivity")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of python and the installed libraries that shape maps (no imports)."""
    return dict(_library_versions())


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    # Looking versions up scans the installed distributions (about 20 ms); they cannot
    # change while the process runs.
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def image_sha256(image: NDArray[np.uint8]) -> str:
    """sha256 (hex) of the image array's C-order bytes."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


#: What h5py raises for a file whose structure is damaged (a missing or wrong object, bytes
#: that do not decode), turned into a :class:`StimulusSetError` by :func:`reading`.
_DAMAGE = (OSError, KeyError, TypeError, ValueError, RuntimeError)


@contextlib.contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Turn h5py's errors while reading ``what`` of ``path`` into a :class:`StimulusSetError`.

    Only around reads of the file: a ``KeyError`` for an id or name that the caller asked
    for and the set does not have is raised outside it.
    """
    try:
        yield
    except StimulusSetError:
        raise
    except _DAMAGE as error:
        raise StimulusSetError(
            f"The stimulus-set file {path} is damaged: cannot read {what} ({error})."
        ) from error


@contextlib.contextmanager
def check_file(
    path: Path, *, mode: str = "r", format_name: str = FORMAT_NAME
) -> Iterator[h5py.File]:
    """Open ``path`` (read-only by default) after checking it is a file this code can read."""
    if not path.is_file():
        raise FileNotFoundError(f"No stimulus-set file at {path}.")
    if not h5py.is_hdf5(path):
        raise StimulusSetError(f"{path} is not an HDF5 file, so not a stimulus-set file.")
    try:
        opened = h5py.File(path, mode)
    except OSError as error:  # a cut or overwritten file still starts with HDF5's signature
        raise UnopenableFileError(
            f"The stimulus-set file {path} is damaged or cut short: HDF5 cannot open it ({error})."
        ) from error
    with opened as file:
        with reading(path, "the root attributes 'format' and 'format_version'"):
            found = text(file.attrs["format"]) if "format" in file.attrs else None
            version = file.attrs.get("format_version")
        if found != format_name:
            raise StimulusSetError(
                f"{path} is not a stimulus-set file: its 'format' attribute is {found!r}, "
                f"expected {format_name!r}."
            )
        if not isinstance(version, (int, np.integer)) or isinstance(version, (bool, np.bool_)):
            raise StimulusSetError(
                f"{path} has an invalid 'format_version' attribute {version!r}: expected an "
                "integer."
            )
        if version > FORMAT_VERSION:
            raise StimulusSetError(
                f"{path} was written in stimulus-set format version {int(version)}, newer than "
                f"this software reads (up to {FORMAT_VERSION}); update selectivity."
            )
        if version < 1:
            raise StimulusSetError(f"{path} has an invalid 'format_version' {int(version)}.")
        yield file


def check_id(stimulus_id: Any) -> str:
    """Return ``stimulus_id`` if it is a valid id, else raise naming the problem."""
    if not isinstance(stimulus_id, str):
        raise TypeError(
            f"Invalid stimulus id {stimulus_id!r}: ids must be str, got "
            f"{type(stimulus_id).__name__}."
        )
    if (
        not stimulus_id
        or "/" in stimulus_id
        or "\0" in stimulus_id
        or stimulus_id in (".", "..")
        or stimulus_id != stimulus_id.strip()
    ):
        raise ValueError(
            f"Invalid stimulus id {stimulus_id!r}: ids must be non-empty, without '/', NUL or "
            "surrounding whitespace, and not '.' or '..'."
        )
    return stimulus_id


def check_kind(kind: Any) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(
            "Invalid value for the 'kind' parameter. Allowed values are "
            f"{', '.join(map(repr, KINDS))}, but got {kind!r} instead."
        )
    return str(kind)


def check_name(name: Any, kind: str = "maps") -> str:
    """Return ``name`` if it is a valid entry name (``"vgg16/gradient"``, ``"top20"``)."""
    parts = name.split("/") if isinstance(name, str) else []
    if not parts or any(not p or p in (".", "..") or p != p.strip() or "\0" in p for p in parts):
        raise ValueError(
            f"Invalid {_NOUNS[kind]} {name!r}: expected {_EXPECTED_NAMES[kind]}, "
            "parts non-empty, without surrounding whitespace, not '.' or '..'."
        )
    return name


def check_source(source: Any) -> str:
    """Return ``source`` if it is a valid map-source name like ``"vgg16/gradient"``."""
    return check_name(source, "maps")


def check_name_conflicts(new: list[str], *, existing: list[str], kind: str = "maps") -> None:
    """Refuse names where one is a group inside another (``a`` and ``a/b``)."""
    noun = _NOUNS[kind]
    names = [*existing, *new]
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            if first == second:
                raise ValueError(f"{noun[0].upper()}{noun[1:]} {first!r} is given twice.")
            if second.startswith(first + "/") or first.startswith(second + "/"):
                raise ValueError(
                    f"{noun[0].upper()}{noun[1:]}s {first!r} and {second!r} cannot both exist: "
                    "one would be a group inside the other."
                )


def check_source_conflicts(new: list[str], *, existing: list[str]) -> None:
    """Refuse map sources where one is a group inside another (``a`` and ``a/b``)."""
    check_name_conflicts(new, existing=existing, kind="maps")


def check_image(stimulus_id: str, image: Any, *, what: str = "image") -> NDArray[np.uint8]:
    """Return ``image`` as an array if it is RGB uint8 (H, W, 3), else raise naming it."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(
            f"Invalid {what} for stimulus {stimulus_id!r}: expected an RGB array of shape "
            f"(H, W, 3) and dtype uint8, but got shape {array.shape} and dtype {array.dtype}."
        )
    return array


def stimulus_row(stimulus_id: Any, image: Any, folded: dict[str, str]) -> dict[str, Any]:
    """Check one stimulus (id unique ignoring case, given ``folded``); return its table row."""
    check_id(stimulus_id)
    other = folded.setdefault(stimulus_id.casefold(), stimulus_id)
    if other != stimulus_id:
        raise ValueError(
            f"Stimulus ids {other!r} and {stimulus_id!r} differ only in case; they would "
            "collide as file names on Windows and macOS."
        )
    array = check_image(stimulus_id, image)
    return {
        "id": stimulus_id,
        "label": "",
        "height": array.shape[0],
        "width": array.shape[1],
        "sha256": image_sha256(array),
    }


def apply_labels(rows: list[dict[str, Any]], labels: Mapping[str, Any] | None) -> None:
    """Put each row's label from ``labels`` (id -> str) in place; unknown ids raise."""
    labels = labels or {}
    unknown = sorted(set(labels) - {row["id"] for row in rows})
    if unknown:
        raise ValueError(f"The 'labels' parameter names ids that are not images: {unknown}.")
    for row in rows:
        label = labels.get(row["id"], "")
        if not isinstance(label, str):
            raise TypeError(f"The label of {row['id']!r} must be str, got {label!r}.")
        row["label"] = label


def prepare_stimuli(
    images: Mapping[str, Any], labels: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Check images and labels; return the table rows (id, label, height, width, sha256)."""
    if not isinstance(images, Mapping) or not images:
        raise ValueError("The 'images' parameter must be a non-empty mapping of id -> image.")
    folded: dict[str, str] = {}
    rows = [stimulus_row(stimulus_id, image, folded) for stimulus_id, image in images.items()]
    apply_labels(rows, labels)
    return rows


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


def provenance_json(kind: str, name: str, provenance: Any) -> str:
    """Check one entry's provenance, add library versions, and serialise it as JSON."""
    noun = _NOUNS[kind]
    if not isinstance(provenance, Mapping):
        needs = (
            "model, weights, weights_sha256, method, parameters for network maps"
            if kind == "maps"
            else "what made them"
        )
        raise ValueError(f"Missing provenance for {noun} {name!r}: pass a dict ({needs}).")
    if kind == "maps" and not name.startswith(FREE_PROVENANCE_PREFIXES):
        missing = [key for key in NETWORK_PROVENANCE_KEYS if key not in provenance]
        if missing:
            raise ValueError(
                f"The provenance of map source {name!r} lacks {missing}; network maps need "
                f"{list(NETWORK_PROVENANCE_KEYS)} (LoadedModel.map_provenance gives them)."
            )
    record = dict(provenance)
    record["library_versions"] = {**library_versions(), **dict(record.get("library_versions", {}))}
    try:
        return json.dumps(record, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The provenance of {noun} {name!r} is not JSON: {error}") from None


def check_array(kind: str, name: str, stimulus_id: str, value: Any) -> NDArray[Any]:
    """Check one map, mask or rendered image; return it as stored (float32/64 or uint8)."""
    if kind == "rendered":
        return check_image(stimulus_id, value, what=f"rendered image of condition {name!r}")
    what = "map" if kind == "maps" else "mask"
    where = f"{name!r}/{stimulus_id!r}"
    array = np.asarray(value)
    if array.ndim != 2 or 0 in array.shape or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"Invalid {what} {where}: expected a 2-D array of numbers, got "
            f"shape {array.shape} and dtype {array.dtype}."
        )
    if np.iscomplexobj(array) or not np.isfinite(array).all():
        raise ValueError(f"{what.capitalize()} {where} has complex, NaN or inf values.")
    if kind == "masks" and (array.min() < 0 or array.max() > 1):
        raise ValueError(
            f"Invalid mask {where}: values must lie in [0, 1] (the fraction of the image "
            f"shown), but they span [{float(array.min())!r}, {float(array.max())!r}]."
        )
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    return array


def prepare_entries(
    kind: str, name: str, arrays: Mapping[str, Any], ids: Iterable[str] | None, provenance: Any
) -> PreparedEntries:
    """Check one entry's arrays against the stimulus ids (unchecked when ``ids`` is None)."""
    check_name(name, kind)
    noun = _NOUNS[kind]
    if not isinstance(arrays, Mapping) or not arrays:
        raise ValueError(f"The arrays of {noun} {name!r} must be a non-empty mapping id -> array.")
    known = None if ids is None else set(ids)
    checked: dict[str, NDArray[Any]] = {}
    for stimulus_id, value in arrays.items():
        if known is not None and stimulus_id not in known:
            raise KeyError(
                f"{noun[0].upper()}{noun[1:]} {name!r} has an entry for {stimulus_id!r}, which "
                f"is not a stimulus id; ids are {sorted(known)[:20]}"
                f"{' ...' if len(known) > 20 else ''}."
            )
        checked[check_id(stimulus_id)] = check_array(kind, name, stimulus_id, value)
    return PreparedEntries(kind, name, checked, provenance_json(kind, name, provenance))


def prepare_maps(
    source: str, maps: Mapping[str, Any], ids: list[str], provenance: Any
) -> PreparedEntries:
    """Check one source's maps against the stimulus ids; serialise its provenance."""
    check_source(source)
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError(f"The maps of source {source!r} must be a non-empty mapping id -> map.")
    known = set(ids)
    for stimulus_id in maps:
        if stimulus_id not in known:
            raise KeyError(
                f"Map source {source!r} has a map for {stimulus_id!r}, which is not a stimulus "
                f"id; ids are {sorted(known)[:20]}{' ...' if len(known) > 20 else ''}."
            )
    return prepare_entries("maps", source, maps, None, provenance)


def named_groups(file: h5py.File, kind: str) -> dict[str, h5py.Group]:
    """The entries of ``kind`` in ``file``: name -> group (groups carrying the name attribute)."""
    if kind not in file:
        return {}
    attribute = KINDS[kind]
    found: dict[str, h5py.Group] = {}
    if not isinstance(file[kind], h5py.Group):
        raise StimulusSetError(
            f"The stimulus-set file {file.filename} is damaged: /{kind} is not a group."
        )
    # Walk the groups only, not into an entry: visiting every dataset (visititems) would cost
    # seconds per call on a set with tens of thousands of maps, and every read calls this.
    pending = [file[kind]]
    while pending:
        group = pending.pop()
        for name in group:
            item = group[name]
            if not isinstance(item, h5py.Group):
                continue
            if attribute in item.attrs:
                found[text(item.attrs[attribute])] = item
            else:
                pending.append(item)
    return found
