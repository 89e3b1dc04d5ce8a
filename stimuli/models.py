"""torchvision classifiers with weights from the local cache or a file, never downloaded."""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch
import torchvision
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LoadedModel",
    "Preprocess",
    "available_models",
    "load_model",
]

#: Per-channel (R, G, B) mean and standard deviation of ImageNet, on values in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_RANDOM_WARNING = (
    "randomly initialised weights (weights=None): attributions from this model do not "
    "reflect a trained network"
)
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


@dataclass(frozen=True)
class Preprocess:
    """Turn an RGB image into a normalised tensor for an ImageNet classifier.

    Parameters
    ----------
    size : tuple of int or None
        Network input size as ``(height, width)``. The *whole* image is
        resized to it (aspect ratio not kept, nothing cropped) so that the
        attribution map covers the whole stimulus; torchvision's own recipe
        (resize to 256, centre-crop 224) would cut off the borders. ``None``
        keeps the image's size. Resizing uses
        ``torch.nn.functional.interpolate(mode="bilinear", antialias=True,
        align_corners=False)`` on values in [0, 1], like torchvision's
        ``Resize`` on tensors.
    mean, std : tuple of float
        Per-channel (R, G, B) normalisation on values in [0, 1].
    """

    size: tuple[int, int] | None = (224, 224)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.size is not None and (
            len(self.size) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in self.size)
        ):
            raise ValueError(
                "Invalid value for the 'size' parameter: expected None or (height, width) as two "
                f"positive integers, but got {self.size!r} instead."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(
                "Preprocess mean and std must hold 3 values (R, G, B), std > 0; got "
                f"mean={self.mean!r}, std={self.std!r}."
            )

    def __call__(self, image: NDArray[np.uint8]) -> torch.Tensor:
        """Preprocess one image.

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3)
            RGB image, indexed ``[row, col, channel]``.

        Returns
        -------
        torch.Tensor of float32, shape (3, height, width)
            On the CPU; ``(height, width)`` is :attr:`size` (or the image's).
        """
        array = np.asarray(image)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                "Invalid value for the 'image' parameter: expected an RGB image of shape "
                f"(H, W, 3) and dtype uint8, but got shape {array.shape} and dtype {array.dtype}."
            )
        tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).float() / 255.0
        if self.size is not None and tuple(tensor.shape[1:]) != self.size:
            tensor = functional.interpolate(
                tensor[None], size=self.size, mode="bilinear", align_corners=False, antialias=True
            )[0]
        mean = torch.tensor(self.mean, dtype=tensor.dtype).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=tensor.dtype).view(3, 1, 1)
        return (tensor - mean) / std

    def batch(self, images: Iterable[NDArray[np.uint8]]) -> torch.Tensor:
        """Preprocess several images into one batch of shape (N, 3, height, width).

        With ``size=None`` all images must have the same size.
        """
        tensors = [self(image) for image in images]
        if not tensors:
            raise ValueError("The 'images' parameter is empty.")
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(
                f"Images of different sizes {sorted(shapes)} cannot form one batch: set a size."
            )
        return torch.stack(tensors)

    def describe(self) -> dict[str, Any]:
        """What this preprocessing does, for provenance records."""
        return {
            "size_hw": list(self.size) if self.size is not None else None,
            "resize": "whole image, torch bilinear with antialias, align_corners=False",
            "mean": list(self.mean),
            "std": list(self.std),
        }


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
        weights); the checksum is that of the weights file.
    provenance : Mapping
        Read-only record: model, weights, weights_sha256, weights_file,
        preprocess, library versions, and ``warning`` for random weights.
    """

    model: nn.Module
    preprocess: Preprocess
    identifier: str
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The torchvision model name, e.g. ``"resnet18"``."""
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
    """Names of the torchvision classification models that :func:`load_model` accepts."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _named_weights(name: str, weights: str) -> Any | None:
    """The torchvision weights enum member called ``weights`` (or "default"), else None."""
    enum = torchvision.models.get_model_weights(name)
    if weights == "default":
        return enum.DEFAULT
    short = weights.split(".", 1)[1] if weights.startswith(enum.__name__ + ".") else weights
    return enum.__members__.get(short)


def _cached_file(weights: Any) -> Path:
    filename = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _load_named(name: str, weights: Any, model_kwargs: dict[str, Any]) -> tuple[nn.Module, dict]:
    path = _cached_file(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"No cached weights for model '{name}' ({weights}): expected the file {path}. "
            "Nothing is downloaded at run time. On a machine with internet access, download "
            f"{weights.url} and copy it to that path (the folder is torch.hub.get_dir() + "
            "'/checkpoints'; set TORCH_HOME to move it), or pass weights=<path to a state-dict "
            "file>, or weights=None for random weights."
        )
    checksum = _sha256(path)
    record: dict[str, Any] = {
        "weights": str(weights),
        "weights_file": str(path),
        "weights_url": weights.url,
        "weights_sha256": checksum,
    }
    match = _HASH_IN_NAME.search(path.name)
    if match and not checksum.startswith(match.group(1)):
        message = (
            f"The weights file {path} does not match the checksum in its name "
            f"(sha256 {checksum[:12]}..., name says {match.group(1)}...): it may be truncated or "
            "a different file. Delete it and copy a fresh one if in doubt."
        )
        warnings.warn(message, stacklevel=3)
        record["warning"] = message
    # The file exists, so torchvision's builder reads it from the cache and downloads nothing;
    # the builder also applies model-specific fixes (key renames, input transforms).
    model = torchvision.models.get_model(name, weights=weights, **model_kwargs)
    return model, record


def _load_file(name: str, path: Path, model_kwargs: dict[str, Any]) -> tuple[nn.Module, dict]:
    if not path.is_file():
        raise FileNotFoundError(
            f"Invalid value for the 'weights' parameter: {str(path)!r} is neither 'default', "
            f"None, a torchvision weights name for '{name}', nor an existing state-dict file."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"Could not read the weights file {path}: {error}") from error
    if not isinstance(state, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        keys = list(state)[:5] if isinstance(state, Mapping) else type(state).__name__
        raise ValueError(
            f"The weights file {path} does not hold a state dict (parameter name -> tensor); "
            f"found {keys!r}. Save model.state_dict() (e.g. checkpoint['state_dict'])."
        )
    model = torchvision.models.get_model(name, weights=None, **model_kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"The weights file {path} does not fit model '{name}' "
            f"(model options {model_kwargs!r}): {error}"
        ) from error
    return model, {"weights": str(path), "weights_file": str(path), "weights_sha256": _sha256(path)}


def _input_size(input_size: Any) -> tuple[int, int] | None:
    if input_size is None:
        return None
    size = (input_size, input_size) if isinstance(input_size, int) else input_size
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)
    ):
        raise ValueError(
            "Invalid value for the 'input_size' parameter: expected None, a positive int or "
            f"(height, width), but got {input_size!r} instead."
        )
    return int(size[0]), int(size[1])


def load_model(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = "default",
    input_size: int | tuple[int, int] | None = 224,
    device: str | torch.device = "cpu",
    **model_kwargs: Any,
) -> LoadedModel:
    """Build a torchvision classification network and load its weights, offline.

    Parameters
    ----------
    name : str
        A torchvision classification model, e.g. ``"vgg16"``, ``"resnet50"``
        (see :func:`available_models`).
    weights : "default", str, path-like or None
        - ``"default"``: the model's default torchvision weights, read only
          from the local torch hub cache,
          ``torch.hub.get_dir()/checkpoints/<file name in the weights URL>``.
          Nothing is downloaded: a missing file raises ``FileNotFoundError``
          naming the expected path.
        - a torchvision weights name such as ``"IMAGENET1K_V2"`` or
          ``"ResNet50_Weights.IMAGENET1K_V2"``: those weights, from the cache.
        - a path to a state-dict file (``.pth``/``.pt``), read with
          ``torch.load(weights_only=True)``; its sha256 is recorded.
        - ``None``: random initialisation. Warns (``UserWarning``), and the
          provenance says ``"weights": "random"`` with a ``"warning"``.
    input_size : int, tuple of int or None
        Size the preprocessing resizes images to: ``s`` for (s, s), or
        ``(height, width)``, or ``None`` to keep each image's size.
    device : str or torch.device
        Where the model lives, e.g. ``"cpu"`` or ``"cuda"``.
    **model_kwargs
        Passed to the torchvision builder, e.g. ``num_classes=10`` for a
        fine-tuned state dict.

    Returns
    -------
    LoadedModel
        The model in eval mode, its preprocessing, identifier and provenance.
    """
    names = available_models()
    if name not in names:
        raise ValueError(
            "Invalid value for the 'name' parameter. Allowed values are "
            f"{', '.join(repr(n) for n in names)}, but got {name!r} instead."
        )
    preprocess = Preprocess(size=_input_size(input_size))
    if weights is None:
        warnings.warn(f"Model '{name}' has {_RANDOM_WARNING}.", UserWarning, stacklevel=2)
        model = torchvision.models.get_model(name, weights=None, **model_kwargs)
        record: dict[str, Any] = {
            "weights": "random",
            "weights_sha256": None,
            "warning": _RANDOM_WARNING,
        }
        identifier = f"{name}:random"
    else:
        named = _named_weights(name, weights) if isinstance(weights, str) else None
        if named is not None:
            model, record = _load_named(name, named, model_kwargs)
            tag = str(named).split(".", 1)[1]
        else:
            model, record = _load_file(name, Path(weights), model_kwargs)
            tag = f"file={Path(weights).name}"
        identifier = f"{name}:{tag}:sha256={record['weights_sha256']}"
    model = model.to(device).eval()
    provenance = {
        "model": name,
        "model_source": "torchvision",
        **record,
        "model_options": dict(model_kwargs),
        "preprocess": preprocess.describe(),
        "library_versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
    }
    return LoadedModel(
        model=model,
        preprocess=preprocess,
        identifier=identifier,
        provenance=MappingProxyType(provenance),
    )
