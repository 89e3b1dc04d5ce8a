"""Class activation maps from gradients: Grad-CAM, Grad-CAM++ and guided Grad-CAM."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ._core import Context, Score
from ._core import upsample as resize
from ._guided import guided_backprop

__all__: list[str] = []


@contextlib.contextmanager
def capture(layer: nn.Module, *, differentiable: bool) -> Iterator[list[torch.Tensor]]:
    """Record ``layer``'s output during the forward passes inside the block.

    With ``differentiable``, the recorded tensor is a leaf that requires grad
    and the network continues from a copy of it, so gradients with respect to
    the activation can be taken and in-place operations downstream (an
    ``nn.ReLU(inplace=True)`` after the layer, DenseNet's final ``F.relu``)
    cannot alter it. The hook is removed on exit, also after an error.
    """
    captured: list[torch.Tensor] = []

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"The 'layer' module ({type(module).__name__}) returns "
                f"{type(output).__name__}, not a tensor: choose a module whose output is a "
                "feature map (N, C, h, w)."
            )
        if differentiable:
            leaf = output.detach().requires_grad_(True)
            captured.append(leaf)
            return leaf.clone()
        captured.append(output.detach().clone())
        return None

    handle = layer.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def layer_activation(
    ctx: Context, inputs: torch.Tensor, *, differentiable: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's activation (N, K, h, w) and the network's output for ``inputs``."""
    if ctx.layer is None:
        raise ValueError("This method needs a 'layer' (a module name or module).")
    with capture(ctx.layer, differentiable=differentiable) as captured:
        logits = ctx.forward(inputs.clone())
    if len(captured) != 1:
        raise ValueError(
            f"The 'layer' module ({type(ctx.layer).__name__}) ran {len(captured)} times in one "
            "forward pass; a class activation map needs a module that runs exactly once (a "
            "block or a layer, not a module the network reuses such as ResNet's shared ReLU)."
        )
    activation = captured[0]
    if activation.ndim != 4 or activation.shape[0] != inputs.shape[0]:
        raise ValueError(
            "A class activation map needs a layer whose output has shape (N, C, h, w), but "
            f"the 'layer' module ({type(ctx.layer).__name__}) gave {tuple(activation.shape)}."
        )
    return activation, logits


def _cam_parts(ctx: Context, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Score]:
    activation, logits = layer_activation(ctx, inputs, differentiable=True)
    score = ctx.score.resolved(logits)
    (grad,) = torch.autograd.grad(score(logits).sum(), activation, allow_unused=True)
    if grad is None:
        raise ValueError(
            f"The target score does not depend on the 'layer' module "
            f"({type(ctx.layer).__name__}): choose a layer on the path to the output."
        )
    dtype = torch.promote_types(activation.dtype, inputs.dtype)
    return activation.to(dtype), grad.to(dtype), score


def check_upsample(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"Invalid value for the 'upsample' parameter: expected a bool, but got {value!r}."
        )
    return value


def finish(cam: torch.Tensor, inputs: torch.Tensor, upsampled: bool) -> torch.Tensor:
    """``cam`` (N, 1, h, w) resized to the input's (H, W) when ``upsampled``."""
    return resize(cam, inputs.shape[-2:]) if upsampled else cam


def _grad_cam(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    weights = grad.mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * activation).sum(dim=1, keepdim=True))


def gradcam(ctx: Context, inputs: torch.Tensor, *, upsample: Any = True) -> torch.Tensor:
    """Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017).

    "Grad-CAM: visual explanations from deep networks via gradient-based
    localization", ICCV 2017, arXiv:1610.02391. With ``A`` the layer's
    activation (N, K, h, w) and ``g = d score / dA``:
    ``alpha_k = mean_ij g_kij`` and ``L = ReLU(sum_k alpha_k A_k)``.

    Parameters
    ----------
    upsample : bool
        Resize the map bilinearly (align_corners=False) to the input's size
        (default), or return it at the layer's resolution (h, w).

    Returns
    -------
    torch.Tensor of shape (N, 1, H, W), or (N, 1, h, w) without ``upsample``
        Raw, non-negative values (not normalised).
    """
    upsampled = check_upsample(upsample)
    activation, grad, _ = _cam_parts(ctx, inputs)
    return finish(_grad_cam(activation, grad), inputs, upsampled)


def gradcam_pp(ctx: Context, inputs: torch.Tensor, *, upsample: Any = True) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay, Sarkar, Howlader & Balasubramanian 2018).

    "Grad-CAM++: generalized gradient-based visual explanations for deep
    convolutional networks", WACV 2018, arXiv:1710.11063, eq. 19 (the closed
    form for an exponential output ``exp(S)`` over a piecewise-linear
    network): with ``g = dS/dA``,
    ``a_kij = g^2 / (2 g^2 + sum_ab A_kab g^3)`` (0 where the denominator is
    0), ``w_k = sum_ij a_kij ReLU(g_kij)`` and ``L = ReLU(sum_k w_k A_k)``.
    The positive factor ``exp(S)`` per image that eq. 19 carries is left out
    (as in pytorch-grad-cam); it changes the scale, not the map.

    Parameters
    ----------
    upsample : bool
        As for :func:`gradcam`.

    Returns
    -------
    torch.Tensor of shape (N, 1, H, W), or (N, 1, h, w) without ``upsample``
    """
    upsampled = check_upsample(upsample)
    activation, grad, _ = _cam_parts(ctx, inputs)
    grad2 = grad * grad
    denominator = 2 * grad2 + activation.sum(dim=(2, 3), keepdim=True) * grad2 * grad
    safe = torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    alpha = torch.where(denominator != 0, grad2 / safe, torch.zeros_like(denominator))
    weights = (alpha * torch.relu(grad)).sum(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    return finish(cam, inputs, upsampled)


def guided_gradcam(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation times Grad-CAM.

    The element-wise product of :func:`guided_backprop` (N, C, H, W) and the
    Grad-CAM map upsampled bilinearly to the input size (N, 1, H, W), both for
    the same target.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    activation, grad, score = _cam_parts(ctx, inputs)
    cam = resize(_grad_cam(activation, grad), inputs.shape[-2:])
    guided = guided_backprop(dataclasses.replace(ctx, score=score), inputs)
    return guided * cam.to(guided.dtype)
