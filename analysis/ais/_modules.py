"""Layer and readout modules of a network: defaults, lookup, order checks, input batches (torch)."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

#: Default (layer, readout) per torchvision architecture family; see ``default_modules``.
ARCHITECTURE_DEFAULTS = {
    "VGG": ("<last ReLU of features>", "classifier.4"),
    "AlexNet": ("features.11", "classifier.5"),
    "ResNet": ("layer4", "avgpool"),
}


def unwrap(model: Any) -> tuple[nn.Module, Any]:
    """The ``nn.Module`` and the ``LoadedModel`` (or None) behind ``model``."""
    if isinstance(model, nn.Module):
        return model, None
    inner = getattr(model, "model", None)
    if isinstance(inner, nn.Module) and hasattr(model, "preprocess"):
        return inner, model
    raise TypeError(
        "Invalid value for the 'model' parameter: expected a torch.nn.Module or a "
        f"stimuli.LoadedModel, but got {type(model).__name__} instead."
    )


def default_modules(model: nn.Module) -> tuple[str, str]:
    """(layer, readout) for the architectures with a standard pair, else raise."""
    kind = type(model).__name__
    names = dict(model.named_modules())
    features = getattr(model, "features", None)
    if kind == "VGG" and isinstance(features, nn.Sequential):
        relus = [f"features.{i}" for i, m in enumerate(features) if isinstance(m, nn.ReLU)]
        if relus and "classifier.4" in names:
            return relus[-1], "classifier.4"
    if kind == "AlexNet" and "features.11" in names and "classifier.5" in names:
        return "features.11", "classifier.5"
    if kind == "ResNet" and "layer4" in names and "avgpool" in names:
        return "layer4", "avgpool"
    raise ValueError(
        f"No default layer and readout for a {kind} model: defaults exist for torchvision "
        f"{', '.join(ARCHITECTURE_DEFAULTS)} models. Pass layer= and readout= as module names "
        "(see model.named_modules())."
    )


def resolve(model: nn.Module, layer: str | None, readout: str | None) -> tuple[str, str]:
    """Check the module names (defaults filled in); raise naming close matches."""
    if layer is None or readout is None:
        default_layer, default_readout = default_modules(model)
        layer = default_layer if layer is None else layer
        readout = default_readout if readout is None else readout
    names = [name for name, _ in model.named_modules() if name]
    for parameter, name in (("layer", layer), ("readout", readout)):
        if not isinstance(name, str) or name not in names:
            close = difflib.get_close_matches(str(name), names, n=6, cutoff=0.5)
            hint = f"Close names: {', '.join(map(repr, close))}." if close else ""
            raise ValueError(
                f"Invalid value for the '{parameter}' parameter: the model has no module "
                f"{name!r}. {hint} All names: model.named_modules()."
            )
    if layer == readout or readout.startswith(layer + ".") or layer.startswith(readout + "."):
        raise ValueError(
            f"The layer {layer!r} and the readout {readout!r} must be different modules, "
            "neither inside the other."
        )
    return layer, readout


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd for the duration; the training flags are restored after."""
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, mode in modes.items():
            module.train(mode)


def prepare_images(images: Any, loaded: Any, module: nn.Module, device: Any) -> torch.Tensor:
    """Images as one (N, C, H, W) tensor on ``device`` in the model's floating dtype."""
    param = next(module.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    target = (
        torch.device(device)
        if device is not None
        else (param.device if param is not None else torch.device("cpu"))
    )
    if isinstance(images, torch.Tensor):
        tensor = images
    elif isinstance(images, np.ndarray) and images.dtype != np.uint8:
        tensor = torch.from_numpy(images)
    elif isinstance(images, (Sequence, np.ndarray)):
        if loaded is None:
            raise ValueError(
                "Invalid value for the 'images' parameter: raw uint8 images need a "
                "stimuli.LoadedModel as 'model' (its preprocessing); otherwise pass a "
                "preprocessed float tensor of shape (N, C, H, W)."
            )
        tensor = loaded.preprocess.batch(list(images))
    else:
        raise ValueError(
            "Invalid value for the 'images' parameter: expected a float tensor (N, C, H, W) or "
            f"a sequence of uint8 RGB images, but got {type(images).__name__} instead."
        )
    if tensor.ndim != 4 or not tensor.is_floating_point() or tensor.shape[0] == 0:
        raise ValueError(
            "Invalid value for the 'images' parameter: expected a non-empty float tensor of "
            f"shape (N, C, H, W), but got shape {tuple(tensor.shape)} and dtype {tensor.dtype}."
        )
    return tensor.to(device=target, dtype=dtype)


def probe(module: nn.Module, image: torch.Tensor, layer: str, readout: str) -> tuple[int, ...]:
    """Run one image; check that the layer runs once, before the readout; return its shape."""
    named = dict(module.named_modules())
    events: list[tuple[str, str]] = []
    shapes: dict[str, Any] = {}

    def pre(name: str) -> Any:
        return lambda *_: events.append((name, "start"))

    def post(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            events.append((name, "end"))
            shapes[name] = tuple(output.shape) if isinstance(output, torch.Tensor) else None

        return hook

    handles = []
    for name in (layer, readout):
        handles.append(named[name].register_forward_pre_hook(pre(name)))
        handles.append(named[name].register_forward_hook(post(name)))
    try:
        module(image)
    finally:
        for handle in handles:
            handle.remove()
    for name, role in ((layer, "layer"), (readout, "readout")):
        runs = events.count((name, "end"))
        if runs != 1:
            raise ValueError(
                f"The {role} module {name!r} runs {runs} times in one forward pass; choose a "
                "module that runs exactly once (a shared activation module runs at every use)."
            )
        if shapes[name] is None:
            raise ValueError(f"The {role} module {name!r} does not return a single tensor.")
    if events.index((layer, "end")) > events.index((readout, "start")):
        raise ValueError(
            f"The layer {layer!r} runs after the readout {readout!r} starts: the feature maps "
            "must come before the representation (a layer after the readout cannot change it)."
        )
    shape = shapes[layer]
    if len(shape) != 4:
        raise ValueError(
            f"The layer {layer!r} returns shape {shape}; expected feature maps (N, maps, h, w)."
        )
    return tuple(shape[1:])


def auto_chunk(rows_per_item: int, width: int, budget: int = 1 << 25) -> int:
    """How many ablation conditions to evaluate at once to stay near ``budget`` elements."""
    return max(1, budget // max(1, rows_per_item * width))
