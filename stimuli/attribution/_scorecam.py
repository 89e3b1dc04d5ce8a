"""Score-CAM: each feature map weighted by the score of the image it masks, no gradients."""

from __future__ import annotations

from typing import Any

import torch

from ._cam import check_upsample, finish, layer_activation
from ._core import Context, chunks, rows_option
from ._core import upsample as resize

__all__: list[str] = []


def scorecam(
    ctx: Context, inputs: torch.Tensor, *, upsample: Any = True, internal_batch_size: Any = None
) -> torch.Tensor:
    """Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu 2020).

    "Score-CAM: score-weighted visual explanations for convolutional neural
    networks", CVPR workshops 2020, arXiv:1910.01279, as in the authors'
    code: each channel ``A_k`` of the layer's activation is upsampled
    bilinearly to the input size and min-max normalised to [0, 1] into
    ``H_k``; its weight ``w_k`` is the target's softmax probability for the
    masked input ``x * H_k`` (for a callable ``target``, the callable's value);
    channels with a constant map get weight 0; ``L = ReLU(sum_k w_k A_k)``
    at the layer's resolution. The input is masked in the model's input
    space, so masked-out pixels become 0 there (the mean colour for
    normalised inputs). The paper's baseline term ``f(x_b)`` is left out, as
    in the authors' code. One forward pass per channel and image.

    Parameters
    ----------
    upsample : bool
        As for Grad-CAM: bilinear resize to the input size (default) or the
        layer's resolution.
    internal_batch_size : int or None
        Masked images per forward pass (default: the call's ``batch_size``).

    Returns
    -------
    torch.Tensor of shape (N, 1, H, W), or (N, 1, h, w) without ``upsample``
    """
    upsampled = check_upsample(upsample)
    rows = rows_option(ctx, internal_batch_size)
    with torch.no_grad():
        activation, logits = layer_activation(ctx, inputs, differentiable=False)
        score = ctx.score.resolved(logits)
        dtype = torch.promote_types(activation.dtype, inputs.dtype)
        activation = activation.to(dtype)
        n, channels = activation.shape[:2]
        weights = torch.zeros((n, channels), dtype=dtype, device=inputs.device)
        for flat in chunks(n * channels, rows):
            image = (flat // channels).to(inputs.device)
            channel = (flat % channels).to(inputs.device)
            maps = resize(activation[image, channel][:, None], inputs.shape[-2:])
            low = maps.amin(dim=(2, 3), keepdim=True)
            high = maps.amax(dim=(2, 3), keepdim=True)
            constant = (high == low).view(-1)
            masks = (maps - low) / torch.where(high > low, high - low, torch.ones_like(high))
            probability = score.take(image).probability(
                ctx.forward(inputs[image] * masks.to(inputs.dtype))
            )
            weights[image, channel] = torch.where(
                constant, torch.zeros_like(probability), probability
            ).to(dtype)
        cam = torch.relu((weights[:, :, None, None] * activation).sum(dim=1, keepdim=True))
    return finish(cam, inputs, upsampled)
