"""The component that several human selectivity measures share (Langlois et al.'s "human PC")."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selectivity.resample import resample

from .comparison._inputs import _as_map as _map_2d
from .comparison._inputs import _check_size, _per_image
from .fixations import _caller_stacklevel

__all__ = ["NORMALIZATIONS", "SharedComponent", "shared_component"]

#: Allowed values of ``normalize`` in :func:`shared_component`.
NORMALIZATIONS = ("image", "pooled")

#: One measure's per-image maps: a dict image id -> 2-D map, or a sequence /
#: 3-D stack of 2-D maps (image ids are then 0, 1, ...).
MeasureMaps: TypeAlias = Mapping[Any, ArrayLike] | Sequence[ArrayLike] | NDArray[Any]


@dataclass(frozen=True, eq=False)
class SharedComponent:
    """Principal components shared by several human measures, and their per-image maps.

    Attributes
    ----------
    maps : ndarray of shape (n_images, n_components, height, width)
        Component scores per image and pixel: ``maps[i, k]`` is the map of
        component ``k`` on image ``image_ids[i]``, the loadings-weighted sum of
        the standardised measures (see :func:`shared_component`). Use
        :meth:`component` for a dict image id -> map.
    loadings : ndarray of shape (n_measures, n_components)
        Unit-norm eigenvectors of the measures' covariance, one column per
        component, strongest first; each column's sign makes it sum positive
        (a column summing to 0 has its first nonzero entry positive).
    explained_variance : ndarray of shape (n_components,)
        Eigenvalues of that covariance: the variance of each component's
        scores over the pooled pixels (N - 1 in the denominator).
    explained_variance_ratio : ndarray of shape (n_components,)
        ``explained_variance`` divided by the sum of all the eigenvalues (of
        every component, also those not kept).
    measures : tuple of str
        Measure names, in the order of the rows of ``loadings``.
    image_ids : tuple
        Image ids, in the order of the first axis of ``maps``.
    size : tuple of int
        ``(height, width)`` of the component maps in pixels.
    normalize : {"image", "pooled"}
        How each measure was standardised before the analysis.
    center, scale : ndarray of shape (n_measures,)
        For ``normalize="pooled"``, the mean and standard deviation of each
        measure's density over all pixels of all fitted images (applied
        again by :meth:`project`); zeros and ones for ``"image"``.
    """

    maps: NDArray[np.float64]
    loadings: NDArray[np.float64]
    explained_variance: NDArray[np.float64]
    explained_variance_ratio: NDArray[np.float64]
    measures: tuple[str, ...]
    image_ids: tuple[Hashable, ...]
    size: tuple[int, int]
    normalize: str
    center: NDArray[np.float64]
    scale: NDArray[np.float64]

    @property
    def n_components(self) -> int:
        """Number of components kept."""
        return int(self.loadings.shape[1])

    def component(self, index: int = 0) -> dict[Hashable, NDArray[np.float64]]:
        """Per-image maps of one component.

        Parameters
        ----------
        index : int
            Component number, 0 for the first (strongest) one.

        Returns
        -------
        dict
            Image id -> ndarray of shape (height, width).
        """
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.n_components:
            raise ValueError(
                f"Invalid value for the 'index' parameter: expected an integer in "
                f"[0, {self.n_components - 1}], but got {index!r} instead."
            )
        return {image_id: self.maps[i, index] for i, image_id in enumerate(self.image_ids)}

    def project(self, maps: Mapping[str, MeasureMaps]) -> SharedComponent:
        """Apply these loadings (and pooled statistics) to other images' measures.

        Parameters
        ----------
        maps : dict
            Measure name -> per-image maps, as in :func:`shared_component`, with
            the same measure names (in any order).

        Returns
        -------
        SharedComponent
            The component maps of the given images; loadings, variances and
            statistics are this object's (fitted on the original images).
        """
        stack, measures, image_ids = _collect(maps)
        if set(measures) != set(self.measures):
            raise ValueError(
                "Invalid value for the 'maps' parameter: expected the measures "
                f"{list(self.measures)} the component was fitted on, but got {list(measures)}."
            )
        order = [measures.index(name) for name in self.measures]
        z, _, _ = _standardize(
            [stack[m] for m in order],
            self.measures,
            image_ids,
            self.size,
            self.normalize,
            self.center,
            self.scale,
        )
        return SharedComponent(
            maps=_freeze(_scores(z, self.loadings)),
            loadings=self.loadings,
            explained_variance=self.explained_variance,
            explained_variance_ratio=self.explained_variance_ratio,
            measures=self.measures,
            image_ids=image_ids,
            size=self.size,
            normalize=self.normalize,
            center=self.center,
            scale=self.scale,
        )


def shared_component(
    maps: Mapping[str, MeasureMaps],
    *,
    size: tuple[int, int] = (100, 100),
    n_components: int | None = None,
    normalize: Literal["image", "pooled"] = "image",
) -> SharedComponent:
    """Principal components of several human selectivity measures, pooled over images.

    Each map is resampled to ``size`` and standardised (``normalize``); the
    pixels of all images are pooled, the covariance of the measures (an
    ``n_measures x n_measures`` matrix) is diagonalised, and each image's
    standardised measures are projected on its eigenvectors. The first
    component is the map the measures share: Langlois et al. (2021) call it
    the "human PC".

    Parameters
    ----------
    maps : dict
        Measure name -> that measure's per-image maps: a dict image id ->
        array of shape (H_m, W_m), or a sequence / 3-D stack of such arrays
        (image ids 0, 1, ...). Sizes may differ between measures and images;
        every measure must cover the same images. At least two measures.
    size : tuple of int
        ``(height, width)`` in pixels to which every map is resampled with
        :func:`selectivity.resample.resample` (area averaging when shrinking,
        bilinear interpolation when enlarging, as the metrics do).
    n_components : int, optional
        Number of components kept, 1 to n_measures; default all.
    normalize : {"image", "pooled"}
        How each map is standardised before the pooling:

        ``"image"`` (default)
            z-scored within its image (mean 0, standard deviation 1 over the
            image's pixels, N in the denominator), so every image weighs
            equally and a measure's overall scale does not matter.
        ``"pooled"``
            scaled to sum 1 within its image (a density), then z-scored with
            one mean and standard deviation per measure over the pixels of
            all images: images where a measure is more concentrated weigh
            more. This is what reproduces the released Langlois et al. maps
            (see Notes).

    Returns
    -------
    SharedComponent
        Component maps of shape (n_images, n_components, height, width),
        loadings, explained variance (ratios), measure names and image ids.

    Raises
    ------
    ValueError
        For fewer than two measures, measures that cover different images, a
        map that is not 2-D or holds NaN or inf, a constant map (with
        ``normalize="image"``) or one that does not sum to a positive number
        (``"pooled"``), a measure without images, or invalid ``size``,
        ``n_components`` or ``normalize``.

    Warns
    -----
    UserWarning
        With ``normalize="pooled"``, for a constant map (it carries no
        spatial information and adds nothing to its image's components).

    Notes
    -----
    The released "human PC" maps of Langlois et al. (2021) for img10, img115
    and img125 are, each to within 0.9 % (0.083 of a range of about 10), one
    common linear combination of the six measures standardised with
    ``normalize="pooled"``; with ``"image"`` no common combination comes
    closer than 1.4 (see the tests). Their loadings were fitted on all 25
    images, so loadings fitted on those three alone give maps that correlate
    0.97 to 0.98 with the released ones.

    The residual depends on the resampling: with the area averaging used
    here (the project's one rule, :func:`selectivity.resample.resample`) the
    largest residual of that common combination is 0.083; an antialiased
    triangle filter (Pillow's ``BILINEAR``) gives 0.054, bilinear without
    antialiasing 0.093, OpenCV's ``INTER_CUBIC`` 0.105, MATLAB's antialiased
    bicubic ``imresize`` 0.102 and nearest neighbour 0.59. The residual lies
    mostly along the border, so the released maps were presumably resampled
    with yet another border rule.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            "Invalid value for the 'normalize' parameter. Allowed values are 'image' and "
            f"'pooled', but got {normalize!r} instead."
        )
    checked = _check_size(size, "size")
    if checked is None:
        raise ValueError(
            "Invalid value for the 'size' parameter: expected (height, width), not None."
        )
    size = checked
    stack, measures, image_ids = _collect(maps)
    n_measures = len(measures)
    if n_components is None:
        n_components = n_measures
    if (
        not isinstance(n_components, (int, np.integer))
        or isinstance(n_components, bool)
        or not 1 <= n_components <= n_measures
    ):
        raise ValueError(
            f"Invalid value for the 'n_components' parameter: expected an integer from 1 to "
            f"the number of measures ({n_measures}) or None, but got {n_components!r} instead."
        )
    z, center, scale = _standardize(stack, measures, image_ids, size, normalize, None, None)
    pooled = z.transpose(1, 0, 2, 3).reshape(n_measures, -1)
    pooled = pooled - pooled.mean(axis=1, keepdims=True)
    cov = pooled @ pooled.T / max(pooled.shape[1] - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    loadings = _orient(eigenvectors[:, order][:, :n_components])
    total = eigenvalues.sum()
    ratio = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    return SharedComponent(
        maps=_freeze(_scores(z, loadings)),
        loadings=_freeze(loadings),
        explained_variance=_freeze(eigenvalues[:n_components]),
        explained_variance_ratio=_freeze(ratio[:n_components]),
        measures=measures,
        image_ids=image_ids,
        size=size,
        normalize=normalize,
        center=_freeze(center),
        scale=_freeze(scale),
    )


def _collect(
    maps: Mapping[str, MeasureMaps],
) -> tuple[list[list[NDArray[np.float64]]], tuple[str, ...], tuple[Hashable, ...]]:
    """Validated maps per measure (outer list) and image (inner), measure names, image ids."""
    if not isinstance(maps, Mapping):
        raise ValueError(
            "Invalid value for the 'maps' parameter: expected a dict measure name -> per-image "
            f"maps, but got {type(maps).__name__}."
        )
    if len(maps) < 2:
        raise ValueError(
            "Invalid value for the 'maps' parameter: a shared component needs at least 2 "
            f"measures, but got {len(maps)} ({list(maps)})."
        )
    items, image_ids = _per_image(maps, "maps")
    stack = [
        [_as_map(a, name, i) for a, i in zip(arrays, image_ids, strict=True)]
        for name, arrays in items.items()
    ]
    return stack, tuple(items), image_ids


def _as_map(value: ArrayLike, measure: str, image_id: Hashable) -> NDArray[np.float64]:
    return _map_2d(value, f"measure {measure!r}, image {image_id!r}")


def _standardize(
    stack: list[list[NDArray[np.float64]]],
    measures: tuple[str, ...],
    image_ids: tuple[Hashable, ...],
    size: tuple[int, int],
    normalize: str,
    center: NDArray[np.float64] | None,
    scale: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Resampled, standardised maps (n_images, n_measures, H, W) and the pooled statistics."""
    z = np.empty((len(image_ids), len(measures), *size), dtype=np.float64)
    for m, (name, arrays) in enumerate(zip(measures, stack, strict=True)):
        for i, (image_id, arr) in enumerate(zip(image_ids, arrays, strict=True)):
            z[i, m] = resample(arr, size)
            if np.ptp(arr) == 0:
                where = f"measure {name!r}, image {image_id!r}"
                if normalize == "image":
                    raise ValueError(
                        f"The map of {where} is constant (all values {arr.flat[0]!r}), so it "
                        "cannot be z-scored within its image."
                    )
                warnings.warn(
                    f"The map of {where} is constant: it carries no spatial information.",
                    UserWarning,
                    stacklevel=_caller_stacklevel(),
                )
    if normalize == "image":
        z -= z.mean(axis=(2, 3), keepdims=True)
        sd = z.std(axis=(2, 3), keepdims=True)
        if not (sd > 0).all():
            i, m = np.argwhere(~(sd[:, :, 0, 0] > 0))[0]
            raise ValueError(
                f"The map of measure {measures[m]!r}, image {image_ids[i]!r} is constant once "
                f"resampled to {size}, so it cannot be z-scored within its image."
            )
        z /= sd
        return z, np.zeros(len(measures)), np.ones(len(measures))
    totals = z.sum(axis=(2, 3))
    if not (totals > 0).all():
        i, m = np.argwhere(~(totals > 0))[0]
        raise ValueError(
            f"The map of measure {measures[m]!r}, image {image_ids[i]!r} sums to "
            f"{totals[i, m]!r}: with normalize='pooled' each map is scaled to sum 1, so it "
            "must sum to a positive number."
        )
    z /= totals[:, :, None, None]
    if center is None or scale is None:
        center = z.mean(axis=(0, 2, 3))
        scale = z.std(axis=(0, 2, 3))
        constant = np.flatnonzero(scale == 0)
        if constant.size:
            raise ValueError(
                f"The measure {measures[constant[0]]!r} is constant over all images: it "
                "cannot be standardised."
            )
    z -= center[None, :, None, None]
    z /= scale[None, :, None, None]
    return z, center, scale


def _orient(loadings: NDArray[np.float64]) -> NDArray[np.float64]:
    """Flip each column to sum positive (first nonzero entry positive on a tie)."""
    out = loadings.copy()
    for k in range(out.shape[1]):
        column = out[:, k]
        total = column.sum()
        if abs(total) <= 1e-12 * np.abs(column).sum():
            total = column[np.flatnonzero(np.abs(column) > 1e-12)[0]]
        if total < 0:
            out[:, k] = -column
    return out


def _scores(z: NDArray[np.float64], loadings: NDArray[np.float64]) -> NDArray[np.float64]:
    """Project standardised maps (n_images, n_measures, H, W) on the loadings."""
    return np.einsum("imhw,mk->ikhw", z, loadings, optimize=True)


def _freeze(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr
