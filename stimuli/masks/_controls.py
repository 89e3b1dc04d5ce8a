"""Control maps for masking experiments: smoothness-matched surrogates, centre bias, inversion."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["center_bias_map", "inverted_map", "resolve_seeds", "smooth_surrogate"]

_Array = NDArray[np.float64]


def smooth_surrogate(source: _Array, rng: np.random.Generator, *, iterations: int) -> _Array:
    """A random map with the power spectrum and the value distribution of ``source``.

    Iterative amplitude-adjusted Fourier transform (IAAFT; Schreiber & Schmitz
    1996, Phys. Rev. Lett. 77, 635): start from a random permutation of the
    source's values, then alternate (a) keeping the phases and imposing the
    source's Fourier amplitudes (so the spatial autocorrelation, i.e. the
    smoothness, matches) and (b) rank-ordering the source's values onto the
    result (so the histogram is exactly the source's). Stops after
    ``iterations`` rounds or when the ranks no longer change; the result is
    step (b)'s, so its values are a permutation of the source's and its
    spectrum matches to within a small error (below 1 % of the spectral
    norm after 10 rounds on smooth maps). The FFT treats the map as periodic.
    """
    shape = source.shape
    amplitude = np.abs(np.fft.rfft2(source))
    values = np.sort(source, axis=None)
    surrogate = rng.permutation(source.ravel())
    previous: NDArray[np.intp] | None = None
    for _ in range(iterations):
        spectrum = np.fft.rfft2(surrogate.reshape(shape))
        matched = np.fft.irfft2(amplitude * np.exp(1j * np.angle(spectrum)), s=shape)
        order = np.argsort(matched, axis=None, kind="stable")
        surrogate = np.empty_like(values)
        surrogate[order] = values
        if previous is not None and np.array_equal(order, previous):
            break
        previous = order
    return surrogate.reshape(shape)


def center_bias_map(shape: tuple[int, int], *, sigma_frac: float) -> _Array:
    """A Gaussian centred on the image, peak 1, with sigma ``sigma_frac`` of height and width."""
    height, width = shape
    rows = (np.arange(height) - (height - 1) / 2.0) / (sigma_frac * height)
    cols = (np.arange(width) - (width - 1) / 2.0) / (sigma_frac * width)
    return np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2))


def inverted_map(source: _Array) -> _Array:
    """``1 - (m - min) / (max - min)``; a constant map gives ones (with a warning)."""
    low, high = float(source.min()), float(source.max())
    if high == low:
        warnings.warn(
            f"The map is constant ({low!r}); its inverted control is all ones.", stacklevel=3
        )
        return np.ones_like(source)
    return 1.0 - (source - low) / (high - low)


def resolve_seeds(rng: Any, count: int) -> list[np.random.Generator]:
    """One independent generator per map.

    With an int seed, map ``i`` gets ``SeedSequence(seed).spawn(...)[i]``, so
    its control depends only on the seed, its index and its own map (a
    resumed build gives the same controls). A ``Generator`` is spawned from.
    """
    if isinstance(rng, np.random.Generator):
        return list(rng.spawn(count))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return [np.random.default_rng(child) for child in np.random.SeedSequence(rng).spawn(count)]
    raise ValueError(
        "Invalid value for the 'rng' parameter: kind='random_smooth' needs a seed (int >= 0) or "
        f"a numpy Generator, so that the controls can be made again, but got {rng!r} instead."
    )
