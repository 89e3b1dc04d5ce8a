"""The configuration of an AIS analysis (`selectivity analyze ais`): TOML, validated on load."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

from selectivity.config import ConfigError, is_file_reference, load_toml, setting

__all__ = ["DEFAULT_SEEDS", "METHODS", "AISConfig", "AISConfigError", "load_ais_config"]

#: Allowed values of ``method``: "auto" takes the exact linear shortcut when the head allows
#: it, else batched head re-runs; "naive" runs the definitions literally (for checking).
METHODS = ("auto", "linear", "batched", "hooks", "naive")
#: Seeds of the paper's cross-validation: 5 folds x 8 seeds = 40 folds.
DEFAULT_SEEDS = (111, 222, 333, 444, 555, 666, 777, 888)

#: The one configuration error (:class:`selectivity.config.ConfigError`) under its old name.
AISConfigError = ConfigError


@dataclasses.dataclass(frozen=True)
class AISConfig:
    """Validated contents of an AIS configuration file (paths resolved against its folder).

    Sections and keys (see ``configs/ais.toml``):

    - ``[ais]``: ``stimulus_set`` (path), ``similarity`` (path or list of paths:
      a matrix file, a long rating table, or rating-session folders),
      ``layout`` ("auto", "matrix", "long"), ``dissimilarity`` (bool),
      ``missing`` ("error", "mask"), ``asymmetric`` ("error", "average"),
      ``model`` (torchvision name), ``weights`` ("default", "none", a weights
      name, or a file: see :func:`selectivity.config.is_file_reference`),
      ``input_size`` (int), ``layer`` and ``readout`` (module names, "" for
      the architecture's default), ``method`` (one of :data:`METHODS`),
      ``device``, ``batch_size``.
    - ``[pruning]``: ``enabled`` (bool, the attribute ``pruning``), ``n_folds``
      (int >= 2), ``seeds`` (list of integers >= 0).
    - ``[output]``: ``folder`` (path), ``write_maps`` (bool: heatmaps into
      the stimulus-set file as ``ais/<model>``), ``overwrite_maps`` (bool),
      ``report_images`` (how many images the HTML report shows).

    Paths are relative to the configuration file's folder, ``~`` expanded.
    """

    path: Path = dataclasses.field(metadata=setting(file=True))
    stimulus_set: Path = dataclasses.field(metadata=setting(section="ais"))
    similarity: tuple[Path, ...] = dataclasses.field(
        metadata=setting(section="ais", single=True, min_items=1)
    )
    layout: Literal["auto", "matrix", "long"] = dataclasses.field(
        default="auto", metadata=setting(section="ais")
    )
    dissimilarity: bool = dataclasses.field(default=False, metadata=setting(section="ais"))
    missing: Literal["error", "mask"] = dataclasses.field(
        default="error", metadata=setting(section="ais")
    )
    asymmetric: Literal["error", "average"] = dataclasses.field(
        default="error", metadata=setting(section="ais")
    )
    model: str = dataclasses.field(default="vgg16", metadata=setting(section="ais"))
    weights: str = dataclasses.field(
        default="default", metadata=setting(section="ais", path_if=is_file_reference)
    )
    input_size: int = dataclasses.field(default=224, metadata=setting(section="ais", ge=1))
    layer: str = dataclasses.field(default="", metadata=setting(section="ais"))
    readout: str = dataclasses.field(default="", metadata=setting(section="ais"))
    method: str = dataclasses.field(
        default="auto", metadata=setting(section="ais", choices=METHODS)
    )
    device: str = dataclasses.field(default="cpu", metadata=setting(section="ais"))
    batch_size: int = dataclasses.field(default=32, metadata=setting(section="ais", ge=1))
    pruning: bool = dataclasses.field(
        default=True, metadata=setting(section="pruning", key="enabled")
    )
    n_folds: int = dataclasses.field(default=5, metadata=setting(section="pruning", ge=2))
    seeds: tuple[int, ...] = dataclasses.field(
        default=DEFAULT_SEEDS, metadata=setting(section="pruning", ge=0, min_items=1)
    )
    folder: Path = dataclasses.field(default=Path("ais-output"), metadata=setting(section="output"))
    write_maps: bool = dataclasses.field(default=True, metadata=setting(section="output"))
    overwrite_maps: bool = dataclasses.field(default=False, metadata=setting(section="output"))
    report_images: int = dataclasses.field(default=12, metadata=setting(section="output", ge=0))


def load_ais_config(path: str | os.PathLike[str]) -> AISConfig:
    """Read and validate an AIS configuration file.

    Raises
    ------
    AISConfigError
        (:class:`selectivity.config.ConfigError`) Missing file, invalid TOML,
        unknown section or key, wrong type or value; the message names the
        file, the section and key, what is allowed and what was given.
    """
    return load_toml(path, AISConfig)
