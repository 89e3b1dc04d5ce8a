"""Integrated gradients: the path integral of gradients from a baseline, by quadrature."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._baseline import make_baseline
from ._core import Context, add_rows, check_choice, check_int, chunks, rows_option

__all__: list[str] = []

#: Quadrature rules for the path integral, see :func:`quadrature`.
RULES = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)


def quadrature(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alpha`` in [0, 1] and weights (summing to 1) of a rule with ``steps`` points.

    - ``riemann_left``: ``alpha_k = k / n``, k = 0..n-1, weights ``1 / n``.
    - ``riemann_right``: ``alpha_k = (k + 1) / n``, weights ``1 / n``.
    - ``riemann_middle``: ``alpha_k = (k + 1/2) / n``, weights ``1 / n``.
    - ``riemann_trapezoid``: ``alpha_k = k / (n - 1)``, weights
      ``1 / (n - 1)`` halved at both ends (the trapezoid rule; Captum's
      weights are ``1 / n`` halved at both ends, which sum to (n - 1) / n).
    - ``gausslegendre``: Gauss-Legendre nodes and weights
      (``numpy.polynomial.legendre.leggauss``) mapped from [-1, 1] to [0, 1].
    """
    n = steps
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1.0), 0.5 * weights
    if rule == "riemann_trapezoid":
        if n < 2:
            raise ValueError(
                "Invalid value for the 'steps' parameter: the trapezoid rule needs steps >= 2, "
                f"but got {n}."
            )
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n), weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[rule]
    return (np.arange(n) + offset) / n, np.full(n, 1.0 / n)


def integrated_gradients(
    ctx: Context,
    inputs: torch.Tensor,
    *,
    baseline: Any = "black",
    steps: Any = 50,
    rule: Any = "gausslegendre",
    internal_batch_size: Any = None,
    blur_sigma_px: Any = 10.0,
    seed: Any = 0,
) -> torch.Tensor:
    """Integrated gradients (Sundararajan, Taly & Yan 2017).

    "Axiomatic attribution for deep networks", ICML 2017, arXiv:1703.01365:
    ``IG(x) = (x - x') * integral_0^1 dF(x' + a (x - x')) / dx da``, with
    ``x'`` the baseline, the integral by the quadrature ``rule`` with
    ``steps`` points (see :func:`quadrature`). Completeness: the attributions
    of an image sum to ``F(x) - F(x')`` up to the quadrature error.

    Parameters
    ----------
    baseline : str, float or torch.Tensor
        ``"black"`` (default), ``"zeros"``, ``"blurred"``, ``"uniform"``, a
        value or a tensor; see :func:`stimuli.attribution._baseline.make_baseline`.
    steps : int
        Number of points on the path (default 50).
    rule : str
        One of :data:`RULES` (default ``"gausslegendre"``, as Captum).
    internal_batch_size : int or None
        Path points per forward pass (default: the call's ``batch_size``).
    blur_sigma_px : float
        Gaussian sigma (pixels) of the ``"blurred"`` baseline (default 10).
    seed : int
        Seed of the ``"uniform"`` baseline's noise.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
    """
    steps = check_int("steps", steps)
    rule = check_choice("rule", rule, RULES)
    rows = rows_option(ctx, internal_batch_size)
    alphas, weights = quadrature(rule, steps)
    base = make_baseline(ctx, inputs, baseline, blur_sigma_px=blur_sigma_px, seed=seed)
    score = ctx.fixed_score(inputs)
    diff = inputs - base
    alpha = torch.as_tensor(alphas, dtype=inputs.dtype, device=inputs.device)
    weight = torch.as_tensor(weights, dtype=inputs.dtype, device=inputs.device)
    total = torch.zeros_like(inputs)
    for flat in chunks(len(inputs) * steps, rows):
        image = (flat // steps).to(inputs.device)
        step = (flat % steps).to(inputs.device)
        path = base[image] + alpha[step].view(-1, 1, 1, 1) * diff[image]
        path.requires_grad_(True)
        scores = score.take(image)(ctx.forward(path.clone()))
        (grad,) = torch.autograd.grad(scores.sum(), path)
        add_rows(total, image, grad * weight[step].view(-1, 1, 1, 1))
    return diff * total
