"""Writing stimulus-set files: whole, streamed image by image, appended batch by batch, sharded."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray

from ._store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    KINDS,
    PreparedEntries,
    UnopenableFileError,
    apply_labels,
    check_file,
    check_name_conflicts,
    named_groups,
    now_iso,
    software_version,
    stimulus_row,
    text,
)

#: Format name of the working files that ranks of a distributed build write.
SHARD_FORMAT_NAME = FORMAT_NAME + "-shard"

#: Provenance keys that may differ between runs that continue each other: library versions
#: (an upgrade between an interrupted run and its resumption) and where the weights file lay.
_IGNORED_PROVENANCE = ("library_versions", "weights_file")

_NOUNS = {"maps": "map source", "masks": "mask condition", "rendered": "rendered condition"}
_STR = h5py.string_dtype("utf-8")
# Standard HDF5 filters (any HDF5 reader, MATLAB included, decodes them). Floats: byte
# shuffling before gzip, about twice as fast and smaller for maps; 8-bit images: gzip level
# 1, about twice as fast as level 4 for 2 % more bytes.
_FLOAT_COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
_BYTE_COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1}


def _compression(array: NDArray[Any]) -> dict[str, Any]:
    return _FLOAT_COMPRESSION if array.dtype.kind == "f" else _BYTE_COMPRESSION


def write_header(file: h5py.File) -> None:
    """Write the root attributes and the empty top-level groups of a new file."""
    file.attrs["format"] = FORMAT_NAME
    file.attrs["format_version"] = np.int64(FORMAT_VERSION)
    file.attrs["created"] = now_iso()
    file.attrs["software"] = "selectivity"
    file.attrs["software_version"] = software_version()
    for kind in KINDS:
        file.require_group(kind)


def write_image(group: h5py.Group, stimulus_id: str, image: NDArray[np.uint8]) -> None:
    """Write one RGB image under ``group``."""
    array = np.ascontiguousarray(image)
    dataset = group.create_dataset(stimulus_id, data=array, **_compression(array))
    dataset.attrs["color"] = "RGB"


def write_table(file: h5py.File, rows: list[dict[str, Any]]) -> None:
    """Write the table of stimuli, one dataset per column."""
    table = file.create_group("stimuli")
    for column in ("id", "label", "sha256"):
        table.create_dataset(column, data=[row[column] for row in rows], dtype=_STR)
    for column in ("height", "width"):
        table.create_dataset(column, data=np.array([row[column] for row in rows], np.int64))


def write_root(file: h5py.File, rows: list[dict[str, Any]], images: Mapping[str, Any]) -> None:
    """Write the root attributes, the images and the table."""
    write_header(file)
    group = file.require_group("images")
    for row in rows:
        write_image(group, row["id"], images[row["id"]])
    write_table(file, rows)


def write_array(group: h5py.Group, stimulus_id: str, array: NDArray[Any]) -> None:
    """Write one map, mask or rendered image under ``group``."""
    group.create_dataset(stimulus_id, data=array, **_compression(array))


def write_entries(group: h5py.Group, item: PreparedEntries) -> None:
    """Write one entry's arrays into ``group``; attributes last: a partial group is no entry."""
    for stimulus_id, array in item.arrays.items():
        write_array(group, stimulus_id, array)
    group.attrs["written"] = now_iso()
    group.attrs["provenance"] = item.provenance_json
    group.attrs[KINDS[item.kind]] = item.name


#: Version-1 name of :func:`write_entries`.
write_maps = write_entries


def temporary_name(path: Path) -> Path:
    """A hidden file name beside ``path`` for writing before an atomic rename."""
    # Not tempfile.mkstemp: its 0600 permissions would carry over to the final file.
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def create_streaming(
    path: Path,
    items: Iterable[tuple[str, NDArray[np.uint8]]],
    *,
    labels: Mapping[str, str] | None = None,
    attrs: Mapping[str, str] | None = None,
) -> Path:
    """Write a new stimulus-set file from ``(id, image)`` pairs taken one at a time.

    Only one image is held in memory. The file is written under a temporary
    name and renamed when complete, so an interruption leaves nothing at
    ``path``; an existing file at ``path`` is refused.
    """
    if path.exists():
        raise FileExistsError(f"The stimulus-set file {path} exists already.")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path)
    try:
        with h5py.File(temporary, "w-") as file:
            write_header(file)
            for key, value in (attrs or {}).items():
                file.attrs[key] = value
            group = file.require_group("images")
            folded: dict[str, str] = {}
            rows = []
            for stimulus_id, image in items:
                row = stimulus_row(stimulus_id, image, folded)
                write_image(group, stimulus_id, image)
                rows.append(row)
            if not rows:
                raise ValueError(f"No images to write into {path}.")
            apply_labels(rows, labels)
            write_table(file, rows)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def provenance_differences(stored: str, new: str) -> list[str]:
    """Top-level provenance keys whose values differ (ignoring library versions)."""
    old_record, new_record = json.loads(stored), json.loads(new)
    keys = (set(old_record) | set(new_record)) - set(_IGNORED_PROVENANCE)
    return sorted(key for key in keys if old_record.get(key) != new_record.get(key))


def append_entries(
    file: h5py.File,
    item: PreparedEntries,
    *,
    existing: Literal["raise", "skip"] = "raise",
) -> list[str]:
    """Append ``item``'s arrays to its entry in an open file, creating the entry if new.

    A new entry's group gets its name and provenance attributes first, so it
    can grow batch by batch. An entry that exists must have the same
    provenance (library versions aside). Ids that the entry has already are
    refused (``existing="raise"``) or left as they are (``"skip"``): nothing
    is ever written twice. The file is flushed before returning.

    Returns
    -------
    list of str
        The ids written.
    """
    kind, name = item.kind, item.name
    noun = _NOUNS[kind]
    groups = named_groups(file, kind)
    where = f"the file {file.filename}"
    if name in groups:
        group = groups[name]
        differ = provenance_differences(text(group.attrs["provenance"]), item.provenance_json)
        if differ:
            raise ValueError(
                f"{where} has {noun} {name!r} made with other settings (provenance keys "
                f"{differ} differ); refusing to mix them. Use another name or output file."
            )
        present = set(group)
        again = [stimulus_id for stimulus_id in item.arrays if stimulus_id in present]
        if again and existing == "raise":
            raise ValueError(
                f"{where} has {noun} {name!r} for {again[:10]} already; entries are never "
                "written twice."
            )
    else:
        check_name_conflicts([name], existing=list(groups), kind=kind)
        group = file.require_group(kind).require_group(name)
        group.attrs["provenance"] = item.provenance_json
        group.attrs[KINDS[kind]] = name
        present = set()
    if int(file.attrs.get("format_version", FORMAT_VERSION)) < FORMAT_VERSION:
        # A version-1 file that grows batch by batch (or gets masks) is a version-2 file now.
        file.attrs["format_version"] = np.int64(FORMAT_VERSION)
    written = []
    for stimulus_id, array in item.arrays.items():
        if stimulus_id not in present:
            write_array(group, stimulus_id, array)
            written.append(stimulus_id)
    group.attrs["written"] = now_iso()
    file.flush()
    return written


def entry_ids(file: h5py.File, kind: str) -> dict[str, set[str]]:
    """The ids present for each entry of ``kind``: name -> ids."""
    return {name: set(group) for name, group in named_groups(file, kind).items()}


def entry_provenance(file: h5py.File, kind: str) -> dict[str, str]:
    """The provenance JSON of each entry of ``kind``: name -> JSON text."""
    return {
        name: text(group.attrs["provenance"]) for name, group in named_groups(file, kind).items()
    }


def create_shard(path: Path, *, target: Path) -> None:
    """Create an empty shard file (the working file of one rank) unless it exists."""
    if path.exists():
        with check_file(path, format_name=SHARD_FORMAT_NAME):
            return
    temporary = temporary_name(path)
    try:
        with h5py.File(temporary, "w-") as file:
            file.attrs["format"] = SHARD_FORMAT_NAME
            file.attrs["format_version"] = np.int64(FORMAT_VERSION)
            file.attrs["created"] = now_iso()
            file.attrs["target"] = target.name
            for kind in KINDS:
                file.require_group(kind)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def merge_shards(target: Path, shards: Iterable[Path]) -> int:
    """Copy every entry of the ``shards`` into the stimulus set ``target``, then delete them.

    Entries that ``target`` has already are kept and not copied again, so a
    merge that was interrupted can simply be run again. A shard is deleted
    only after everything in it is in ``target``.

    Returns
    -------
    int
        The number of arrays copied.
    """
    copied = 0
    with check_file(target) as file:
        known = {text(value) for value in file["stimuli"]["id"][()]}
    for shard in shards:
        with contextlib.ExitStack() as stack:
            try:
                source = stack.enter_context(check_file(shard, format_name=SHARD_FORMAT_NAME))
            except (OSError, UnopenableFileError) as error:
                raise ValueError(
                    f"The shard file {shard} cannot be read ({error}); an interruption during a "
                    "write may have cut it off. Delete it and resume: its entries are computed "
                    "again."
                ) from None
            destination = stack.enter_context(check_file(target, mode="r+"))
            copied += _merge_one(shard, source, destination, known)
            destination.attrs["modified"] = now_iso()
        shard.unlink()
    return copied


def _merge_one(shard: Path, source: h5py.File, destination: h5py.File, known: set[str]) -> int:
    copied = 0
    for kind in KINDS:
        for name, group in named_groups(source, kind).items():
            unknown = sorted(set(group) - known)
            if unknown:
                raise ValueError(
                    f"The shard file {shard} has {_NOUNS[kind]} {name!r} for ids {unknown[:10]} "
                    f"that the stimulus set {destination.filename} does not have; it belongs "
                    "to another stimulus set."
                )
            copied += _copy_entry(destination, kind, name, group)
    if int(destination.attrs["format_version"]) < FORMAT_VERSION:
        destination.attrs["format_version"] = np.int64(FORMAT_VERSION)
    return copied


def _copy_entry(destination: h5py.File, kind: str, name: str, group: h5py.Group) -> int:
    provenance = text(group.attrs["provenance"])
    groups = named_groups(destination, kind)
    if name in groups:
        target_group = groups[name]
        differ = provenance_differences(text(target_group.attrs["provenance"]), provenance)
        if differ:
            raise ValueError(
                f"The file {destination.filename} has {_NOUNS[kind]} {name!r} made with other "
                f"settings than the shard's (provenance keys {differ} differ)."
            )
    else:
        check_name_conflicts([name], existing=list(groups), kind=kind)
        target_group = destination.require_group(kind).require_group(name)
        target_group.attrs["provenance"] = provenance
        target_group.attrs[KINDS[kind]] = name
    present = set(target_group)
    count = 0
    for stimulus_id in group:
        if stimulus_id not in present:
            destination.copy(group[stimulus_id], target_group, name=stimulus_id)
            count += 1
    target_group.attrs["written"] = now_iso()
    return count


def read_attrs_json(file: h5py.File, key: str) -> Any:
    """The root attribute ``key`` decoded from JSON, or None when absent."""
    return json.loads(text(file.attrs[key])) if key in file.attrs else None
