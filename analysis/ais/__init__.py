"""Alignment Importance Scores (Truong, Pesenti & Hasson 2024): maps that carry human similarity.

Definitions (followed exactly; the options that depart from them say so):

- X (N, D) is the readout module's output (flattened) for N images;
  RSM(X) is the Pearson correlation between images' vectors.
- fit(X, H) is the squared Pearson r between the upper triangles (diagonal
  excluded) of RSM(X) and the human similarity matrix H.
- Ablating map k sets channel k of the layer module's output to zero and
  runs the rest of the network.
- Set-level AIS_k = fit(X, H) - fit(X^(-k), H), map k ablated in every image.
- Per-image AIS_(i,k) = r_i - r_(i,k): r_i is the Pearson r between row i
  of H and row i of RSM(X), both without the diagonal entry; r_(i,k) is the
  same with map k ablated in image i only. Negative values are kept.

Missing pairs of H (a :class:`analysis.similarity.SimilarityMatrix` read with
``missing="mask"``) are left out of every fit and row. Importing this module
does not import torch; the functions that run a network do.
"""

from __future__ import annotations

from ._overlap import ais_heatmaps, saliency_overlap
from ._report import write_ais_report
from ._results import AISResult, PruningResult
from .config import DEFAULT_SEEDS, METHODS, AISConfig, AISConfigError, load_ais_config
from .pipeline import AISRun, run_ais
from .scores import ais_protocol, ais_pruning_cv, alignment_importance, default_modules

__all__ = [
    "DEFAULT_SEEDS",
    "METHODS",
    "AISConfig",
    "AISConfigError",
    "AISResult",
    "AISRun",
    "PruningResult",
    "ais_heatmaps",
    "ais_protocol",
    "ais_pruning_cv",
    "alignment_importance",
    "default_modules",
    "load_ais_config",
    "run_ais",
    "saliency_overlap",
    "write_ais_report",
]
