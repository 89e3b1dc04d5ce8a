"""Image -> network input: resize the whole image (or resize and centre-crop), then normalise."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.nn import functional

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "INTERPOLATIONS", "RESIZE_MODES", "Preprocess"]

#: Per-channel (R, G, B) mean and standard deviation of ImageNet, on values in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Resampling filters, as torchvision's ``InterpolationMode`` values.
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")

#: How the image becomes the network's input (see :class:`Preprocess`).
RESIZE_MODES = ("whole", "center_crop")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class Preprocess:
    """Turn an RGB image into a normalised tensor for an ImageNet classifier.

    Parameters
    ----------
    size : tuple of int or None
        Network input size as ``(height, width)``; ``None`` keeps the image's
        size (only with ``resize_size=None``).
    mean, std : tuple of float
        Per-channel (R, G, B) normalisation on values in [0, 1].
    interpolation : {"bilinear", "bicubic", "nearest"}
        Resampling filter, from the weights' own recipe (e.g. bicubic for
        most EfficientNets). Bilinear and bicubic use
        ``torch.nn.functional.interpolate(antialias=True, align_corners=False)``,
        like torchvision's ``Resize`` on tensors; bicubic results are clamped
        to [0, 1], as resampling 8-bit images does.
    resize_size : int or None
        ``None`` (default): the *whole* image is resized to ``size`` (aspect
        ratio not kept, nothing cropped), so that an attribution map covers
        the whole stimulus. An int: torchvision's evaluation recipe, i.e. the
        shorter side is resized to ``resize_size`` (the longer one to
        ``int(resize_size * long / short)``) and the centre ``size`` is cropped
        (top-left corner at ``round((resized - size) / 2)``); the map then
        covers only :meth:`input_region` of the image.
    """

    size: tuple[int, int] | None = (224, 224)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"
    resize_size: int | None = None

    def __post_init__(self) -> None:
        if self.size is not None and (
            not isinstance(self.size, (tuple, list))
            or len(self.size) != 2
            or not all(_positive_int(n) for n in self.size)
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
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                "Invalid value for the 'interpolation' parameter. Allowed values are "
                f"{', '.join(map(repr, INTERPOLATIONS))}, but got {self.interpolation!r} instead."
            )
        if self.resize_size is not None:
            if not _positive_int(self.resize_size):
                raise ValueError(
                    "Invalid value for the 'resize_size' parameter: expected None or a positive "
                    f"int, but got {self.resize_size!r} instead."
                )
            if self.size is None or self.resize_size < max(self.size):
                raise ValueError(
                    f"resize_size={self.resize_size} needs a crop size no larger than it, but "
                    f"got size={self.size!r}."
                )

    def _resample(self, tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if tuple(tensor.shape[-2:]) == size:
            return tensor
        if self.interpolation == "nearest":
            return functional.interpolate(tensor[None], size=size, mode="nearest")[0]
        resized = functional.interpolate(
            tensor[None], size=size, mode=self.interpolation, align_corners=False, antialias=True
        )[0]
        return resized.clamp_(0.0, 1.0) if self.interpolation == "bicubic" else resized

    def _crop_box(self, height: int, width: int) -> tuple[tuple[int, int], int, int]:
        """Resized shape and crop origin of torchvision's recipe (``resize_size`` set)."""
        resize_size, size = self.resize_size or 0, self.size or (0, 0)
        short, long = sorted((height, width))
        new_long = int(resize_size * long / short)
        resized = (resize_size, new_long) if height <= width else (new_long, resize_size)
        top = round((resized[0] - size[0]) / 2.0)
        left = round((resized[1] - size[1]) / 2.0)
        return resized, top, left

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
        if self.size is not None and self.resize_size is None:
            tensor = self._resample(tensor, self.size)
        elif self.size is not None:
            resized, top, left = self._crop_box(*array.shape[:2])
            tensor = self._resample(tensor, resized)
            tensor = tensor[:, top : top + self.size[0], left : left + self.size[1]]
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

    def input_region(self, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
        """The part of an image that the network sees, in the image's pixels.

        Parameters
        ----------
        shape : tuple of int
            The image's shape, ``(H, W)`` or ``(H, W, 3)``.

        Returns
        -------
        tuple of float
            ``(top, left, bottom, right)`` as pixel *edges* (the whole image is
            ``(0, 0, H, W)``), so an attribution map of :attr:`size` belongs at
            rows ``top..bottom`` and columns ``left..right`` of the image.
        """
        height, width = int(shape[0]), int(shape[1])
        if self.resize_size is None or self.size is None:
            return 0.0, 0.0, float(height), float(width)
        resized, top, left = self._crop_box(height, width)
        scale_y, scale_x = height / resized[0], width / resized[1]
        return (
            top * scale_y,
            left * scale_x,
            (top + self.size[0]) * scale_y,
            (left + self.size[1]) * scale_x,
        )

    def describe(self) -> dict[str, Any]:
        """What this preprocessing does, for provenance records."""
        if self.resize_size is None:
            resize = "whole image to size_hw"
        else:
            resize = f"shorter side to {self.resize_size}, centre crop size_hw (torchvision)"
        return {
            "size_hw": list(self.size) if self.size is not None else None,
            "resize": resize,
            "resize_size": self.resize_size,
            "interpolation": self.interpolation,
            "antialias": self.interpolation != "nearest",
            "mean": list(self.mean),
            "std": list(self.std),
        }


def scaled_resize_size(resize_size: int, crop_size: int, size: tuple[int, int]) -> int:
    """torchvision's resize/crop ratio carried over to another input size."""
    return max(max(size), round(resize_size * max(size) / crop_size))


def finite_triplet(name: str, value: Any) -> tuple[float, float, float]:
    try:
        triplet = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        triplet = ()
    if len(triplet) != 3 or not all(math.isfinite(v) for v in triplet):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected 3 finite numbers (R, G, B), "
            f"but got {value!r} instead."
        )
    return triplet[0], triplet[1], triplet[2]
