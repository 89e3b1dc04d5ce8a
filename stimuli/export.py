"""Stimulus-set images as PNG files, for experiment software that loads images from disk."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2

from .stimulus_set import read_stimulus_set

__all__ = ["export_png"]


#: Characters that Windows or macOS do not allow in file names.
_UNSAFE_IN_FILE_NAMES = frozenset('<>:"\\|?*') | {chr(code) for code in range(32)}


def export_png(
    stimulus_set_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    ids: Iterable[str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the images of a stimulus set as PNG files ``<out_dir>/<id>.png``.

    For experiment software that loads images from files (PsychoPy image
    stimuli, EyeLink Data Viewer's ``!V IMGLOAD``). PNG is lossless, so the
    files hold exactly the stored pixels; each image's checksum is verified
    first.

    Parameters
    ----------
    stimulus_set_path : path-like
        A stimulus-set file.
    out_dir : path-like
        Folder for the PNG files; created if missing.
    ids : iterable of str, optional
        Which stimuli; by default all, in table order.
    overwrite : bool
        Replace existing PNG files; by default an existing file is refused
        before anything is written.

    Returns
    -------
    list of Path
        The files written, in the order of ``ids``.
    """
    stimulus_set = read_stimulus_set(stimulus_set_path)
    chosen = list(stimulus_set.ids if ids is None else ids)
    for stimulus_id in chosen:
        if stimulus_id not in stimulus_set:
            raise KeyError(
                f"No stimulus id {stimulus_id!r} in {stimulus_set.path}; ids are "
                f"{list(stimulus_set.ids)[:20]}."
            )
        unsafe = sorted(set(stimulus_id) & _UNSAFE_IN_FILE_NAMES)
        if unsafe or stimulus_id.endswith("."):
            raise ValueError(
                f"Stimulus id {stimulus_id!r} cannot be a portable file name "
                f"(characters {unsafe}, or a trailing '.')."
            )
    folder = Path(out_dir)
    paths = [folder / f"{stimulus_id}.png" for stimulus_id in chosen]
    existing = [str(path) for path in paths if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"PNG files exist already: {existing[:5]}; pass overwrite=True to replace them."
        )
    folder.mkdir(parents=True, exist_ok=True)
    for stimulus_id, path in zip(chosen, paths, strict=True):
        image = stimulus_set.image(stimulus_id, verify=True)
        if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"Could not write {path}.")
    return paths
