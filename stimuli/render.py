"""Masked stimuli: image x mask over a background, greyscale, presentation size; backward masks."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selectivity.resample import resample

from ._params import check_size as _check_size
from ._render_color import decode_srgb, encode_srgb, luminance

__all__ = ["BACKGROUNDS", "BLENDS", "phase_scrambled_mask", "render"]

_Array = NDArray[np.float64]

#: Named backgrounds: pixel values (sRGB-encoded, 0-255) or how they derive from the image.
#:
#: - ``"grey"``: 128 on every channel (PsychoPy's colour 0 in its ``rgb`` space).
#: - ``"black"``: 0; ``"white"``: 255.
#: - ``"mean"``: the grey whose luminance is the image's mean luminance.
#: - ``"mean_rgb"``: the image's mean colour, channel by channel (Langlois et
#:   al.'s "average" null value).
BACKGROUNDS = ("grey", "black", "white", "mean", "mean_rgb")

#: Where image and background are mixed: ``"srgb"`` (pixel values) or ``"linear"`` (light).
BLENDS = ("srgb", "linear")


def _as_image(image: Any) -> _Array:
    """uint8 (H, W, 3) or (H, W) -> float64 (H, W, 3) in [0, 1]."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or not (
        array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)
    ):
        raise ValueError(
            "Invalid value for the 'image' parameter: expected uint8 of shape (H, W, 3) (RGB) or "
            f"(H, W) (grey), but got shape {array.shape} and dtype {array.dtype}."
        )
    if min(array.shape[:2]) == 0:
        raise ValueError(f"The 'image' parameter is empty (shape {array.shape}).")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array.astype(np.float64) / 255.0


def _greyscale(image: _Array) -> _Array:
    """Each pixel -> the grey of the same luminance (sRGB-encoded, all channels equal)."""
    grey = encode_srgb(luminance(image))
    return np.repeat(grey[:, :, None], 3, axis=2)


def _background(background: Any, image: _Array) -> _Array:
    """The background colour as 3 sRGB-encoded values in [0, 1]."""
    if isinstance(background, str):
        named = {
            "grey": np.full(3, 128 / 255.0),
            "black": np.zeros(3),
            "white": np.ones(3),
        }
        if background in named:
            return named[background]
        if background == "mean":
            return np.full(3, float(encode_srgb(np.asarray(luminance(image).mean()))))
        if background == "mean_rgb":
            return image.reshape(-1, 3).mean(axis=0)
    elif isinstance(background, (int, float, np.integer, np.floating)) and not isinstance(
        background, bool
    ):
        if 0 <= background <= 255:
            return np.full(3, float(background) / 255.0)
    elif isinstance(background, (tuple, list, np.ndarray)):
        values = np.asarray(background, dtype=np.float64)
        if values.shape == (3,) and np.all((values >= 0) & (values <= 255)):
            return values / 255.0
    raise ValueError(
        "Invalid value for the 'background' parameter. Allowed values are "
        f"{', '.join(map(repr, BACKGROUNDS))}, a pixel value in [0, 255] or an (R, G, B) "
        f"triple of them, but got {background!r} instead."
    )


def _prepare(image: Any, *, greyscale: bool, size: Any) -> _Array:
    pixels = _as_image(image)
    out_size = _check_size(size)
    if greyscale:
        pixels = _greyscale(pixels)
    if out_size is not None and pixels.shape[:2] != out_size:
        pixels = np.clip(resample(pixels, out_size), 0.0, 1.0)
    return pixels


def _to_uint8(encoded: _Array) -> NDArray[np.uint8]:
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def render(
    image: ArrayLike,
    mask: ArrayLike | None,
    *,
    background: str | float | tuple[float, float, float] = "grey",
    greyscale: bool = False,
    size: tuple[int, int] | None = None,
    blend: str = "srgb",
) -> NDArray[np.uint8]:
    """Composite an image over a background through a reveal mask.

    ``out = mask * image + (1 - mask) * background`` per pixel and channel,
    computed in floating point and rounded once to 8 bits.

    Steps: greyscale (if asked), resize image and mask together to ``size``,
    work out the background (``"mean"`` and ``"mean_rgb"`` from the image as
    presented), blend, round.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3) or (H, W)
        RGB (or grey) image, sRGB-encoded, indexed ``[row, col, channel]``.
    mask : array_like of shape (H, W), or None
        Values in [0, 1] (e.g. from :func:`make_mask` with ``size`` the
        image's): 1 shows the image, 0 the background. Must have the image's
        height and width. ``None`` shows the whole image (for unmasked
        conditions that go through the same greyscale and resizing).
    background : str, float or tuple of float
        ``"grey"`` (default, pixel value 128), ``"black"``, ``"white"``,
        ``"mean"`` (the grey of the image's mean luminance), ``"mean_rgb"``
        (the image's mean colour), a pixel value in [0, 255], or an (R, G, B)
        triple of them. Named and given colours are sRGB pixel values, as
        experiment software takes them.
    greyscale : bool
        Replace every pixel by the grey of the same relative luminance
        ``Y = 0.2126 R + 0.7152 G + 0.0722 B`` on *linear* R, G, B (sRGB's
        BT.709 primaries, IEC 61966-2-1), encoded back to sRGB, so each pixel
        keeps its luminance on an sRGB display (unlike the 0.299/0.587/0.114
        weights applied to encoded values by PIL and OpenCV).
    size : tuple of int, optional
        Presentation size ``(height, width)``: image and mask are resized
        together (area averaging to shrink, bilinear to enlarge), before
        blending, so the edges are sampled once.
    blend : {"srgb", "linear"}
        ``"srgb"`` (default) mixes pixel values, as the published paradigms
        do (image x map on 8-bit values; e.g. Langlois et al. 2021's code):
        a mask of 0.5 gives the pixel-value midpoint. ``"linear"`` mixes
        light: values are decoded from sRGB, mixed, and encoded back, so a
        mask of 0.5 gives half the light of each, as a physical partial
        occluder would. Binary masks give the same result either way; they
        differ only where the mask is strictly between 0 and 1.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3) or ``size + (3,)``
        The stimulus, RGB.
    """
    if blend not in BLENDS:
        raise ValueError(
            "Invalid value for the 'blend' parameter. Allowed values are "
            f"{', '.join(map(repr, BLENDS))}, but got {blend!r} instead."
        )
    source_shape = np.asarray(image).shape[:2]
    pixels = _prepare(image, greyscale=bool(greyscale), size=size)
    colour = _background(background, pixels)
    if mask is None:
        return _to_uint8(pixels)
    weights = np.asarray(mask)
    if weights.dtype == bool:
        weights = weights.astype(np.float64)
    if not (np.issubdtype(weights.dtype, np.floating) or np.issubdtype(weights.dtype, np.integer)):
        raise TypeError(
            f"Invalid dtype for the 'mask' parameter: expected real numbers, got {weights.dtype}."
        )
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != tuple(source_shape):
        raise ValueError(
            f"Invalid shape for the 'mask' parameter: expected the image's (H, W) = "
            f"{tuple(source_shape)}, but got {weights.shape}. Make it with "
            "make_mask(..., size=image.shape[:2])."
        )
    if not np.isfinite(weights).all() or weights.min() < 0 or weights.max() > 1:
        raise ValueError("The 'mask' parameter must hold finite values in [0, 1].")
    if weights.shape != pixels.shape[:2]:
        weights = np.clip(resample(weights, pixels.shape[:2]), 0.0, 1.0)
    alpha = weights[:, :, None]
    if blend == "srgb":
        out = alpha * pixels + (1.0 - alpha) * colour
    else:
        out = encode_srgb(alpha * decode_srgb(pixels) + (1.0 - alpha) * decode_srgb(colour))
    return _to_uint8(out)


def _random_phase(shape: tuple[int, int], rng: np.random.Generator) -> _Array:
    """Phases of the real FFT of white noise: a valid random phase field for a real image."""
    phase = np.asarray(np.angle(np.fft.rfft2(rng.random(shape))), dtype=np.float64)
    phase[0, 0] = 0.0  # keep the mean (DC term)
    return phase


def _scramble(pixels: _Array, phase: _Array) -> _Array:
    """Add ``phase`` to every channel's Fourier phase; amplitude spectra are kept exactly."""
    height, width = pixels.shape[:2]
    spectrum = np.fft.rfft2(pixels, axes=(0, 1))
    shifted = spectrum * np.exp(1j * phase)[:, :, None]
    return np.asarray(np.fft.irfft2(shifted, s=(height, width), axes=(0, 1)), dtype=np.float64)


def phase_scrambled_mask(
    image: ArrayLike,
    *,
    rng: int | np.random.Generator,
    greyscale: bool = False,
    size: tuple[int, int] | None = None,
) -> NDArray[np.uint8]:
    """A backward mask: the image with its Fourier phase scrambled, amplitude kept.

    The same random phase field (the phase spectrum of uniform white noise,
    which has the symmetry a real image needs, with the DC term's phase set
    to 0) is *added* to the phase spectrum of every channel, so each
    channel's amplitude spectrum is kept exactly, and so are the phase
    differences between channels (colours stay coherent instead of turning
    into coloured noise). Works on sRGB pixel values, as the image is shown.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3) or (H, W)
        The image to scramble.
    rng : int or numpy.random.Generator
        Seed or generator; the same seed gives the same mask.
    greyscale : bool
        Convert to luminance-preserving grey first (see :func:`render`).
    size : tuple of int, optional
        Presentation size ``(height, width)``; the image is resized first.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3) or ``size + (3,)``
        The mask. Mean colour and amplitude spectra are those of the image,
        except where scrambled values fall outside [0, 255] and are clipped
        (and the rounding to 8 bits).
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        generator = np.random.default_rng(int(rng))
    elif isinstance(rng, np.random.Generator):
        generator = rng
    else:
        raise ValueError(
            "Invalid value for the 'rng' parameter: expected a seed (int >= 0) or a numpy "
            f"Generator, but got {rng!r} instead."
        )
    pixels = _prepare(image, greyscale=bool(greyscale), size=size)
    scrambled = _scramble(pixels, _random_phase(pixels.shape[:2], generator))
    return _to_uint8(scrambled)
