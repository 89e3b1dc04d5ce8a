"""Classification networks by name, weights from the local cache or a file, never downloaded."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
import torchvision
from torch import nn

from ._preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    INTERPOLATIONS,
    RESIZE_MODES,
    Preprocess,
    finite_triplet,
    scaled_resize_size,
)
from ._sources import (
    build_torchvision,
    cached_weights,
    load_callable,
    load_into,
    load_state_file,
    named_weights,
    state_sha256,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "INTERPOLATIONS",
    "RESIZE_MODES",
    "LoadedModel",
    "Preprocess",
    "available_models",
    "load_model",
]

_RANDOM_WARNING = (
    "randomly initialised weights (weights=None): attributions from this model do not "
    "reflect a trained network"
)


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for attribution, with what is needed to reproduce it.

    Attributes
    ----------
    model : torch.nn.Module
        The network, in eval mode, on the requested device.
    preprocess : Preprocess
        Image (H, W, 3) uint8 -> normalised tensor (3, height, width).
    identifier : str
        ``"<name>:<weights>:sha256=<hex>"`` (``"<name>:random"`` for random
        weights); the checksum is that of the weights file (of the state dict
        for a user's model that brings its own weights).
    provenance : Mapping
        Read-only record: model, model_source ("torchvision" or "callable"),
        weights, weights_sha256, weights_file, model_options, preprocess,
        library versions, and ``warning`` for random weights.
    """

    model: nn.Module
    preprocess: Preprocess
    identifier: str
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The model's name, e.g. ``"resnet18"`` or ``"mylab.nets:build"``."""
        return str(self.provenance["model"])

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.model.parameters()).device

    def map_provenance(self, *, method: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Provenance for maps made with this model, as :func:`write_stimulus_set` wants it.

        Parameters
        ----------
        method : str
            Attribution method name, e.g. ``"gradient"``.
        parameters : mapping
            Everything that shaped the maps: target, layer, method options,
            :func:`to_map` options.

        Returns
        -------
        dict
            This model's provenance plus ``method`` and ``parameters``.
        """
        record = _plain(self.provenance)
        record.update(method=method, parameters=_plain(parameters))
        return record


def _plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _plain(value) if isinstance(value, Mapping) else value
        for key, value in mapping.items()
    }


def available_models() -> list[str]:
    """Names of the torchvision classification models that :func:`load_model` accepts.

    A user's own network is loaded as ``"module:callable"`` (see :func:`load_model`).
    """
    return sorted(torchvision.models.list_models(module=torchvision.models))


def _input_size(input_size: Any, crop_size: int) -> tuple[int, int] | None:
    if input_size is None:
        return None
    if isinstance(input_size, str) and input_size == "auto":
        return crop_size, crop_size
    size = (input_size, input_size) if isinstance(input_size, int) else input_size
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)
    ):
        raise ValueError(
            "Invalid value for the 'input_size' parameter: expected 'auto', None, a positive int "
            f"or (height, width), but got {input_size!r} instead."
        )
    return int(size[0]), int(size[1])


def _recipe(weights: Any) -> dict[str, Any]:
    """The evaluation transform of torchvision weights (or ImageNet defaults for ``None``)."""
    if weights is None:
        return {
            "from": "ImageNet defaults (torchvision's ImageClassification)",
            "crop_size": 224,
            "resize_size": 256,
            "interpolation": "bilinear",
            "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD,
        }
    # Building the transform reads metadata only: nothing is downloaded.
    transform = weights.transforms()
    return {
        "from": str(weights),
        "crop_size": int(transform.crop_size[0]),
        "resize_size": int(transform.resize_size[0]),
        "interpolation": str(transform.interpolation.value),
        "mean": tuple(float(v) for v in transform.mean),
        "std": tuple(float(v) for v in transform.std),
    }


def _preprocess(
    recipe: Mapping[str, Any],
    *,
    input_size: Any,
    resize: str,
    mean: Any,
    std: Any,
    interpolation: str | None,
) -> Preprocess:
    if resize not in RESIZE_MODES:
        raise ValueError(
            "Invalid value for the 'resize' parameter. Allowed values are "
            f"{', '.join(map(repr, RESIZE_MODES))}, but got {resize!r} instead."
        )
    size = _input_size(input_size, recipe["crop_size"])
    resize_size = None
    if resize == "center_crop":
        if size is None:
            raise ValueError("resize='center_crop' needs an input_size, but got input_size=None.")
        resize_size = scaled_resize_size(recipe["resize_size"], recipe["crop_size"], size)
    chosen = recipe["interpolation"] if interpolation is None else interpolation
    if chosen not in INTERPOLATIONS:
        raise ValueError(
            "Invalid value for the 'interpolation' parameter. Allowed values are "
            f"{', '.join(map(repr, INTERPOLATIONS))}, but got {chosen!r} instead."
        )
    return Preprocess(
        size=size,
        mean=recipe["mean"] if mean is None else finite_triplet("mean", mean),
        std=recipe["std"] if std is None else finite_triplet("std", std),
        interpolation=chosen,
        resize_size=resize_size,
    )


def _check_fixed_input(name: str, model: nn.Module, preprocess: Preprocess) -> None:
    """Vision transformers take exactly their ``image_size``: say so before a cryptic failure."""
    if not isinstance(model, torchvision.models.VisionTransformer):
        return
    expected = (model.image_size, model.image_size)
    if preprocess.size != expected:
        raise ValueError(
            f"Invalid value for the 'input_size' parameter: model '{name}' takes inputs of "
            f"exactly {expected[0]}x{expected[1]} px, but got input_size giving "
            f"{preprocess.size!r}. Use input_size='auto' or {expected[0]} (with random or file "
            "weights, a square input_size builds the transformer for that size)."
        )


def _load_torchvision(
    name: str, weights: Any, *, model_kwargs: dict[str, Any], options: dict[str, Any]
) -> tuple[nn.Module, Preprocess, dict[str, Any], str]:
    named = named_weights(name, weights) if isinstance(weights, str) else None
    default = torchvision.models.get_model_weights(name).DEFAULT
    recipe = _recipe(named if named is not None else default)
    preprocess = _preprocess(recipe, **options)
    size = preprocess.size
    square = size[0] if size is not None and size[0] == size[1] else None
    if weights is None:
        warnings.warn(f"Model '{name}' has {_RANDOM_WARNING}.", UserWarning, stacklevel=3)
        model, builder = build_torchvision(
            name, source="random", weights=None, model_kwargs=model_kwargs, image_size=square
        )
        record: dict[str, Any] = {
            "weights": "random",
            "weights_sha256": None,
            "warning": _RANDOM_WARNING,
        }
        identifier = f"{name}:random"
    elif named is not None:
        _, record = cached_weights(name, named)
        # The file exists, so torchvision's builder reads it from the cache and downloads
        # nothing; the builder also applies model-specific fixes (key renames, input transforms).
        model, builder = build_torchvision(
            name, source="named", weights=named, model_kwargs=model_kwargs, image_size=None
        )
        identifier = f"{name}:{str(named).split('.', 1)[1]}:sha256={record['weights_sha256']}"
    else:
        path = Path(weights)
        model, record, builder = load_state_file(
            name, path, model_kwargs=model_kwargs, image_size=square
        )
        identifier = f"{name}:file={path.name}:sha256={record['weights_sha256']}"
    _check_fixed_input(name, model, preprocess)
    record.update(model_source="torchvision", model_options=builder, preprocess_recipe=recipe)
    return model, preprocess, record, identifier


def _load_user(
    spec: str, weights: Any, *, model_kwargs: dict[str, Any], options: dict[str, Any]
) -> tuple[nn.Module, Preprocess, dict[str, Any], str]:
    recipe = _recipe(None)
    preprocess = _preprocess(recipe, **options)
    model, record = load_callable(spec, model_kwargs)
    if weights is None:
        warnings.warn(f"Model {spec!r} has {_RANDOM_WARNING}.", UserWarning, stacklevel=3)
        record.update(weights="random", weights_sha256=None, warning=_RANDOM_WARNING)
        identifier = f"{spec}:random"
    elif isinstance(weights, str) and weights == "default":
        checksum = state_sha256(model)
        record.update(weights="callable", weights_sha256=checksum, weights_checksum_of="state")
        identifier = f"{spec}:callable:sha256={checksum}"
    else:
        path = Path(weights)
        record.update(load_into(model, path, spec=spec))
        identifier = f"{spec}:file={path.name}:sha256={record['weights_sha256']}"
    record.update(model_options=dict(model_kwargs), preprocess_recipe=recipe)
    return model, preprocess, record, identifier


def load_model(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = "default",
    input_size: int | tuple[int, int] | str | None = "auto",
    resize: str = "whole",
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
    interpolation: str | None = None,
    device: str | torch.device = "cpu",
    **model_kwargs: Any,
) -> LoadedModel:
    """Build a classification network, load its weights offline, and give its preprocessing.

    Parameters
    ----------
    name : str
        A torchvision classification model, e.g. ``"vgg16"``, ``"vgg16_bn"``,
        ``"resnet50"``, ``"densenet121"``, ``"squeezenet1_1"``, ``"googlenet"``,
        ``"inception_v3"``, ``"mobilenet_v3_large"``, ``"efficientnet_b0"``,
        ``"convnext_tiny"``, ``"vit_b_16"`` (see :func:`available_models`); or a
        user's network as ``"package.module:callable"`` (imported from
        ``sys.path``) or ``"path/to/file.py:callable"``: the callable (a
        dotted attribute path is allowed) is called with ``**model_kwargs``
        and must return a ``torch.nn.Module``.
    weights : "default", str, path-like or None
        - ``"default"``: the model's default torchvision weights, read only
          from the local torch hub cache,
          ``torch.hub.get_dir()/checkpoints/<file name in the weights URL>``.
          Nothing is downloaded: a missing file raises ``FileNotFoundError``
          naming the expected path. For a user's model: the weights the
          callable gives it; the checksum is then that of its state dict.
        - a torchvision weights name such as ``"IMAGENET1K_V2"`` or
          ``"ResNet50_Weights.IMAGENET1K_V2"``: those weights, from the cache.
        - a path to a state-dict file (``.pth``/``.pt``), read with
          ``torch.load(weights_only=True)``; its sha256 is recorded. A
          checkpoint holding the state dict under ``"state_dict"``,
          ``"model_state_dict"`` or ``"model"``, and DataParallel's
          ``"module."`` key prefix, are accepted (and noted in provenance);
          torchvision's old DenseNet key names are renamed as its builder
          does.
        - ``None``: random initialisation. Warns (``UserWarning``), and the
          provenance says ``"weights": "random"`` with a ``"warning"``.

        A file whose name carries a sha256 prefix (torchvision's
        ``<name>-<hex>.pth``) is checked against it; a mismatch warns and is
        recorded in provenance.
    input_size : "auto", int, tuple of int or None
        Network input size: ``"auto"`` (default) is the crop size of the
        weights' own evaluation transform (e.g. 224, 299 for
        ``inception_v3``, 240 for ``efficientnet_b1``; for random or file
        weights, that of the model's default torchvision weights; 224 for a
        user's model); ``s`` for (s, s); ``(height, width)``; or ``None`` to
        keep each image's size.
    resize : {"whole", "center_crop"}
        ``"whole"`` (default) resizes the whole image to the input size, so
        that maps cover the whole stimulus. ``"center_crop"`` reproduces
        torchvision's evaluation recipe: shorter side to the weights'
        ``resize_size`` (scaled by input size / crop size), then the centre
        crop (see :meth:`Preprocess.input_region`).
    mean, std : tuple of 3 float, optional
        Per-channel normalisation on values in [0, 1]; default: the weights'
        own (ImageNet's for most; (0.5, 0.5, 0.5) for ``efficientnet_v2_l``).
    interpolation : {"bilinear", "bicubic", "nearest"}, optional
        Resampling filter; default: the weights' own (bicubic for most
        EfficientNets and SWAG weights, otherwise bilinear).
    device : str or torch.device
        Where the model lives, e.g. ``"cpu"`` or ``"cuda"``.
    **model_kwargs
        Passed to the torchvision builder (e.g. ``num_classes=10`` for a
        fine-tuned state dict) or to a user's callable. ``googlenet`` and
        ``inception_v3`` are built as torchvision's pretrained configuration
        for every weight source: ``transform_input=True`` (the released Google
        weights expect inputs in [-1, 1]; the model converts
        ImageNet-normalised input itself) and no auxiliary heads
        (``aux_logits=False``; they only run in training mode; a file that
        holds them loads and they are dropped). Pass these options to change
        that. Vision transformers take exactly their ``image_size``; with
        random or file weights a square ``input_size`` sets it.

    Returns
    -------
    LoadedModel
        The model in eval mode, its preprocessing, identifier and provenance
        (including ``preprocess_recipe``, the weights' own evaluation
        transform, and the effective ``model_options``).
    """
    options = {
        "input_size": input_size,
        "resize": resize,
        "mean": mean,
        "std": std,
        "interpolation": interpolation,
    }
    if ":" in name:
        model, preprocess, record, identifier = _load_user(
            name, weights, model_kwargs=model_kwargs, options=options
        )
    else:
        names = available_models()
        if name not in names:
            raise ValueError(
                "Invalid value for the 'name' parameter. Allowed values are "
                f"{', '.join(repr(n) for n in names)}, or 'module:callable' for a user's model, "
                f"but got {name!r} instead."
            )
        model, preprocess, record, identifier = _load_torchvision(
            name, weights, model_kwargs=model_kwargs, options=options
        )
    model = model.to(device).eval()
    provenance = {
        "model": name,
        **record,
        "preprocess": preprocess.describe(),
        "library_versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
    }
    return LoadedModel(
        model=model,
        preprocess=preprocess,
        identifier=identifier,
        provenance=MappingProxyType(provenance),
    )
