"""Checks of attribute()'s arguments: inputs, layer, batch size, autocast, normalisation."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from ..models import LoadedModel

__all__: list[str] = []

#: Values of ``attribute(autocast=...)`` and the dtype each runs forward passes in.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

DEFAULT_BATCH_SIZE = 64


def check_inputs(inputs: Any) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            "Invalid type for the 'inputs' parameter: expected a torch.Tensor of shape "
            f"(N, C, H, W), but got {type(inputs).__name__}."
        )
    if inputs.ndim != 4 or 0 in inputs.shape:
        raise ValueError(
            "Invalid shape for the 'inputs' parameter: expected (N, C, H, W) with N, C, H, W > 0, "
            f"but got {tuple(inputs.shape)}. For one image, pass inputs[None]."
        )
    if not inputs.is_floating_point():
        raise TypeError(
            "Invalid dtype for the 'inputs' parameter: expected floating point, "
            f"got {inputs.dtype}."
        )
    return inputs


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError("The module given as 'layer' is not part of the model.")
        return layer
    try:
        return model.get_submodule(layer)
    except AttributeError:
        names = [name for name, _ in model.named_modules() if name]
        raise ValueError(
            f"Invalid value for the 'layer' parameter: the model has no module {layer!r}. "
            f"Modules are: {', '.join(names[:40])}{' ...' if len(names) > 40 else ''}."
        ) from None


def check_batch_size(batch_size: Any) -> int:
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(
            "Invalid value for the 'batch_size' parameter: expected None or a positive int, "
            f"but got {batch_size!r} instead."
        )
    return batch_size


def check_autocast(autocast: Any, device: torch.device) -> torch.dtype | None:
    if autocast is None:
        return None
    if autocast not in AUTOCAST_DTYPES:
        raise ValueError(
            "Invalid value for the 'autocast' parameter. Allowed values are None, "
            f"{', '.join(repr(k) for k in AUTOCAST_DTYPES)}, but got {autocast!r} instead."
        )
    dtype = AUTOCAST_DTYPES[autocast]
    # Where a device cannot autocast to a dtype, torch raises or warns and disables autocast.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.autocast(device_type=device.type, dtype=dtype):
                enabled = torch.is_autocast_enabled(device.type)
        except (RuntimeError, ValueError) as error:
            caught.append(warnings.WarningMessage(str(error), RuntimeWarning, "", 0))
            enabled = False
    if not enabled:
        reason = "; ".join(str(w.message) for w in caught) or "autocast stays disabled"
        raise ValueError(
            f"autocast={autocast!r} does not work on the model's device ({device}): {reason}"
        )
    return dtype


def normalization_tensors(
    normalization: Any, model: Any, channels: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    if normalization is None and isinstance(model, LoadedModel):
        normalization = (model.preprocess.mean, model.preprocess.std)
    if normalization is None:
        return None
    try:
        mean, std = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in normalization)
    except (TypeError, ValueError, RuntimeError):
        mean = std = torch.zeros(0)
    if len(mean) != channels or len(std) != channels or not bool((std > 0).all()):
        raise ValueError(
            "Invalid value for the 'normalization' parameter: expected (mean, std) with "
            f"{channels} values each (one per channel, std > 0), such that inputs = "
            f"(pixels in [0, 1] - mean) / std, but got {normalization!r}."
        )
    return mean.view(-1, 1, 1), std.view(-1, 1, 1)


def model_device_dtype(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.device, Any]:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return inputs.device, inputs.dtype
