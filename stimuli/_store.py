"""Checks and HDF5 writing behind the stimulus-set file (private to ``stimulus_set``)."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

FORMAT_NAME = "selectivity-stimulus-set"
FORMAT_VERSION = 1

#: Provenance keys that every network map source must carry.
NETWORK_PROVENANCE_KEYS = ("model", "weights", "weights_sha256", "method", "parameters")
HUMAN_PREFIX = "human/"
#: Map sources that are not a network's and have free-form provenance: human measures and the
#: planted "true" maps that drive simulated observers.
FREE_PROVENANCE_PREFIXES = (HUMAN_PREFIX, "simulation/")

_VERSIONED = ("selectivity", "numpy", "h5py", "scipy", "opencv-python", "torch", "torchvision")
_STR = h5py.string_dtype("utf-8")
_COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 4}


@dataclass(frozen=True)
class PreparedMaps:
    """One source's maps, checked and ready to write."""

    source: str
    maps: dict[str, NDArray[np.floating]]
    provenance_json: str


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
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def image_sha256(image: NDArray[np.uint8]) -> str:
    """sha256 (hex) of the image array's C-order bytes."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


@contextlib.contextmanager
def check_file(path: Path) -> Iterator[h5py.File]:
    """Open ``path`` read-only after checking it is a stimulus set this code can read."""
    if not path.is_file():
        raise FileNotFoundError(f"No stimulus-set file at {path}.")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file, so not a stimulus-set file.")
    with h5py.File(path, "r") as file:
        found = text(file.attrs["format"]) if "format" in file.attrs else None
        if found != FORMAT_NAME:
            raise ValueError(
                f"{path} is not a stimulus-set file: its 'format' attribute is {found!r}, "
                f"expected {FORMAT_NAME!r}."
            )
        version = file.attrs.get("format_version")
        if not isinstance(version, (int, np.integer)) or isinstance(version, (bool, np.bool_)):
            raise ValueError(
                f"{path} has an invalid 'format_version' attribute {version!r}: expected an "
                "integer."
            )
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{path} was written in stimulus-set format version {int(version)}, newer than "
                f"this software reads (up to {FORMAT_VERSION}); update selectivity."
            )
        if version < 1:
            raise ValueError(f"{path} has an invalid 'format_version' {int(version)}.")
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


def check_source(source: Any) -> str:
    """Return ``source`` if it is a valid map-source name like ``"vgg16/gradient"``."""
    parts = source.split("/") if isinstance(source, str) else []
    if not parts or any(not p or p in (".", "..") or p != p.strip() or "\0" in p for p in parts):
        raise ValueError(
            f"Invalid map source {source!r}: expected '<model>/<method>' or 'human/<measure>', "
            "parts non-empty, without surrounding whitespace, not '.' or '..'."
        )
    return source


def check_source_conflicts(new: list[str], *, existing: list[str]) -> None:
    """Refuse sources where one is a group inside another (``a`` and ``a/b``)."""
    names = [*existing, *new]
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            if first == second:
                raise ValueError(f"Map source {first!r} is given twice.")
            if second.startswith(first + "/") or first.startswith(second + "/"):
                raise ValueError(
                    f"Map sources {first!r} and {second!r} cannot both exist: one would be a "
                    "group inside the other."
                )


def _check_image(stimulus_id: str, image: Any) -> NDArray[np.uint8]:
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(
            f"Invalid image for stimulus {stimulus_id!r}: expected an RGB array of shape "
            f"(H, W, 3) and dtype uint8, but got shape {array.shape} and dtype {array.dtype}."
        )
    return array


def prepare_stimuli(
    images: Mapping[str, Any], labels: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Check images and labels; return the table rows (id, label, height, width, sha256)."""
    if not isinstance(images, Mapping) or not images:
        raise ValueError("The 'images' parameter must be a non-empty mapping of id -> image.")
    folded: dict[str, str] = {}
    rows = []
    for stimulus_id, image in images.items():
        check_id(stimulus_id)
        other = folded.setdefault(stimulus_id.casefold(), stimulus_id)
        if other != stimulus_id:
            raise ValueError(
                f"Stimulus ids {other!r} and {stimulus_id!r} differ only in case; they would "
                "collide as file names on Windows and macOS."
            )
        array = _check_image(stimulus_id, image)
        rows.append(
            {
                "id": stimulus_id,
                "label": "",
                "height": array.shape[0],
                "width": array.shape[1],
                "sha256": image_sha256(array),
            }
        )
    labels = labels or {}
    unknown = sorted(set(labels) - set(images))
    if unknown:
        raise ValueError(f"The 'labels' parameter names ids that are not images: {unknown}.")
    for row in rows:
        label = labels.get(row["id"], "")
        if not isinstance(label, str):
            raise TypeError(f"The label of {row['id']!r} must be str, got {label!r}.")
        row["label"] = label
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


def _provenance_json(source: str, provenance: Any) -> str:
    if not isinstance(provenance, Mapping):
        raise ValueError(
            f"Missing provenance for map source {source!r}: pass a dict (model, weights, "
            "weights_sha256, method, parameters for network maps)."
        )
    if not source.startswith(FREE_PROVENANCE_PREFIXES):
        missing = [key for key in NETWORK_PROVENANCE_KEYS if key not in provenance]
        if missing:
            raise ValueError(
                f"The provenance of map source {source!r} lacks {missing}; network maps need "
                f"{list(NETWORK_PROVENANCE_KEYS)} (LoadedModel.map_provenance gives them)."
            )
    record = dict(provenance)
    record["library_versions"] = {**library_versions(), **dict(record.get("library_versions", {}))}
    try:
        return json.dumps(record, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The provenance of map source {source!r} is not JSON: {error}") from None


def prepare_maps(
    source: str, maps: Mapping[str, Any], ids: list[str], provenance: Any
) -> PreparedMaps:
    """Check one source's maps against the stimulus ids; serialise its provenance."""
    check_source(source)
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError(f"The maps of source {source!r} must be a non-empty mapping id -> map.")
    known = set(ids)
    checked: dict[str, NDArray[np.floating]] = {}
    for stimulus_id, value in maps.items():
        if stimulus_id not in known:
            raise KeyError(
                f"Map source {source!r} has a map for {stimulus_id!r}, which is not a stimulus "
                f"id; ids are {sorted(known)[:20]}{' ...' if len(known) > 20 else ''}."
            )
        array = np.asarray(value)
        if array.ndim != 2 or 0 in array.shape or not np.issubdtype(array.dtype, np.number):
            raise ValueError(
                f"Invalid map {source!r}/{stimulus_id!r}: expected a 2-D array of numbers, got "
                f"shape {array.shape} and dtype {array.dtype}."
            )
        if np.iscomplexobj(array) or not np.isfinite(array).all():
            raise ValueError(f"Map {source!r}/{stimulus_id!r} has complex, NaN or inf values.")
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float64)
        checked[stimulus_id] = array
    return PreparedMaps(source, checked, _provenance_json(source, provenance))


def write_root(file: h5py.File, rows: list[dict[str, Any]], images: Mapping[str, Any]) -> None:
    """Write the root attributes, the images and the table."""
    file.attrs["format"] = FORMAT_NAME
    file.attrs["format_version"] = np.int64(FORMAT_VERSION)
    file.attrs["created"] = now_iso()
    file.attrs["software"] = "selectivity"
    file.attrs["software_version"] = software_version()
    group = file.create_group("images")
    for row in rows:
        dataset = group.create_dataset(
            row["id"], data=np.ascontiguousarray(images[row["id"]]), **_COMPRESSION
        )
        dataset.attrs["color"] = "RGB"
    table = file.create_group("stimuli")
    for column in ("id", "label", "sha256"):
        table.create_dataset(column, data=[row[column] for row in rows], dtype=_STR)
    for column in ("height", "width"):
        table.create_dataset(column, data=np.array([row[column] for row in rows], np.int64))
    file.create_group("maps")


def write_maps(group: h5py.Group, item: PreparedMaps) -> None:
    """Write one source's maps into ``group``; attributes last: a partial group is no source."""
    for stimulus_id, array in item.maps.items():
        group.create_dataset(stimulus_id, data=array, **_COMPRESSION)
    group.attrs["written"] = now_iso()
    group.attrs["provenance"] = item.provenance_json
    group.attrs["source"] = item.source
