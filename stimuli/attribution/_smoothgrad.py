"""SmoothGrad: any pixel method averaged over noisy copies of the image, batched."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from ._core import (
    Context,
    add_rows,
    check_choice,
    check_int,
    check_seed,
    chunks,
    rows_option,
)
from ._registry import ATTRIBUTION_METHODS

__all__: list[str] = []

#: How the base method's attributions over the noisy copies are combined.
AGGREGATES = ("mean", "square", "variance")


def _noise_level(value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not float(value) >= 0:
        raise ValueError(
            "Invalid value for the 'noise_level' parameter: expected a fraction of the input "
            f"range >= 0 (e.g. 0.15), but got {value!r} instead."
        )
    return float(value)


def _base_spec(base_method: Any, base_options: dict[str, Any]) -> Any:
    bases = [
        name
        for name, spec in ATTRIBUTION_METHODS.items()
        if spec.output == "pixel" and name != "smoothgrad"
    ]
    check_choice("base_method", base_method, bases)
    spec = ATTRIBUTION_METHODS[base_method]
    unknown = sorted(set(base_options) - set(spec.options))
    if unknown:
        allowed = ", ".join(repr(name) for name in spec.options) or "none"
        raise TypeError(
            f"Invalid option(s) {', '.join(map(repr, unknown))} for smoothgrad with "
            f"base_method={base_method!r}. Allowed base options are: {allowed}."
        )
    return spec


def smoothgrad(
    ctx: Context,
    inputs: torch.Tensor,
    *,
    base_method: Any = "gradient",
    n_samples: Any = 50,
    noise_level: Any = 0.15,
    langlois_variance: Any = False,
    aggregate: Any = "mean",
    seed: Any = 0,
    internal_batch_size: Any = None,
    **base_options: Any,
) -> torch.Tensor:
    """SmoothGrad (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017), around any pixel method.

    "SmoothGrad: removing noise by adding noise", arXiv:1706.03825: the
    average of ``base_method``'s attributions over ``n_samples`` copies
    ``x + e``, ``e ~ N(0, sigma^2)`` per pixel and channel, with
    ``sigma = noise_level * (max(x) - min(x))``, the range taken per image
    over all its channels and pixels, in the model's input space.

    Parameters
    ----------
    base_method : str
        A pixel method of :data:`ATTRIBUTION_METHODS` (default ``"gradient"``);
        its options are passed through.
    n_samples : int
        Number of noisy copies per image (default 50).
    noise_level : float
        Noise standard deviation as a fraction of the image's range (default 0.15).
    langlois_variance : bool
        Reproduce the code of Langlois et al. 2021, which passed the intended
        *variance* where the standard deviation belongs: the noise's standard
        deviation is then ``(noise_level * (max(x) - min(x))) ** 2``.
    aggregate : {"mean", "square", "variance"}
        ``"mean"``: SmoothGrad. ``"square"``: the mean of the squared
        attributions (SmoothGrad-Squared, Hooker et al. 2019). ``"variance"``:
        their variance over the samples (VarGrad, Adebayo et al. 2018), as
        Captum's ``NoiseTunnel`` ``nt_type`` options.
    seed : int
        Seed of the noise. The noise of image ``i`` and sample ``s`` comes
        from a generator seeded by ``(seed, i, s)`` on the model's device, so
        results do not depend on ``batch_size`` or ``internal_batch_size``,
        and the global random state is left alone. CPU and CUDA generators
        draw different numbers for the same seed.
    internal_batch_size : int or None
        Noisy copies per pass of the base method (default: the call's
        ``batch_size``). ``seed`` and ``internal_batch_size`` are SmoothGrad's
        own; a base method that expands each copy further (integrated
        gradients' path, occlusion's windows) uses the call's ``batch_size``
        rows per pass and draws its own random numbers per copy.
    **base_options
        Options of ``base_method`` (e.g. ``steps`` for integrated gradients).

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    spec = _base_spec(base_method, base_options)
    samples = check_int("n_samples", n_samples)
    level = _noise_level(noise_level)
    if not isinstance(langlois_variance, bool):
        raise TypeError(
            f"Invalid value for the 'langlois_variance' parameter: expected a bool, but got "
            f"{langlois_variance!r}."
        )
    aggregate = check_choice("aggregate", aggregate, AGGREGATES)
    seed = check_seed(seed)
    rows = rows_option(ctx, internal_batch_size)
    if spec.layer == "required" and ctx.layer is None:
        raise ValueError(f"smoothgrad with base_method={base_method!r} needs a 'layer'.")
    span = inputs.amax(dim=(1, 2, 3)) - inputs.amin(dim=(1, 2, 3))
    sigma = level * span
    if langlois_variance:
        sigma = sigma**2
    score = ctx.fixed_score(inputs)
    total = torch.zeros_like(inputs)
    squares = torch.zeros_like(inputs)
    shape = inputs.shape[1:]
    for flat in chunks(len(inputs) * samples, rows):
        image = (flat // samples).to(inputs.device)
        sample = (flat % samples).tolist()
        noise = torch.empty((len(flat), *shape), dtype=inputs.dtype, device=inputs.device)
        for row, (i, s) in enumerate(zip(image.tolist(), sample, strict=True)):
            key = (*ctx.keys[i], s)
            generator = ctx.generator(seed, "smoothgrad", key, inputs.device)
            noise[row] = torch.randn(
                shape, generator=generator, device=inputs.device, dtype=inputs.dtype
            )
        noisy = inputs[image] + sigma[image].view(-1, 1, 1, 1) * noise
        sub = ctx.for_rows(image, score=score, suffix=sample)
        result = spec.function(sub, noisy, **base_options)
        if aggregate != "square":
            add_rows(total, image, result)
        if aggregate != "mean":
            add_rows(squares, image, result * result)
    if aggregate == "mean":
        return total / samples
    if aggregate == "square":
        return squares / samples
    mean = total / samples
    return squares / samples - mean * mean
