"""Checks of a build configuration beyond its types, with messages naming file and key."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from selectivity.config import ConfigError

from ._config import (
    BACKGROUNDS,
    CONTROLS,
    BuildConfig,
    MapOptions,
)
from ..stimulus_set._store import check_name, check_name_conflicts
from ..maps import NORMALIZATIONS, REDUCTIONS

__all__ = ["check_config"]

_BLENDS = ("srgb", "linear")
_CONTROL_OPTIONS = ("seed", "sigma_frac", "iterations")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _choice(value: Any, allowed: Any, where: str) -> None:
    # a list, not ``allowed`` itself: a TOML list or table is unhashable, and ``in`` on a dict
    # of choices would raise TypeError for it instead of naming the key
    if value not in list(allowed):
        raise _fail(
            where,
            f"invalid value. Allowed values are {list(allowed)}, but got {value!r} instead.",
        )


def _size(value: Any, where: str, named: tuple[str, ...]) -> str | tuple[int, int]:
    if isinstance(value, str) and value in named:
        return value
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
    ):
        return (int(value[0]), int(value[1]))
    allowed = "".join(f"{n!r} or " for n in named)
    raise _fail(where, f"expected {allowed}[height, width] in pixels > 0, got {value!r}")


def check_config(config: BuildConfig, where: str) -> None:
    """Check what the dataclass types cannot; raise a ``ConfigError`` naming the key."""
    from ..attribution import ATTRIBUTION_METHODS

    if not config.models:
        raise _fail(where, "no models: give at least one [[models]] entry (--model)")
    if not config.methods:
        raise _fail(where, "no methods: give at least one [[methods]] entry (--method)")
    if not isinstance(config.batch_size, int) or config.batch_size < 1:
        raise _fail(f"{where} [run] batch_size", f"must be 1 or more, got {config.batch_size!r}")
    if not isinstance(config.device, str) or not _DEVICE.match(config.device):
        raise _fail(
            f"{where} [run] device",
            f"expected 'cpu', 'cuda' or 'cuda:<n>', but got {config.device!r} instead",
        )
    if config.autocast is not None:
        _choice(config.autocast, ("bf16", "fp16"), f"{where} [run] autocast")
    if not isinstance(config.seed, int) or config.seed < 0:
        raise _fail(f"{where} [run] seed", f"must be an integer >= 0, got {config.seed!r}")
    _map_options(dataclasses.asdict(config.maps), f"{where} [maps]")
    prefixes = [m.prefix for m in config.models]
    suffixes = [k.suffix for k in config.methods]
    from ..models import available_models

    names = available_models()
    for index, model in enumerate(config.models):
        at = f"{where} [models][{index}]"
        if ":" not in model.model and model.model not in names:
            raise _fail(
                f"{at} model",
                f"invalid value. Allowed values are {names}, or 'module:callable' for your own "
                f"model, but got {model.model!r} instead.",
            )
        if model.target is not None and (not isinstance(model.target, int) or model.target < 0):
            raise _fail(
                f"{at} target", f"expected 'predicted' or a class index >= 0, got {model.target!r}"
            )
        _name(prefixes[index], f"{at} name")
        _choice(model.resize, ("whole", "center_crop"), f"{at} resize")
        size = model.input_size
        if size != "auto":
            _size(size if not isinstance(size, int) else (size, size), f"{at} input_size", ())
    for index, method in enumerate(config.methods):
        at = f"{where} [methods][{index}]"
        _choice(method.method, ATTRIBUTION_METHODS, f"{at} method")
        spec = ATTRIBUTION_METHODS[method.method]
        unknown = sorted(set(method.options) - set(spec.options))
        if unknown:
            raise _fail(
                f"{at} options",
                f"unknown option {unknown[0]!r} for method {method.method!r}. Allowed options "
                f"are {list(spec.options)}.",
            )
        if spec.layer == "unused" and method.layer is not None:
            raise _fail(f"{at} layer", f"method {method.method!r} takes no layer")
        if isinstance(method.layer, Mapping):
            extra = sorted(set(method.layer) - set(prefixes))
            if extra:
                raise _fail(
                    f"{at} layer",
                    f"names model {extra[0]!r}, which is not a model of this build; models "
                    f"are {prefixes}",
                )
        if spec.layer == "required" and any(method.layer_for(p) is None for p in prefixes):
            raise _fail(f"{at} layer", f"method {method.method!r} needs a layer for every model")
        _name(suffixes[index], f"{at} name")
        _map_options({**dataclasses.asdict(config.maps), **dict(method.maps)}, f"{at} maps")
    sources = [source for _, _, source in config.sources()]
    try:
        check_name_conflicts(sources, existing=[], kind="maps")
    except ValueError as error:
        raise _fail(f"{where} [models]/[methods] name", str(error)) from None
    _check_conditions(config, where, sources)


def _name(value: str, where: str) -> None:
    if "/" in value:
        raise _fail(where, f"must not contain '/', got {value!r}")
    try:
        check_name(value)
    except ValueError as error:
        raise _fail(where, str(error)) from None


def _map_options(options: Mapping[str, Any], where: str) -> None:
    allowed = {f.name for f in dataclasses.fields(MapOptions)}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r}. Allowed keys are {sorted(allowed)}.")
    _choice(options["reduce"], REDUCTIONS, f"{where} reduce")
    _choice(options["normalize"], NORMALIZATIONS, f"{where} normalize")
    sigma = options["smooth_sigma_px"]
    if not _number(sigma) or sigma < 0:
        raise _fail(f"{where} smooth_sigma_px", f"expected a number >= 0, got {sigma!r}")
    clip = options["clip_percentile"]
    if clip is not None and not (_number(clip) and 0 < clip <= 100):
        raise _fail(f"{where} clip_percentile", f"expected a number in (0, 100], got {clip!r}")
    _size(options["size"], f"{where} size", ("image", "input"))


def _number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_conditions(config: BuildConfig, where: str, sources: list[str]) -> None:
    from ._masks import mask_kinds, masks_available

    if (config.conditions or config.render.backward_masks) and not masks_available():
        raise _fail(
            f"{where} [conditions]",
            "masks and rendered stimuli need the modules stimuli.masks and stimuli.render, "
            "which this installation lacks",
        )
    kinds = mask_kinds()
    names = []
    for index, condition in enumerate(config.conditions):
        at = f"{where} [conditions][{index}]"
        try:
            check_name(condition.name, "masks")
        except ValueError as error:
            raise _fail(f"{at} name", str(error)) from None
        names.append(condition.name)
        _choice(condition.source, sources, f"{at} source")
        if kinds is not None:
            _choice(condition.mask, kinds, f"{at} mask")
        _choice(condition.control, CONTROLS, f"{at} control")
        unknown = sorted(set(condition.control_options) - set(_CONTROL_OPTIONS))
        if unknown:
            raise _fail(
                f"{at} control_options",
                f"unknown key {unknown[0]!r}. Allowed keys are {list(_CONTROL_OPTIONS)}.",
            )
        if condition.match_coverage is not None:
            _choice(condition.match_coverage, names[:-1], f"{at} match_coverage")
            if "coverage" in condition.mask_options:
                raise _fail(f"{at} match_coverage", "give match_coverage or a coverage option")
    if config.render.backward_masks:
        names.append("backward_mask")
    try:
        check_name_conflicts(names, existing=[], kind="masks")
    except ValueError as error:
        raise _fail(f"{where} [conditions] name", str(error)) from None
    _background(config.render.background, f"{where} [render] background")
    _choice(config.render.blend, _BLENDS, f"{where} [render] blend")
    _size(config.render.size, f"{where} [render] size", ("image",))


def _background(value: Any, where: str) -> None:
    if isinstance(value, str):
        _choice(value, BACKGROUNDS, where)
        return
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(values) not in (1, 3) or not all(_number(v) and 0 <= v <= 255 for v in values):
        raise _fail(
            where,
            f"expected one of {list(BACKGROUNDS)}, a pixel value in [0, 255] or [R, G, B], "
            f"but got {value!r} instead",
        )
