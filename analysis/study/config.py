"""The configuration of a study analysis (`selectivity analyze ...`): TOML, validated on load."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

from selectivity.config import is_file_reference, load_toml, setting

from ..human_maps import MapSettings
from ._quality import ExclusionRules

__all__ = [
    "AISSettings",
    "ComparisonSettings",
    "DataSettings",
    "RecognitionSettings",
    "ReverseSettings",
    "SharedSettings",
    "StudyConfig",
    "load_study_config",
]

#: Default smoothing grid of the ANN maps in the comparison, degrees (to 3: the edge of what
#: fixation maps need; a choice on the largest is warned about).
DEFAULT_SIGMAS_DEG = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """``[data]``: where the sessions and the stimulus set are.

    Attributes
    ----------
    root : Path
        The data root (``sub-<participant>/ses-<session>/<task>/``).
    stimulus_set : Path or None
        The stimulus-set file; by default the one the sessions name. The human maps are
        written into it.
    """

    root: Path = Path("data")
    stimulus_set: Path | None = dataclasses.field(default=None, metadata=setting(none="none"))


@dataclasses.dataclass(frozen=True)
class SharedSettings:
    """``[shared]``: the component the human maps share (Langlois et al.'s "human PC").

    Attributes
    ----------
    size : (int, int)
        ``(height, width)`` in pixels at which the maps are pooled.
    normalize : {"pooled", "image"}
        See :func:`analysis.shared_component`; ``"pooled"`` reproduces the released maps.
    min_measures : int
        The component is made when at least this many human maps exist.
    """

    size: tuple[int, int] = dataclasses.field(default=(96, 128), metadata=setting(ge=8))
    normalize: Literal["pooled", "image"] = "pooled"
    min_measures: int = dataclasses.field(default=2, metadata=setting(ge=2))


@dataclasses.dataclass(frozen=True)
class ComparisonSettings:
    """``[comparison]``: every ANN map against every human map and the shared component.

    Attributes
    ----------
    sources : tuple of str
        ANN map sources to compare (default: every source of the stimulus set that is not
        ``human/``, ``simulation/``, ``target/`` or ``ais/``).
    metrics : tuple of str
        Map-to-map metrics of :data:`analysis.metrics.METRICS`.
    smoothing_sigmas_deg : tuple of float
        Candidate Gaussian smoothings of the ANN maps, degrees; chosen by cross-validation
        over images.
    size : (int, int)
        ``(height, width)`` at which maps are compared.
    cv_folds, n_bootstrap, n_permutations : int
        Folds of the smoothing choice, bootstrap resamples of images, derangements.
    ceiling_splits : int
        Random split-halves of the participants for the noise ceilings.
    factors : tuple of str
        What the variance share of the agreement is split by.
    """

    sources: tuple[str, ...] = ()
    metrics: tuple[str, ...] = dataclasses.field(default=("cc",), metadata=setting(min_items=1))
    smoothing_sigmas_deg: tuple[float, ...] = dataclasses.field(
        default=DEFAULT_SIGMAS_DEG, metadata=setting(ge=0, min_items=1)
    )
    size: tuple[int, int] = dataclasses.field(default=(96, 128), metadata=setting(ge=8))
    cv_folds: int = dataclasses.field(default=5, metadata=setting(ge=2))
    n_bootstrap: int = dataclasses.field(default=1000, metadata=setting(ge=0))
    n_permutations: int = dataclasses.field(default=1000, metadata=setting(ge=0))
    ceiling_splits: int = dataclasses.field(default=10, metadata=setting(ge=1))
    factors: tuple[str, ...] = ("method", "architecture", "training_set")


@dataclasses.dataclass(frozen=True)
class RecognitionSettings:
    """``[recognition]``: the masked-recognition statistics.

    Attributes
    ----------
    n_bootstrap : int
        Bootstrap resamples of the participants.
    mixed_model : bool
        Fit the mixed-effects logistic model (participant and image random intercepts).
    """

    n_bootstrap: int = dataclasses.field(default=2000, metadata=setting(ge=0))
    mixed_model: bool = True


@dataclasses.dataclass(frozen=True)
class ReverseSettings:
    """``[reverse]``: the ANN's recognition of images masked by the human maps.

    Attributes
    ----------
    model : str
        A torchvision model name; ``""`` skips the reverse test.
    weights : str
        ``"default"`` (the local torch cache), ``"none"`` (random) or a weights file.
    target : {"label", "predicted"}
        The class whose rank is scored: the image's label, or the network's top class on
        the unmasked image (for sets whose labels are not the network's classes).
    score : {"inverse_rank", "N/r", "1/(r+1)"}
        See :func:`analysis.recognition.reverse_test`.
    device : str
        Torch device.
    """

    model: str = ""
    weights: str = dataclasses.field(default="default", metadata=setting(path_if=is_file_reference))
    target: Literal["label", "predicted"] = "label"
    score: str = "inverse_rank"
    device: str = "cpu"


@dataclasses.dataclass(frozen=True)
class AISSettings:
    """``[ais]``: alignment importance, when similarity-rating sessions exist.

    Attributes
    ----------
    model : str
        A torchvision model name; ``""`` skips AIS.
    weights : str
        As in :class:`ReverseSettings`.
    pruning : bool
        Run the cross-validated pruning too (slow: 40 folds by default).
    device : str
        Torch device.
    """

    model: str = ""
    weights: str = dataclasses.field(default="default", metadata=setting(path_if=is_file_reference))
    pruning: bool = False
    device: str = "cpu"


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """A study analysis: sessions -> human maps -> comparison, recognition, report.

    Sections: ``[data]`` (:class:`DataSettings`), ``[exclusions]``
    (:class:`analysis.study.ExclusionRules`), ``[maps]`` (:class:`analysis.MapSettings`),
    ``[shared]``, ``[comparison]``, ``[recognition]``, ``[reverse]``, ``[ais]`` and
    ``[output]`` (``folder``: where the tables and the report go; ``overwrite_maps``:
    replace the ``human/*`` maps of an earlier analysis in the stimulus set; ``seed``).
    Paths are relative to the configuration file's folder, ``~`` expanded. Example:
    ``configs/study.toml``.
    """

    path: Path = dataclasses.field(default=Path("<builtin>"), metadata=setting(file=True))
    data: DataSettings = dataclasses.field(default_factory=DataSettings)
    exclusions: ExclusionRules = dataclasses.field(default_factory=ExclusionRules)
    maps: MapSettings = dataclasses.field(default_factory=MapSettings)
    shared: SharedSettings = dataclasses.field(default_factory=SharedSettings)
    comparison: ComparisonSettings = dataclasses.field(default_factory=ComparisonSettings)
    recognition: RecognitionSettings = dataclasses.field(default_factory=RecognitionSettings)
    reverse: ReverseSettings = dataclasses.field(default_factory=ReverseSettings)
    ais: AISSettings = dataclasses.field(default_factory=AISSettings)
    folder: Path = dataclasses.field(default=Path("analysis"), metadata=setting(section="output"))
    overwrite_maps: bool = dataclasses.field(default=True, metadata=setting(section="output"))
    seed: int = dataclasses.field(default=0, metadata=setting(section="output", ge=0))


def load_study_config(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a study configuration file.

    Raises
    ------
    selectivity.config.ConfigError
        Missing file, invalid TOML, unknown section or key, wrong type or value; the
        message names the file, the section and key, what is allowed and what was given.
    """
    return load_toml(path, StudyConfig)
