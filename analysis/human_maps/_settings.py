"""Settings of the human-map estimators: one frozen dataclass per family, read from ``[maps]``."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Literal

from selectivity.config import ConfigError, Location, from_table, read_toml, setting, to_record

__all__ = [
    "DEFAULT_CANDIDATES_DEG",
    "DiscriminationSettings",
    "FixationSettings",
    "MapSettings",
    "PatchRatingSettings",
    "SerialReproductionSettings",
    "checked_settings",
    "load_map_settings",
]

#: Default bandwidths (degrees of visual angle) tried by the cross-validated choices.
DEFAULT_CANDIDATES_DEG = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)


@dataclasses.dataclass(frozen=True)
class FixationSettings:
    """Fixation densities (free viewing, object search, saliency search): ``[maps.fixations]``.

    Attributes
    ----------
    sigma_deg : float
        Standard deviation of the Gaussian placed on each fixation, degrees of
        visual angle (> 0). 1 degree, as the MIT saliency benchmark. Used when
        ``bandwidth = "fixed"``.
    bandwidth : {"fixed", "lopo"}
        ``"fixed"``: ``sigma_deg``. ``"lopo"``: the candidate of ``candidates_deg``
        whose density from the other participants gives each held-out
        participant's fixations the highest mean log-likelihood (bits per
        fixation relative to a uniform map); one choice for all images.
    candidates_deg : tuple of float
        Candidate standard deviations for ``"lopo"``, degrees (> 0).
    exclude_first : bool
        Drop the fixation with ``fixation_index`` 0 of every trial (it starts
        on the central fixation cross). Selected by index, so a table from
        which the loader already removed it loses nothing more.
    min_duration_ms : float
        Drop fixations shorter than this, milliseconds (>= 0; 0 keeps all).
    """

    sigma_deg: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    bandwidth: Literal["fixed", "lopo"] = "fixed"
    candidates_deg: tuple[float, ...] = dataclasses.field(
        default=DEFAULT_CANDIDATES_DEG, metadata=setting(gt=0, min_items=1)
    )
    exclude_first: bool = True
    min_duration_ms: float = dataclasses.field(default=0.0, metadata=setting(ge=0))


@dataclasses.dataclass(frozen=True)
class DiscriminationSettings:
    """The accuracy surface of dot-shift discrimination: ``[maps.discrimination]``.

    The surface at pixel ``x`` is ``(sum_i w_i(x) c_i + a p0) / (sum_i w_i(x) + a)``:
    ``c_i`` the outcome (1 correct, 0 wrong) of trial ``i``, ``w_i(x) =
    exp(-|x - x_i|^2 / (2 s^2))`` a Gaussian of peak 1 at its dot ``x_i`` (so one
    trial on the pixel weighs 1), ``a`` the pseudo-counts and ``p0`` chance.

    Attributes
    ----------
    bandwidth_deg : float
        The kernel's standard deviation ``s``, degrees of visual angle (> 0),
        used when ``bandwidth = "fixed"``.
    bandwidth : {"fixed", "cv"}
        ``"cv"``: the candidate with the highest mean Bernoulli log-likelihood
        of held-out trials (bits per trial relative to chance), folds by
        participant (by trial when there is only one participant).
    candidates_deg : tuple of float
        Candidate standard deviations for ``"cv"``, degrees (> 0).
    pseudo_counts : float
        ``a``, the prior's weight in trials at the pixel (>= 0): where few
        trials are near, the surface stays near chance.
    chance : float
        ``p0``, accuracy by guessing (0.5 for the two-alternative answer), in (0, 1).
    """

    bandwidth_deg: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    bandwidth: Literal["fixed", "cv"] = "cv"
    candidates_deg: tuple[float, ...] = dataclasses.field(
        default=DEFAULT_CANDIDATES_DEG, metadata=setting(gt=0, min_items=1)
    )
    pseudo_counts: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    chance: float = dataclasses.field(default=0.5, metadata=setting(gt=0, lt=1))


@dataclasses.dataclass(frozen=True)
class SerialReproductionSettings:
    """The density of serial-reproduction chain nodes: ``[maps.serial_reproduction]``.

    Attributes
    ----------
    from_generation : int
        Use the accepted answers of this generation on (>= 1; generation 1 is
        the answer to the seed): later nodes sample the chains' stationary
        distribution, earlier ones still remember the seeds.
    sigma_deg : float
        Standard deviation of the Gaussian on each node, degrees (> 0), when
        ``bandwidth = "fixed"``.
    bandwidth : {"fixed", "lopo"}
        ``"lopo"``: chosen as for fixations, with each participant's nodes held out.
    candidates_deg : tuple of float
        Candidates for ``"lopo"``, degrees (> 0).
    """

    from_generation: int = dataclasses.field(default=5, metadata=setting(ge=1))
    sigma_deg: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    bandwidth: Literal["fixed", "lopo"] = "fixed"
    candidates_deg: tuple[float, ...] = dataclasses.field(
        default=DEFAULT_CANDIDATES_DEG, metadata=setting(gt=0, min_items=1)
    )


@dataclasses.dataclass(frozen=True)
class PatchRatingSettings:
    """The patch-recognizability map (as Henderson & Hayes's meaning maps): ``[maps.patch_rating]``.

    Attributes
    ----------
    sigma_deg : float
        Standard deviation of the Gaussian that smooths the map of mean
        ratings, degrees (>= 0; 0: no smoothing). Edges are reflected.
    uncovered : {"nearest", "mean"}
        Value of pixels that no rated patch covers: that of the nearest
        covered pixel (Euclidean distance), or the mean rating of the image's
        patches.
    """

    sigma_deg: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    uncovered: Literal["nearest", "mean"] = "nearest"


@dataclasses.dataclass(frozen=True)
class MapSettings:
    """Settings of every human-map estimator: the ``[maps]`` table of a study configuration.

    Sections ``[maps.fixations]``, ``[maps.discrimination]``,
    ``[maps.serial_reproduction]`` and ``[maps.patch_rating]``; a section or key
    left out takes its default. See each family's dataclass for the keys.
    """

    fixations: FixationSettings = dataclasses.field(default_factory=FixationSettings)
    discrimination: DiscriminationSettings = dataclasses.field(
        default_factory=DiscriminationSettings
    )
    serial_reproduction: SerialReproductionSettings = dataclasses.field(
        default_factory=SerialReproductionSettings
    )
    patch_rating: PatchRatingSettings = dataclasses.field(default_factory=PatchRatingSettings)


def load_map_settings(path: str | os.PathLike[str], *, section: str = "maps") -> MapSettings:
    """Read the ``[maps]`` table (or ``section``) of a TOML file into :class:`MapSettings`.

    A file without that table gives the defaults; other tables of the file are
    not read.

    Raises
    ------
    selectivity.config.ConfigError
        Missing or invalid file, unknown key, wrong type or value: the message
        names the file, the section and key, what is allowed and what was given.
    """
    table = read_toml(path).get(section, {})
    return from_table(MapSettings, table, at=Location.of_file(path).child(section))


_FAMILIES = {
    FixationSettings: "fixations",
    DiscriminationSettings: "discrimination",
    SerialReproductionSettings: "serial_reproduction",
    PatchRatingSettings: "patch_rating",
}


def checked_settings(settings: Any, family: type[Any]) -> Any:
    """The ``family`` settings out of ``settings`` (MapSettings, that family's, or None), validated.

    Settings made in code are checked by the one configuration loader, from
    their record, so they obey the same rules as a file.
    """
    name = _FAMILIES[family]
    if settings is None:
        return family()
    if isinstance(settings, MapSettings):
        settings = getattr(settings, name)
    if not isinstance(settings, family):
        raise ConfigError(
            f"Invalid value for the 'settings' parameter: expected a MapSettings or a "
            f"{family.__name__}, but got {type(settings).__name__}."
        )
    return from_table(family, to_record(settings), at=Location("MapSettings").child(name))
