"""Image folders for a build: listing, decoding to RGB, labels from a CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ..stimulus_set._store import StimulusSetError, check_id

__all__ = ["IMAGE_SUFFIXES", "iter_images", "list_images", "read_image", "read_labels"]

#: File name extensions read from an image folder (any case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_images(folder: Path) -> dict[str, Path]:
    """The images of ``folder`` (not recursive): id (file name without extension) -> file.

    Ids are sorted; hidden files are skipped. Two files with one id
    (``a.jpg`` and ``a.png``) or ids that are not valid stimulus ids raise.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"The images folder {folder} does not exist.")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if not path.is_file():
            continue
        stimulus_id = path.stem
        if stimulus_id in found:
            raise StimulusSetError(
                f"Two images in {folder} have the id {stimulus_id!r}: {found[stimulus_id].name} "
                f"and {path.name}. Rename one."
            )
        try:
            check_id(stimulus_id)
        except ValueError as error:
            raise StimulusSetError(f"Image file {path}: {error}") from None
        found[stimulus_id] = path
    if not found:
        raise StimulusSetError(
            f"No images in {folder}: expected files ending in {', '.join(IMAGE_SUFFIXES)}."
        )
    return dict(sorted(found.items()))


def read_image(path: Path) -> NDArray[np.uint8]:
    """Decode an image file to RGB uint8 (H, W, 3); grey becomes RGB, alpha is dropped."""
    # IMREAD_COLOR gives 8-bit BGR for grey, 16-bit and RGBA files alike.
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise StimulusSetError(f"Could not decode the image file {path}.")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def iter_images(files: dict[str, Path]) -> Iterator[tuple[str, NDArray[np.uint8]]]:
    """``(id, image)`` pairs decoded one at a time."""
    for stimulus_id, path in files.items():
        yield stimulus_id, read_image(path)


def read_labels(path: Path, ids: list[str]) -> dict[str, str]:
    """Labels from a CSV with a header holding ``id`` and ``label`` columns.

    ``id`` may be the stimulus id or the image's file name. Rows for ids that
    are not images, repeated ids and missing columns raise, naming the line.
    """
    if not path.is_file():
        raise FileNotFoundError(f"The labels file {path} does not exist.")
    known = set(ids)
    labels: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        columns = reader.fieldnames or []
        if "id" not in columns or "label" not in columns:
            raise StimulusSetError(
                f"{path}: line 1: the header must name the columns 'id' and 'label', "
                f"but it has {columns}."
            )
        for row in reader:
            line = reader.line_num
            value = (row["id"] or "").strip()
            stimulus_id = (
                Path(value).stem if Path(value).suffix.lower() in IMAGE_SUFFIXES else value
            )
            if stimulus_id not in known:
                raise StimulusSetError(
                    f"{path}: line {line}: {value!r} is not an image of the folder; ids are "
                    f"{sorted(known)[:10]}{' ...' if len(known) > 10 else ''}."
                )
            if stimulus_id in labels:
                raise StimulusSetError(f"{path}: line {line}: a second label for {stimulus_id!r}.")
            labels[stimulus_id] = (row["label"] or "").strip()
    return labels
