"""What a stimulus-set build does: frozen dataclasses, loaded from TOML and validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from selectivity.config import ConfigError, is_file_reference, setting, to_record

__all__ = [
    "CONTROLS",
    "BuildConfig",
    "BuildConfigError",
    "ConditionSpec",
    "MapOptions",
    "MethodSpec",
    "ModelSpec",
    "RenderOptions",
]

#: Controls a condition can apply to its map before making the mask: ``"none"`` (the
#: image's own map) or a kind of :func:`stimuli.masks.control_maps`: ``"permuted"``
#: (the next image's map in table order), ``"random_smooth"`` (a random map as smooth as
#: the image's, seeded per image), ``"center_bias"``, ``"inverted"``, ``"rotated"``.
CONTROLS = ("none", "permuted", "random_smooth", "center_bias", "inverted", "rotated")
#: Named backgrounds of rendered stimuli (see :func:`stimuli.render.render`).
BACKGROUNDS = ("grey", "black", "white", "mean", "mean_rgb")


#: The one configuration error (:class:`selectivity.config.ConfigError`) under its old name.
BuildConfigError = ConfigError


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _map_values(table: Mapping[str, Any]) -> dict[str, Any]:
    """to_map options as TOML writes them: "none" for no normalisation, lists for sizes."""
    values = dict(table)
    if values.get("normalize") == "none":
        values["normalize"] = None
    if isinstance(values.get("size"), list):
        values["size"] = tuple(values["size"])
    return values


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A network whose maps are computed.

    Attributes
    ----------
    model : str
        torchvision model name (``"resnet18"``) or ``"module:callable"``.
    name : str or None
        First part of the map sources (``"<name>/<method>"``); default the model name.
    weights : str or None
        ``"default"`` (torchvision weights from the local torch cache), a
        torchvision weights name, a state-dict file, or None (random
        initialisation from the build's seed, recorded in the provenance;
        ``"none"`` in TOML). In a file, a value that
        :func:`selectivity.config.is_file_reference` calls a file is relative
        to the file's folder.
    input_size : "auto", int or tuple of int
        Network input size: the weights' own (``"auto"``), ``s`` or
        ``(height, width)``.
    resize : str
        ``"whole"`` (the whole image to the input size) or ``"center_crop"``
        (torchvision's recipe; maps then cover the cropped region only, and
        are zero outside it at ``size="image"``).
    target : int or None
        Class explained in every image; None (``"predicted"`` in TOML): each
        image's predicted class.
    options : mapping
        Passed to the model's builder (e.g. ``num_classes``).
    """

    model: str
    name: str | None = None
    weights: str | None = dataclasses.field(
        default="default", metadata=setting(none="none", path_if=is_file_reference)
    )
    input_size: Literal["auto"] | int | tuple[int, int] = "auto"
    resize: str = "whole"
    target: int | None = dataclasses.field(default=None, metadata=setting(none="predicted"))
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen(self.options))

    @property
    def prefix(self) -> str:
        """First part of this model's map sources."""
        return self.name or self.model.replace(":", ".")


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """An attribution method run on every model.

    Attributes
    ----------
    method : str
        A key of ``stimuli.ATTRIBUTION_METHODS``.
    name : str or None
        Second part of the map sources; default the method (give one to run
        a method twice with different options).
    layer : str, mapping or None
        Module name for layer methods, the same for every model, or a
        mapping model prefix -> module name; None: the method's default.
    options : mapping
        Method options (``ATTRIBUTION_METHODS[method].options``).
    maps : mapping
        :func:`stimuli.to_map` options replacing the build's ``[maps]`` ones.
    """

    method: str
    name: str | None = None
    layer: str | Mapping[str, str] | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    maps: Mapping[str, Any] = dataclasses.field(
        default_factory=dict, metadata=setting(convert=_map_values)
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen(self.options))
        object.__setattr__(self, "maps", _frozen(self.maps))
        if isinstance(self.layer, Mapping):
            object.__setattr__(self, "layer", _frozen(self.layer))

    @property
    def suffix(self) -> str:
        """Second part of this method's map sources."""
        return self.name or self.method

    def layer_for(self, prefix: str) -> str | None:
        """The layer for the model with source prefix ``prefix``."""
        if isinstance(self.layer, Mapping):
            return self.layer.get(prefix)
        return self.layer


@dataclasses.dataclass(frozen=True)
class MapOptions:
    """:func:`stimuli.to_map` options, and the size maps are stored at.

    ``size`` is ``"image"`` (each image's own size, the default), ``"input"``
    (the network's input size) or ``(height, width)``.
    """

    reduce: str = "abs_sum"
    smooth_sigma_px: float = 0.0
    clip_percentile: float | None = None
    normalize: str | None = dataclasses.field(default="minmax", metadata=setting(none="none"))
    size: str | tuple[int, int] = "image"


@dataclasses.dataclass(frozen=True)
class ConditionSpec:
    """A stimulus condition: a mask made from a map (or a control), and its rendering.

    Attributes
    ----------
    name : str
        Condition name (``/masks/<name>``, ``/rendered/<name>``).
    source : str
        The map source the masks come from, e.g. ``"resnet18/gradient"``.
    mask : str
        ``make_mask`` kind.
    mask_options : mapping
        Further ``make_mask`` options (coverage, feathering, ...).
    control : str
        One of :data:`CONTROLS`.
    control_options : mapping
        Options of the control (e.g. a seed or sigma).
    match_coverage : str or None
        Another condition, listed earlier, whose mask coverage (mean) this
        condition's masks get, image by image (``make_mask(coverage=...)``):
        a control then reveals as much of each image as the original.
    render : bool
        Also store the rendered stimulus (else only the mask).
    """

    name: str
    source: str
    mask: str
    mask_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    control: str = "none"
    control_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    match_coverage: str | None = None
    render: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask_options", _frozen(self.mask_options))
        object.__setattr__(self, "control_options", _frozen(self.control_options))


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """How masked stimuli are rendered.

    ``background`` is a name (``"grey"``, ``"black"``, ``"white"``,
    ``"mean"`` luminance, ``"mean_rgb"``), a pixel value in [0, 255] or an
    (R, G, B) triple; ``size`` is ``"image"`` (the image's size) or
    ``(height, width)``, the presentation size; ``blend`` is ``"srgb"`` (mix
    pixel values, as the published paradigms) or ``"linear"`` (mix light);
    ``backward_masks`` adds a phase-scrambled backward mask per image as the
    rendered condition ``"backward_mask"``.
    """

    background: str | float | tuple[float, float, float] = "grey"
    greyscale: bool = False
    size: str | tuple[int, int] = "image"
    blend: str = "srgb"
    backward_masks: bool = False


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """A whole build: images in, stimulus set (and optionally PNG files) out.

    Attributes
    ----------
    images : Path
        Folder of ``.jpg``/``.jpeg``/``.png`` images; ids are the file names
        without extension.
    out : Path
        The stimulus-set file written.
    models, methods : tuple
        Every method runs on every model; sources are ``<model>/<method>``.
    labels : Path or None
        CSV with columns ``id`` (file name or id) and ``label``.
    maps : MapOptions
        Default :func:`stimuli.to_map` options.
    conditions : tuple of ConditionSpec
        Masks and rendered stimuli to make from the maps.
    render : RenderOptions
        How rendered stimuli look.
    png_dir : Path or None
        Export the images and rendered stimuli as PNG files there.
    batch_size : int
        Images per batch (the memory bound).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:<n>"``; under ``torchrun`` with
        ``"cuda"``, rank r uses ``cuda:<LOCAL_RANK>``.
    seed : int
        Seeds random weights, stochastic methods and random controls.
    autocast : {"bf16", "fp16"} or None
        Forward passes under ``torch.autocast`` with this dtype (GPU).
    path : Path or None
        The configuration file, when loaded from one.
    """

    images: Path = dataclasses.field(metadata=setting(section="input"))
    out: Path = dataclasses.field(metadata=setting(section="output", key="path"))
    models: tuple[ModelSpec, ...]
    methods: tuple[MethodSpec, ...]
    labels: Path | None = dataclasses.field(default=None, metadata=setting(section="input"))
    maps: MapOptions = dataclasses.field(default_factory=MapOptions)
    conditions: tuple[ConditionSpec, ...] = ()
    render: RenderOptions = dataclasses.field(default_factory=RenderOptions)
    png_dir: Path | None = dataclasses.field(default=None, metadata=setting(section="output"))
    batch_size: int = dataclasses.field(default=16, metadata=setting(section="run"))
    device: str = dataclasses.field(default="cpu", metadata=setting(section="run"))
    seed: int = dataclasses.field(default=0, metadata=setting(section="run"))
    autocast: str | None = dataclasses.field(default=None, metadata=setting(section="run"))
    path: Path | None = dataclasses.field(default=None, metadata=setting(file=True))

    def sources(self) -> list[tuple[ModelSpec, MethodSpec, str]]:
        """Every (model, method, source name) the build computes, models outermost."""
        return [(m, k, f"{m.prefix}/{k.suffix}") for m in self.models for k in self.methods]

    def to_map_options(self, method: MethodSpec) -> dict[str, Any]:
        """The :func:`stimuli.to_map` options of ``method`` (``size`` included)."""
        return {**dataclasses.asdict(self.maps), **dict(method.maps)}

    def describe(self) -> dict[str, Any]:
        """A JSON-ready record of the configuration."""
        record: dict[str, Any] = to_record(self)
        return record
