"""Reference inputs for integrated gradients and occlusion: black, zeros, blurred, noise, given."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch.nn import functional

from ._core import Context, check_seed

__all__: list[str] = []

#: Named baselines, see :func:`make_baseline`.
BASELINES = ("black", "zeros", "blurred", "uniform")


def gaussian_blur(images: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Blur (N, C, H, W) images with a Gaussian of ``sigma_px`` pixels, per channel.

    As ``scipy.ndimage.gaussian_filter(mode="nearest", truncate=4.0)`` per
    image and channel: a separable kernel of radius ``int(4 sigma + 0.5)``,
    normalised to sum 1, edges padded by replication. Blurring commutes with
    the per-channel normalisation, so the result is the normalised blurred
    image.
    """
    radius = max(1, int(4 * sigma_px + 0.5))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma_px) ** 2)
    kernel = (kernel / kernel.sum()).to(device=images.device, dtype=images.dtype)
    channels = images.shape[1]
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    padded = functional.pad(images, (radius, radius, radius, radius), mode="replicate")
    out = functional.conv2d(padded, rows, groups=channels)
    return functional.conv2d(out, cols, groups=channels)


def _black(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    if ctx.normalization is None:
        if bool((inputs < 0).any()):
            warnings.warn(
                "baseline='black' without a normalisation is zero in the model's input space, "
                "but the inputs hold negative values, as normalised images do: zero is then "
                "the normalisation's mean colour, not black. Pass a LoadedModel or "
                "normalization=(mean, std) to attribute(), or baseline='zeros' to silence this.",
                stacklevel=5,
            )
        return torch.zeros_like(inputs)
    mean, std = (t.to(device=inputs.device, dtype=inputs.dtype) for t in ctx.normalization)
    return ((0.0 - mean) / std).expand_as(inputs).clone()


def _uniform(ctx: Context, inputs: torch.Tensor, seed: int) -> torch.Tensor:
    noise = torch.empty_like(inputs)
    for row in range(len(inputs)):
        generator = ctx.generator(seed, "baseline", ctx.keys[row], inputs.device)
        noise[row] = torch.rand(inputs.shape[1:], generator=generator, device=inputs.device)
    if ctx.normalization is not None:
        mean, std = (t.to(device=inputs.device, dtype=inputs.dtype) for t in ctx.normalization)
        return (noise - mean) / std
    low = inputs.amin(dim=(1, 2, 3), keepdim=True)
    high = inputs.amax(dim=(1, 2, 3), keepdim=True)
    return low + noise * (high - low)


def _given(ctx: Context, inputs: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    value = baseline.detach().to(device=inputs.device, dtype=inputs.dtype)
    shape = tuple(inputs.shape[1:])
    if value.ndim == 4 and value.shape[0] > 1:
        if value.shape[0] != ctx.total or tuple(value.shape[1:]) != shape:
            raise ValueError(
                "Invalid shape for the 'baseline' parameter: a baseline per image must have "
                f"shape (N, C, H, W) = ({ctx.total}, {', '.join(map(str, shape))}), but got "
                f"{tuple(value.shape)}."
            )
        return value[[key[0] for key in ctx.keys]]
    try:
        return torch.broadcast_to(value, inputs.shape).clone()
    except RuntimeError:
        raise ValueError(
            "Invalid shape for the 'baseline' parameter: expected a tensor that broadcasts to "
            f"one image {shape} (e.g. (C, H, W) or (C, 1, 1)) or one per image "
            f"({ctx.total}, {', '.join(map(str, shape))}), but got {tuple(value.shape)}."
        ) from None


def make_baseline(
    ctx: Context, inputs: torch.Tensor, baseline: Any, *, blur_sigma_px: Any, seed: Any
) -> torch.Tensor:
    """The baseline (N, C, H, W) for ``inputs`` (N, C, H, W).

    Parameters
    ----------
    baseline : {"black", "zeros", "blurred", "uniform"}, float or torch.Tensor
        - ``"black"``: the black image, zero in *pixel* space. With the
          normalisation known (a :class:`LoadedModel`, or ``normalization``
          given to :func:`attribute`) that is ``(0 - mean) / std`` per
          channel; without it, zero in the model's input space (with a
          warning when the inputs look normalised).
        - ``"zeros"``: zero in the model's input space (Captum's default;
          the mean colour for normalised inputs).
        - ``"blurred"``: the image blurred by a Gaussian of
          ``blur_sigma_px`` (Fong & Vedaldi 2017; Sturmfels et al. 2020).
        - ``"uniform"``: uniform noise, per pixel and channel, over [0, 1] in
          pixel space (normalised), or over each image's [min, max] without
          a normalisation (Sturmfels et al. 2020). Drawn with ``seed``.
        - a float: that value everywhere, in input space.
        - a tensor broadcasting to (C, H, W), or (N, C, H, W) for one
          baseline per image, in input space.
    """
    if isinstance(baseline, torch.Tensor):
        return _given(ctx, inputs, baseline)
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        return torch.full_like(inputs, float(baseline))
    if not isinstance(baseline, str) or baseline not in BASELINES:
        raise ValueError(
            "Invalid value for the 'baseline' parameter. Allowed values are "
            f"{', '.join(repr(b) for b in BASELINES)}, a float or a tensor, but got "
            f"{baseline!r} instead."
        )
    if baseline == "black":
        return _black(ctx, inputs)
    if baseline == "zeros":
        return torch.zeros_like(inputs)
    if baseline == "blurred":
        if (
            not isinstance(blur_sigma_px, numbers.Real)
            or isinstance(blur_sigma_px, bool)
            or not float(blur_sigma_px) > 0
        ):
            raise ValueError(
                "Invalid value for the 'blur_sigma_px' parameter: expected a positive number "
                f"of pixels, but got {blur_sigma_px!r} instead."
            )
        return gaussian_blur(inputs, float(blur_sigma_px))
    return _uniform(ctx, inputs, check_seed(seed))
