"""Attribution maps from a network, one call shape for every method, the model left untouched."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from .models import LoadedModel

__all__ = [
    "ATTRIBUTION_METHODS",
    "AttributionMethod",
    "Target",
    "attribute",
]

#: What to explain: None (the predicted class), a class index, one index per image,
#: or a function of the logits (N, K) returning one scalar per image (N,).
Target = (
    int | Sequence[int] | torch.Tensor | np.ndarray | Callable[[torch.Tensor], torch.Tensor] | None
)

_Score = Callable[[torch.Tensor], torch.Tensor]


class _MethodFunction(Protocol):
    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, score: _Score, *, layer: nn.Module | None
    ) -> torch.Tensor: ...


@dataclass(frozen=True)
class AttributionMethod:
    """An entry of :data:`ATTRIBUTION_METHODS`.

    Attributes
    ----------
    name : str
        Registry key.
    function : callable
        ``function(model, inputs, score, *, layer, **options) -> Tensor``.
        ``inputs`` (N, C, H, W) is a private copy on the model's device;
        ``score(outputs) -> (N,)`` is the quantity to explain; the model is
        already in eval mode with parameter gradients off, and any hooks the
        function registers are removed afterwards even if it forgets.
        Returns attributions of shape (N, C, H, W).
    layer : {"unused", "optional", "required"}
        Whether the method takes a ``layer``.
    options : tuple of str
        Keyword options the method accepts.
    reference : str
        Where the method comes from.
    """

    name: str
    function: _MethodFunction
    layer: Literal["unused", "optional", "required"]
    options: tuple[str, ...]
    reference: str


def _gradient(
    model: nn.Module, inputs: torch.Tensor, score: _Score, *, layer: nn.Module | None
) -> torch.Tensor:
    leaf = inputs.clone().requires_grad_(True)
    # Feed a non-leaf copy so that in-place first layers (ReLU(inplace=True)) work.
    scores = score(model(leaf.clone()))
    (grad,) = torch.autograd.grad(scores.sum(), leaf)
    return grad


#: Attribution methods by name. Later methods register here with the same call shape.
ATTRIBUTION_METHODS: dict[str, AttributionMethod] = {
    "gradient": AttributionMethod(
        name="gradient",
        function=_gradient,
        layer="unused",
        options=(),
        reference="Simonyan, Vedaldi & Zisserman 2014, arXiv:1312.6034 (input gradient)",
    ),
}


_HOOK_ATTRS = ("_is_full_backward_hook",)


@contextlib.contextmanager
def _preserve_model_state(model: nn.Module) -> Iterator[None]:
    """Eval mode, parameter gradients off, and everything restored on exit, also on error.

    Restores each module's ``training`` flag, each parameter's
    ``requires_grad``, and each module's hook dictionaries (``_forward_hooks``,
    ``_backward_hooks``, ...: any ``_*hooks*`` dict) to their exact former
    content, so hooks a method registers cannot outlive the call.
    """
    modules = list(model.modules())
    training = [module.training for module in modules]
    params = list(model.parameters())
    requires_grad = [param.requires_grad for param in params]
    hook_dicts = [
        (table, dict(table))
        for module in modules
        for key, table in vars(module).items()
        if key.startswith("_") and "hooks" in key and isinstance(table, dict)
    ]
    flags = [(module, key, getattr(module, key)) for module in modules for key in _HOOK_ATTRS]
    try:
        model.eval()
        for param in params:
            param.requires_grad_(False)
        yield
    finally:
        for module, was_training in zip(modules, training, strict=True):
            module.training = was_training
        for param, flag in zip(params, requires_grad, strict=True):
            param.requires_grad_(flag)
        for table, saved in hook_dicts:
            if table != saved:
                table.clear()
                table.update(saved)
        for module, key, value in flags:
            setattr(module, key, value)


def _check_inputs(inputs: Any) -> torch.Tensor:
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


def _index_score(indices: torch.Tensor) -> _Score:
    def score(logits: torch.Tensor) -> torch.Tensor:
        if logits.ndim != 2:
            raise ValueError(
                f"A class-index target needs model outputs of shape (N, K), but the model gave "
                f"{tuple(logits.shape)}. Pass a callable target instead."
            )
        n_classes = logits.shape[1]
        if int(indices.min()) < 0 or int(indices.max()) >= n_classes:
            raise ValueError(
                f"Invalid value for the 'target' parameter: class indices must lie in "
                f"[0, {n_classes - 1}], but got {indices.tolist()}."
            )
        return logits.gather(1, indices.to(logits.device)[:, None])[:, 0]

    return score


def _callable_score(function: Callable[[torch.Tensor], torch.Tensor]) -> _Score:
    def score(logits: torch.Tensor) -> torch.Tensor:
        value = function(logits)
        n = logits.shape[0]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (n,):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(
                "A callable 'target' must return a tensor of shape (N,) = "
                f"({n},), one scalar per image, but it returned {shape}."
            )
        return value

    return score


def _target_indices(target: Any, n: int) -> torch.Tensor | None:
    """Class indices (n,) for int or sequence targets; None for None and callables."""
    if target is None or callable(target):
        return None
    if isinstance(target, (bool, float)):
        raise TypeError(
            "Invalid type for the 'target' parameter: expected None, an int, a sequence of ints "
            f"or a callable, but got {target!r}."
        )
    if isinstance(target, numbers.Integral):
        return torch.full((n,), int(target), dtype=torch.long)
    values = target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else target
    array = np.asarray(values)
    if array.ndim == 0 and np.issubdtype(array.dtype, np.integer):
        return torch.full((n,), int(array), dtype=torch.long)
    if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            "Invalid value for the 'target' parameter: a sequence target must be a 1-D sequence "
            f"of ints, one per image, but got {target!r}."
        )
    if len(array) != n:
        raise ValueError(
            f"Invalid value for the 'target' parameter: got {len(array)} class indices for "
            f"{n} images."
        )
    return torch.as_tensor(array, dtype=torch.long)


def _resolve_layer(model: nn.Module, layer: str | nn.Module | None) -> nn.Module | None:
    if layer is None or isinstance(layer, nn.Module):
        if isinstance(layer, nn.Module) and not any(m is layer for m in model.modules()):
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


def _check_method(method: str, layer: Any, options: dict[str, Any]) -> AttributionMethod:
    if method not in ATTRIBUTION_METHODS:
        allowed = ", ".join(repr(name) for name in ATTRIBUTION_METHODS)
        raise ValueError(
            "Invalid value for the 'method' parameter. Allowed values are "
            f"{allowed}, but got {method!r} instead."
        )
    spec = ATTRIBUTION_METHODS[method]
    if spec.layer == "unused" and layer is not None:
        raise ValueError(f"Method {method!r} takes no 'layer', but got layer={layer!r}.")
    if spec.layer == "required" and layer is None:
        raise ValueError(f"Method {method!r} needs a 'layer' (a module name or module).")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(repr(name) for name in spec.options) or "none"
        raise TypeError(
            f"Invalid option(s) {', '.join(map(repr, unknown))} for method {method!r}. "
            f"Allowed options are: {allowed}."
        )
    return spec


def _model_device_dtype(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.device, Any]:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return inputs.device, inputs.dtype


def attribute(
    model: nn.Module | LoadedModel,
    inputs: torch.Tensor,
    *,
    method: str = "gradient",
    target: Target = None,
    layer: str | nn.Module | None = None,
    batch_size: int | None = None,
    **options: Any,
) -> torch.Tensor:
    """Attribute a network's output to its input pixels.

    The model is used in eval mode and handed back exactly as it was: its
    modules, training flags, parameters' ``requires_grad`` and hooks are
    restored, also when an error occurs. ``inputs`` is never modified.

    Parameters
    ----------
    model : torch.nn.Module or LoadedModel
        The network; for a :class:`LoadedModel`, its ``.model``.
    inputs : torch.Tensor of shape (N, C, H, W)
        Preprocessed images (e.g. from ``LoadedModel.preprocess``). They are
        copied to the model's device and parameter dtype for the computation.
    method : str
        A key of :data:`ATTRIBUTION_METHODS`; ``"gradient"`` is the plain
        input gradient of the target score (Simonyan et al. 2014).
    target : None, int, sequence of int, or callable
        What to explain. ``None``: each image's predicted class (argmax of
        the logits on the unaltered inputs). ``int``: that class for every
        image. Sequence (or 1-D tensor/array) of N ints: one class per image.
        Callable: ``target(logits) -> Tensor (N,)``, one differentiable scalar
        per image (with ``batch_size``, it is called per batch, so it must
        work row by row).
    layer : str, torch.nn.Module or None
        For methods that use a layer (module name as in
        ``model.named_modules()``, or the module); must be None for
        ``"gradient"``.
    batch_size : int or None
        Process at most this many images at a time (default: all at once).
    **options
        Method options, see ``ATTRIBUTION_METHODS[method].options``.

    Returns
    -------
    torch.Tensor of shape (N, C, H, W)
        Attributions, detached, on the device and with the dtype of
        ``inputs``.
    """
    network = model.model if isinstance(model, LoadedModel) else model
    if not isinstance(network, nn.Module):
        raise TypeError(
            "Invalid type for the 'model' parameter: expected a torch.nn.Module or LoadedModel, "
            f"but got {type(model).__name__}."
        )
    inputs = _check_inputs(inputs)
    spec = _check_method(method, layer, options)
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise ValueError(
            "Invalid value for the 'batch_size' parameter: expected None or a positive int, "
            f"but got {batch_size!r} instead."
        )
    module = _resolve_layer(network, layer)
    n = inputs.shape[0]
    indices = _target_indices(target, n)
    step = batch_size or n
    device, dtype = _model_device_dtype(network, inputs)
    results = []
    with _preserve_model_state(network):
        for start in range(0, n, step):
            batch = inputs[start : start + step].detach().to(device=device, dtype=dtype, copy=True)
            if callable(target):
                score = _callable_score(target)
            elif indices is not None:
                score = _index_score(indices[start : start + step])
            else:
                with torch.no_grad():
                    predicted = network(batch.clone())
                if predicted.ndim != 2:
                    raise ValueError(
                        "target=None needs model outputs of shape (N, K), but the model gave "
                        f"{tuple(predicted.shape)}. Pass a callable target instead."
                    )
                score = _index_score(predicted.argmax(dim=1))
            with torch.enable_grad():
                result = spec.function(network, batch, score, layer=module, **options)
            results.append(result.detach().to(device=inputs.device, dtype=inputs.dtype))
    return torch.cat(results)
