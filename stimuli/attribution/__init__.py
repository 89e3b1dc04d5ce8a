"""Attribution maps from a network, one call shape for every method, the model left untouched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..layers import default_layer
from ..models import LoadedModel
from ._cam import gradcam, gradcam_pp, guided_gradcam
from ._checks import (
    AUTOCAST_DTYPES,
    check_autocast,
    check_batch_size,
    check_inputs,
    model_device_dtype,
    normalization_tensors,
    resolve_layer,
)
from ._core import Context, Score, check_choice, target_score
from ._core import preserve_model_state as _preserve_model_state
from ._gradient import gradient, input_x_gradient
from ._guided import deconvnet, guided_backprop
from ._integrated import integrated_gradients
from ._occlusion import occlusion
from ._registry import ATTRIBUTION_METHODS, AttributionMethod, method_entry
from ._scorecam import scorecam
from ._smoothgrad import smoothgrad

__all__ = [
    "ATTRIBUTION_METHODS",
    "AUTOCAST_DTYPES",
    "AttributionMethod",
    "Target",
    "attribute",
]

#: What to explain: None (the predicted class), a class index, one index per image,
#: or a function of the logits (N, K) returning one scalar per image (N,).
Target = (
    int | Sequence[int] | torch.Tensor | np.ndarray | Callable[[torch.Tensor], torch.Tensor] | None
)


_PIXEL = [
    method_entry("gradient", gradient, "Simonyan, Vedaldi & Zisserman 2014, arXiv:1312.6034"),
    method_entry("input_x_gradient", input_x_gradient, "Shrikumar et al. 2016, arXiv:1605.01713"),
    method_entry("guided_backprop", guided_backprop, "Springenberg et al. 2015, arXiv:1412.6806"),
    method_entry("deconvnet", deconvnet, "Zeiler & Fergus 2014, arXiv:1311.2901"),
    method_entry(
        "integrated_gradients",
        integrated_gradients,
        "Sundararajan, Taly & Yan 2017, arXiv:1703.01365",
    ),
    method_entry("occlusion", occlusion, "Zeiler & Fergus 2014, arXiv:1311.2901"),
    method_entry(
        "guided_gradcam",
        guided_gradcam,
        "Selvaraju et al. 2017, arXiv:1610.02391",
        layer="optional",
    ),
]
_CAM = [
    method_entry(name, function, reference, layer="optional", output="cam")
    for name, function, reference in [
        ("gradcam", gradcam, "Selvaraju et al. 2017, arXiv:1610.02391"),
        ("gradcam_pp", gradcam_pp, "Chattopadhay et al. 2018, arXiv:1710.11063"),
        ("scorecam", scorecam, "Wang et al. 2020, arXiv:1910.01279"),
    ]
]
_BASE_OPTIONS = sorted({option for m in _PIXEL for option in m.options})

ATTRIBUTION_METHODS.update(
    (m.name, m)
    for m in [
        *_PIXEL[:5],
        method_entry(
            "smoothgrad",
            smoothgrad,
            "Smilkov et al. 2017, arXiv:1706.03825",
            layer="optional",
            extra_options=_BASE_OPTIONS,
        ),
        *_CAM,
        *_PIXEL[5:],
    ]
)


def _checkmethod_entry(
    method: str, layer: Any, options: dict[str, Any]
) -> tuple[AttributionMethod, bool]:
    """The method's entry, and whether this call uses a layer."""
    if method not in ATTRIBUTION_METHODS:
        allowed = ", ".join(repr(name) for name in ATTRIBUTION_METHODS)
        raise ValueError(
            "Invalid value for the 'method' parameter. Allowed values are "
            f"{allowed}, but got {method!r} instead."
        )
    spec = ATTRIBUTION_METHODS[method]
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(repr(name) for name in spec.options) or "none"
        raise TypeError(
            f"Invalid option(s) {', '.join(map(repr, unknown))} for method {method!r}. "
            f"Allowed options are: {allowed}."
        )
    uses = spec.layer
    if method == "smoothgrad":
        base = options.get("base_method", spec.defaults["base_method"])
        bases = [m.name for m in ATTRIBUTION_METHODS.values() if m.output == "pixel"]
        bases.remove("smoothgrad")
        uses = ATTRIBUTION_METHODS[check_choice("base_method", base, bases)].layer
    if uses == "unused" and layer is not None:
        raise ValueError(f"Method {method!r} takes no 'layer', but got layer={layer!r}.")
    if uses == "required" and layer is None:
        raise ValueError(f"Method {method!r} needs a 'layer' (a module name or module).")
    return spec, uses != "unused"


def _batch_score(score: Score, start: int, stop: int) -> Score:
    if score.indices is None:
        return score
    return Score(indices=score.indices[start:stop])


# Out of a caller's torch.inference_mode(), which would record no graph (and make the target and
# baseline tensors unusable in one), so that gradient methods fail with an autograd error.
@torch.inference_mode(False)
def attribute(
    model: nn.Module | LoadedModel,
    inputs: torch.Tensor,
    *,
    method: str = "gradient",
    target: Target = None,
    layer: str | nn.Module | None = None,
    batch_size: int | None = None,
    autocast: Literal["bf16", "fp16"] | None = None,
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
    **options: Any,
) -> torch.Tensor:
    """Attribute a network's output to its input pixels.

    The model is used in eval mode and handed back exactly as it was: no
    module is replaced; its training flags, parameters' ``requires_grad`` and
    hooks are restored, and any hook or mode a method uses is removed, also
    when an error occurs. ``inputs`` is never modified. No global random
    state is used or changed.

    Parameters
    ----------
    model : torch.nn.Module or LoadedModel
        The network; for a :class:`LoadedModel`, its ``.model`` (and its
        preprocessing's normalisation, see ``normalization``).
    inputs : torch.Tensor of shape (N, C, H, W)
        Preprocessed images (e.g. from ``LoadedModel.preprocess``). They are
        copied to the model's device and parameter dtype for the computation.
    method : str
        A key of :data:`ATTRIBUTION_METHODS`: ``"gradient"`` (default),
        ``"input_x_gradient"``, ``"guided_backprop"``, ``"deconvnet"``,
        ``"integrated_gradients"``, ``"smoothgrad"``, ``"gradcam"``,
        ``"gradcam_pp"``, ``"scorecam"``, ``"occlusion"``, ``"guided_gradcam"``.
        Each method's docstring (``ATTRIBUTION_METHODS[m].function``) gives
        its definition, reference and options.
    target : None, int, sequence of int, or callable
        What to explain. ``None``: each image's predicted class (argmax of
        the logits on the unaltered inputs). ``int``: that class for every
        image. Sequence (or 1-D tensor/array) of N ints: one class per image.
        Callable: ``target(logits) -> Tensor (M,)``, one differentiable scalar
        per row of any batch of M rows (it is applied to perturbed copies too).
    layer : str, torch.nn.Module or None
        For CAM methods and guided Grad-CAM: a module name as in
        ``model.named_modules()`` (or the module) whose output is a feature
        map (N, C, h, w). Default: :func:`stimuli.layers.default_layer`, the
        last convolutional block. Must be None for other methods.
    batch_size : int or None
        Process at most this many images at a time (default 64); also the
        default number of rows per forward pass of methods that expand a
        batch (integrated gradients' path points, SmoothGrad's noisy copies,
        occluded or masked images), so it bounds memory for every method.
    autocast : {"bf16", "fp16"} or None
        Run forward passes under ``torch.autocast`` with bfloat16 or float16
        (mainly for GPUs); gradients are taken with respect to the inputs in
        the model's dtype. Raises when the device cannot autocast to it.
    normalization : (mean, std) or None
        Per-channel mean and std with which the inputs were normalised,
        ``inputs = (pixels in [0, 1] - mean) / std``; used for baselines
        defined in pixel space (``baseline="black"``, ``"uniform"``).
        Default: a :class:`LoadedModel`'s preprocessing, else none.
    **options
        Method options, see ``ATTRIBUTION_METHODS[method].options`` and
        ``.defaults``; e.g. ``steps``, ``rule``, ``baseline`` for integrated
        gradients, ``base_method``, ``n_samples``, ``noise_level``, ``seed``
        for SmoothGrad, ``upsample`` for CAMs.

    Returns
    -------
    torch.Tensor
        Detached, on the device and with the dtype of ``inputs``. Pixel
        methods: shape (N, C, H, W). CAM methods (``ATTRIBUTION_METHODS[m].
        output == "cam"``): (N, 1, H, W), or (N, 1, h, w) at the layer's
        resolution with ``upsample=False``.
    """
    network = model.model if isinstance(model, LoadedModel) else model
    if not isinstance(network, nn.Module):
        raise TypeError(
            "Invalid type for the 'model' parameter: expected a torch.nn.Module or LoadedModel, "
            f"but got {type(model).__name__}."
        )
    inputs = check_inputs(inputs)
    spec, uses_layer = _checkmethod_entry(method, layer, options)
    step = check_batch_size(batch_size)
    device, dtype = model_device_dtype(network, inputs)
    autocast_dtype = check_autocast(autocast, device)
    norm = normalization_tensors(normalization, model, inputs.shape[1])
    module = None
    if uses_layer:
        module = resolve_layer(network, layer if layer is not None else default_layer(network))
    n = inputs.shape[0]
    score = target_score(target, n)
    if norm is not None:
        norm = (norm[0].to(device), norm[1].to(device))
    results = []
    with _preserve_model_state(network):
        for start in range(0, n, step):
            stop = min(start + step, n)
            batch = inputs[start:stop].detach().to(device=device, dtype=dtype, copy=True)
            ctx = Context(
                module=network,
                score=_batch_score(score, start, stop),
                layer=module,
                autocast=autocast_dtype,
                keys=tuple((i,) for i in range(start, stop)),
                normalization=norm,
                rows=step,
                total=n,
            )
            with torch.enable_grad():
                result = spec.function(ctx, batch, **options)
            results.append(result.detach().to(device=inputs.device, dtype=inputs.dtype))
    return torch.cat(results)
