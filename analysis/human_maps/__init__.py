"""Human maps from the study's tables: one estimator per task, and their split-half reliability.

Each task's responses become one map per image, at the image's native
shape, with every spatial parameter in degrees of visual angle (converted
with the trials' ``px_per_deg_img``):

============================  ==========================  =======================================
task                          estimator                   map
============================  ==========================  =======================================
free viewing, object search,  :func:`fixation_density`    Gaussian density of the fixations
saliency search                                           (1 degree, or chosen by LOPO), sum 1
dot-shift discrimination      :func:`accuracy_surface`    P(correct) from the outcomes at the dot
                                                          positions, kernel-weighted with
                                                          pseudo-counts at chance
serial reproduction           :func:`chain_density`       density of the chains' nodes from a
                                                          generation on, sum 1
patch recognizability         :func:`patch_rating_map`    mean rating of the patches covering
                                                          each pixel, smoothed
============================  ==========================  =======================================

:func:`estimate_human_maps` dispatches by task name through
:data:`ESTIMATORS`; :func:`split_half_reliability` is the noise ceiling of a
comparison with them. Settings are :class:`MapSettings`, the ``[maps]``
table of a study configuration (:func:`load_map_settings`). The results are
:class:`HumanMaps`, whose :meth:`HumanMaps.provenance` goes with the maps
into the stimulus set (``stimuli.add_maps(path, maps.source, maps.maps,
provenance=maps.provenance())``).
"""

from __future__ import annotations

from ._bandwidth import PROBABILITY_FLOOR, UNIFORM_SHARE
from ._chains import chain_density
from ._discrimination import accuracy_surface
from ._fixations import FIXATION_TASKS, fixation_density
from ._patches import patch_rating_map
from ._registry import ESTIMATORS, Estimator, estimate_human_maps
from ._reliability import split_half_reliability
from ._result import HumanMaps, HumanMapsError, MapReliability
from ._settings import (
    DEFAULT_CANDIDATES_DEG,
    DiscriminationSettings,
    FixationSettings,
    MapSettings,
    PatchRatingSettings,
    SerialReproductionSettings,
    load_map_settings,
)

__all__ = [
    "DEFAULT_CANDIDATES_DEG",
    "ESTIMATORS",
    "FIXATION_TASKS",
    "PROBABILITY_FLOOR",
    "UNIFORM_SHARE",
    "DiscriminationSettings",
    "Estimator",
    "FixationSettings",
    "HumanMaps",
    "HumanMapsError",
    "MapReliability",
    "MapSettings",
    "PatchRatingSettings",
    "SerialReproductionSettings",
    "accuracy_surface",
    "chain_density",
    "estimate_human_maps",
    "fixation_density",
    "load_map_settings",
    "patch_rating_map",
    "split_half_reliability",
]
