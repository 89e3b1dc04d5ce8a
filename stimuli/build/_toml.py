"""Reading a build configuration from TOML (private to ``stimuli.build``)."""

from __future__ import annotations

import os

from selectivity.config import load_toml

from ._check import check_config
from ._config import BuildConfig

__all__ = ["load_build_config"]


def load_build_config(path: str | os.PathLike[str]) -> BuildConfig:
    """Load and validate a build configuration (TOML).

    Sections: ``[input]`` (images, labels), ``[output]`` (path, png_dir),
    ``[run]`` (batch_size, device, seed, autocast), ``[maps]`` (to_map options
    and size), ``[[models]]``, ``[[methods]]``, ``[[conditions]]`` and
    ``[render]``; see ``configs/stimuli_build.toml`` for every key. Paths
    (also a weights file) are relative to the configuration file's folder,
    ``~`` expanded.

    Raises
    ------
    BuildConfigError
        (:class:`selectivity.config.ConfigError`) Naming the file, the section
        and key, the allowed values and what was given.
    """
    config = load_toml(path, BuildConfig)
    check_config(config, f"{path}:")
    return config
