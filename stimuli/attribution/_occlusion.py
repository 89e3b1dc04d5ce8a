"""Occlusion: the drop in the target score when a sliding window hides part of the image."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from ._baseline import make_baseline
from ._core import Context, chunks, rows_option

__all__: list[str] = []


def _pair(name: str, value: Any) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair)
        or min(pair) < 1
    ):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a positive int or "
            f"(height, width) in pixels, but got {value!r} instead."
        )
    return int(pair[0]), int(pair[1])


def _starts(size: int, window: int, stride: int, axis: str) -> list[int]:
    if window > size:
        raise ValueError(
            f"Invalid value for the 'window' parameter: its {axis} ({window} px) exceeds the "
            f"input's ({size} px)."
        )
    if stride > window and window < size:
        raise ValueError(
            f"Invalid value for the 'stride' parameter: a {axis} stride of {stride} px larger "
            f"than the window's {window} px would leave pixels never occluded."
        )
    return [k * stride for k in range(math.ceil((size - window) / stride) + 1)]


def occlusion(
    ctx: Context,
    inputs: torch.Tensor,
    *,
    window: Any = 16,
    stride: Any = 8,
    baseline: Any = "zeros",
    internal_batch_size: Any = None,
    blur_sigma_px: Any = 10.0,
    seed: Any = 0,
) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler & Fergus 2014).

    "Visualizing and understanding convolutional networks", ECCV 2014,
    arXiv:1311.2901. A window of ``window`` pixels slides over the image in
    steps of ``stride`` (top-left corners ``0, s, 2s, ...`` up to the last one
    that reaches the border, which may be cut there, as in Captum); inside
    it all channels are replaced by the baseline. A pixel's attribution is
    the mean, over the windows that cover it, of ``score(x) - score(x
    occluded)``; the same value for every channel.

    Parameters
    ----------
    window : int or (int, int)
        Window (height, width) in pixels (default 16).
    stride : int or (int, int)
        Step in pixels (default 8); at most the window's size.
    baseline : str, float or torch.Tensor
        What replaces the window (default ``"zeros"``: zero in the model's
        input space, the mean colour for normalised inputs, i.e. Zeiler &
        Fergus's grey square); see
        :func:`stimuli.attribution._baseline.make_baseline`.
    internal_batch_size : int or None
        Occluded images per forward pass (default: the call's ``batch_size``).
    blur_sigma_px, seed : float, int
        For the ``"blurred"`` and ``"uniform"`` baselines.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    (wh, ww), (sh, sw) = _pair("window", window), _pair("stride", stride)
    height, width = inputs.shape[-2:]
    windows = [
        (y, x) for y in _starts(height, wh, sh, "height") for x in _starts(width, ww, sw, "width")
    ]
    rows = rows_option(ctx, internal_batch_size)
    base = make_baseline(ctx, inputs, baseline, blur_sigma_px=blur_sigma_px, seed=seed)
    score = ctx.fixed_score(inputs)
    count = torch.zeros((height, width), dtype=inputs.dtype, device=inputs.device)
    for y, x in windows:
        count[y : y + wh, x : x + ww] += 1
    total = torch.zeros((len(inputs), height, width), dtype=inputs.dtype, device=inputs.device)
    with torch.no_grad():
        reference = score(ctx.forward(inputs.clone()))
        for flat in chunks(len(inputs) * len(windows), rows):
            image = (flat // len(windows)).to(inputs.device)
            places = [windows[int(w)] for w in flat % len(windows)]
            batch = inputs[image]
            for row, (i, (y, x)) in enumerate(zip(image.tolist(), places, strict=True)):
                batch[row, :, y : y + wh, x : x + ww] = base[i, :, y : y + wh, x : x + ww]
            drop = (reference[image] - score.take(image)(ctx.forward(batch))).to(inputs.dtype)
            for row, (i, (y, x)) in enumerate(zip(image.tolist(), places, strict=True)):
                total[i, y : y + wh, x : x + ww] += drop[row]
    return (total / count)[:, None].expand_as(inputs).contiguous()
