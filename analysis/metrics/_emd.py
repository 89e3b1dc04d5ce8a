"""Earth mover's distance between two maps with POT's exact solver."""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from selectivity.resample import resample

from ._checks import check_distribution

#: Largest number of (source cell, target cell) pairs :func:`emd` solves for
#: (the cost matrix then takes 400 MB).
MAX_TRANSPORT_PAIRS = 50_000_000


def check_downsample(downsample: Any) -> int:
    if (
        isinstance(downsample, bool)
        or not isinstance(downsample, (int, np.integer))
        or downsample < 1
    ):
        raise ValueError(
            "Invalid value for the 'downsample' parameter: expected a positive integer factor, "
            f"but got {downsample!r} instead."
        )
    return int(downsample)


def emd_pair(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    b_shape: tuple[int, ...],
    downsample: int,
    names: tuple[str, str] = ("map_a", "map_b"),
) -> float:
    """EMD of two flat maps of shape ``b_shape`` (``a`` already resized)."""
    check_distribution(a, names[0])
    check_distribution(b, names[1])
    height, width = int(b_shape[0]), int(b_shape[1])
    small = (math.ceil(height / downsample), math.ceil(width / downsample))
    if small == (1, 1):
        raise ValueError(
            f"Invalid value for the 'downsample' parameter: downsample={downsample} shrinks maps "
            f"of shape {(height, width)} to a single cell, where every EMD is 0; give a factor "
            f"below {max(height, width)}."
        )
    pa = _shrink(a.reshape(height, width), small)
    pb = _shrink(b.reshape(height, width), small)
    pa, pb = pa / pa.sum(), pb / pb.sum()
    nz_a, nz_b = np.flatnonzero(pa), np.flatnonzero(pb)
    if len(nz_a) * len(nz_b) > MAX_TRANSPORT_PAIRS:
        raise ValueError(
            f"The transport problem at downsample={downsample} has {len(nz_a)} x {len(nz_b)} "
            f"cell pairs, more than {MAX_TRANSPORT_PAIRS:.0e}: give a larger 'downsample'."
        )
    # Mass that both maps hold in a cell stays there in some optimal plan (the
    # ground distance is a metric), so only the differences are transported:
    # EMD(pa, pb) = EMD((pa - pb)+, (pb - pa)+), a problem on about half the
    # cells of each map, several times faster to solve.
    diff = pa - pb
    sources, sinks = np.flatnonzero(diff > 0), np.flatnonzero(diff < 0)
    if len(sources) == 0 or len(sinks) == 0:
        return 0.0
    supply, demand = diff[sources], -diff[sinks]
    moved = float(supply.sum())
    rows_a, cols_a = np.divmod(sources, small[1])
    rows_b, cols_b = np.divmod(sinks, small[1])
    cost = np.hypot(rows_a[:, None] - rows_b[None, :], cols_a[:, None] - cols_b[None, :])
    ot = _import_ot()
    value, log = ot.emd2(
        supply / moved, demand / demand.sum(), cost, numItermax=10_000_000, log=True
    )
    if log.get("warning"):
        raise RuntimeError(f"The optimal-transport solver did not converge: {log['warning']}")
    value = moved * float(value)
    return float(value)


#: POT's switches that keep it from importing optional array libraries.
_POT_DISABLE = (
    "POT_BACKEND_DISABLE_PYTORCH",
    "POT_BACKEND_DISABLE_JAX",
    "POT_BACKEND_DISABLE_CUPY",
    "POT_BACKEND_DISABLE_TENSORFLOW",
)


def _import_ot() -> Any:
    """POT, imported without its torch/JAX/CuPy/TensorFlow backends unless torch is loaded.

    POT registers a backend for every array library it can import, so a
    plain ``import ot`` loads torch (seconds, and against this package's rule
    that analysis does not import torch). When neither POT nor torch is loaded
    yet, POT is imported with its documented ``POT_BACKEND_DISABLE_*``
    variables set for the duration of the import only.
    """
    if "ot" in sys.modules or "torch" in sys.modules:
        import ot

        return ot
    saved = {key: os.environ.get(key) for key in _POT_DISABLE}
    try:
        os.environ.update(dict.fromkeys(_POT_DISABLE, "1"))
        import ot
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return ot


def _shrink(arr: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
    if arr.shape == shape:
        return arr.ravel()
    return resample(arr, shape).ravel()
