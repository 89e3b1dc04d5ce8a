"""Guided backpropagation and deconvnet: every ReLU's backward rule replaced for one forward pass.

No module is replaced and no hook is registered. For the duration of the
forward pass a :class:`torch.overrides.TorchFunctionMode` catches every call
of a rectification, whichever way the network spells it (``nn.ReLU`` with or
without ``inplace``, ``F.relu``, ``F.relu_``, ``torch.relu``, ``torch.relu_``,
``Tensor.relu``, ``Tensor.relu_``), and computes it with an autograd function
whose backward applies the method's rule. The mode is popped when the forward
pass ends, also after an error, so nothing outlives the call.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch.nn import functional
from torch.overrides import TorchFunctionMode

from ._core import Context

__all__: list[str] = []

# The functions that compute a ReLU, and whether each works in place (None: F.relu's argument).
_OTHER = object()
_RECTIFIERS: dict[Any, Any] = {
    functional.relu: None,
    torch.relu: False,
    torch.relu_: True,
    torch.Tensor.relu: False,
    torch.Tensor.relu_: True,
}


class _GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward ``relu(grad) * (output > 0)`` (Springenberg et al. 2015)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        if inplace:
            ctx.mark_dirty(x)
            out = x.clamp_min_(0)
        else:
            out = x.clamp_min(0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (out,) = ctx.saved_tensors
        # threshold_backward(g, out, 0) = g where out > 0 else 0 is ReLU's own backward; its
        # result is a new tensor, rectified in place (the incoming grad may be shared).
        return torch.ops.aten.threshold_backward(grad, out, 0).clamp_min_(0), None


class _DeconvReLU(torch.autograd.Function):
    """ReLU forward; backward ``relu(grad)``, whatever the forward input (Zeiler & Fergus 2014)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        if inplace:
            ctx.mark_dirty(x)
            return x.clamp_min_(0)
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.clamp_min(0), None


_RULES: dict[str, type[torch.autograd.Function]] = {
    "guided": _GuidedReLU,
    "deconvnet": _DeconvReLU,
}


class RectifierMode(TorchFunctionMode):
    """Route every ReLU call to the autograd function of ``rule`` while active.

    Attributes
    ----------
    count : int
        How many rectifications were caught.
    """

    def __init__(self, rule: str) -> None:
        super().__init__()
        self.function = _RULES[rule]
        self.count = 0

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        try:
            inplace = _RECTIFIERS.get(func, _OTHER)
        except TypeError:  # an unhashable callable: not a ReLU
            inplace = _OTHER
        if inplace is _OTHER:  # the common case, kept cheap: every op of the forward passes here
            return func(*args, **kwargs)
        if inplace is None:  # F.relu(input, inplace=False)
            inplace = bool(args[1] if len(args) > 1 else kwargs.get("inplace", False))
        self.count += 1
        return self.function.apply(args[0], inplace)


@contextlib.contextmanager
def rectifier_rule(rule: str) -> Iterator[RectifierMode]:
    """Enter :class:`RectifierMode` for ``rule`` ("guided" or "deconvnet"); always popped."""
    with RectifierMode(rule) as mode:
        yield mode


def _rectified_gradient(ctx: Context, inputs: torch.Tensor, rule: str, name: str) -> torch.Tensor:
    leaf = inputs.detach().requires_grad_(True)  # the network gets a copy, as in input_gradient
    with rectifier_rule(rule) as mode:
        logits = ctx.forward(leaf.clone())
    if mode.count == 0:
        warnings.warn(
            f"The network computed no ReLU in its forward pass, so {name} equals the plain "
            "gradient (other nonlinearities such as ReLU6, GELU or hardswish keep their "
            "ordinary backward).",
            stacklevel=4,
        )
    (grad,) = torch.autograd.grad(ctx.score(logits).sum(), leaf)
    return grad


def guided_backprop(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    """Guided backpropagation (Springenberg, Dosovitskiy, Brox & Riedmiller 2015).

    "Striving for simplicity: the all convolutional net", ICLR workshop,
    arXiv:1412.6806. The gradient of the target score, except that at every
    ReLU ``y = max(x, 0)`` the backward pass lets through only positive
    gradients at positions where the forward input was positive:
    ``dL/dx = max(dL/dy, 0) * [x > 0]``. Only ReLUs are rectifications here;
    other nonlinearities (ReLU6, GELU, SiLU, hardswish) backpropagate their
    ordinary gradient, and a warning says so when a network has no ReLU.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    return _rectified_gradient(ctx, inputs, "guided", "guided backpropagation")


def deconvnet(ctx: Context, inputs: torch.Tensor) -> torch.Tensor:
    """Deconvolution network attribution (Zeiler & Fergus 2014), as formulated for gradients.

    "Visualizing and understanding convolutional networks", ECCV 2014,
    arXiv:1311.2901; in the gradient formulation of Springenberg et al. 2015:
    at every ReLU the backward pass rectifies the gradient itself and ignores
    the forward input, ``dL/dx = max(dL/dy, 0)``. Other layers (max pooling
    included, whose switches are the gradient's routing) backpropagate as
    usual. Other nonlinearities than ReLU are not rectifications here.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    return _rectified_gradient(ctx, inputs, "deconvnet", "deconvnet")
