"""Plain gradient methods: the input gradient and gradient times input."""

from __future__ import annotations

import torch

from ._core import Context, input_gradient

__all__: list[str] = []


def gradient(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    """The gradient of the target score with respect to the input pixels.

    Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional networks:
    visualising image classification models and saliency maps", ICLR
    workshop, arXiv:1312.6034. Signed; the paper's map is the maximum of the
    absolute value over channels (``to_map(reduce="abs_max")``).

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    return input_gradient(ctx, inputs)


def input_x_gradient(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    """The input times the gradient, element by element.

    Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not just a black box:
    learning important features through propagating activation differences",
    arXiv:1605.01713; named "Gradient * Input" by Ancona et al. 2018, ICLR.
    ``x * d score / dx``, with ``x`` the network's (normalised) input.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    return inputs * input_gradient(ctx, inputs)
