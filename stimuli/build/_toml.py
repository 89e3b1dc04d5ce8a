"""Reading a build configuration from TOML (private to ``stimuli.build``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._check import check_config
from ._config import (
    BuildConfig,
    BuildConfigError,
    ConditionSpec,
    MapOptions,
    MethodSpec,
    ModelSpec,
    RenderOptions,
)

__all__ = ["load_build_config"]

_SECTIONS = {
    "input": ("images", "labels"),
    "output": ("path", "png_dir"),
    "run": ("batch_size", "device", "seed", "autocast"),
    "maps": ("reduce", "smooth_sigma_px", "clip_percentile", "normalize", "size"),
    "render": ("background", "greyscale", "size", "blend", "backward_masks"),
    "models": ("model", "name", "weights", "input_size", "resize", "target", "options"),
    "methods": ("method", "name", "layer", "options", "maps"),
    "conditions": (
        "name",
        "source",
        "mask",
        "mask_options",
        "control",
        "control_options",
        "match_coverage",
        "render",
    ),
}
_LISTS = ("models", "methods", "conditions")
_MISSING = object()


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise BuildConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise BuildConfigError(f"{path}: not valid TOML: {error}") from None


def _keys(table: Any, section: str, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise BuildConfigError(f"{where}: expected a table, got {table!r}")
    allowed = _SECTIONS[section]
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise BuildConfigError(
            f"{where}: unknown key {unknown[0]!r}. Allowed keys are {sorted(allowed)}."
        )
    return dict(table)


def _value(table: dict[str, Any], key: str, where: str, kinds: tuple[type, ...], what: str) -> Any:
    value = table.get(key, _MISSING)
    if value is _MISSING:
        return _MISSING
    bad_bool = isinstance(value, bool) and bool not in kinds
    if not isinstance(value, kinds) or bad_bool:
        raise BuildConfigError(f"{where} {key}: expected {what}, got {value!r}")
    return value


def _set(target: dict[str, Any], name: str, value: Any) -> None:
    if value is not _MISSING:
        target[name] = value


def _path(value: Any, base: Path) -> Any:
    if value is _MISSING:
        return _MISSING
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _required(value: Any, where: str, key: str) -> Any:
    if value is _MISSING:
        raise BuildConfigError(f"{where}: missing key {key!r}")
    return value


def _model(table: dict[str, Any], where: str) -> ModelSpec:
    values: dict[str, Any] = {
        "model": _required(_value(table, "model", where, (str,), "a model name"), where, "model")
    }
    _set(values, "name", _value(table, "name", where, (str,), "a string"))
    weights = _value(table, "weights", where, (str,), "'default', 'none', a name or a file")
    _set(values, "weights", None if weights == "none" else weights)
    size = _value(table, "input_size", where, (str, int, list), "'auto', an integer or [h, w]")
    if isinstance(size, str) and size != "auto":
        raise BuildConfigError(
            f"{where} input_size: expected 'auto', an integer or [h, w], got {size!r}"
        )
    if isinstance(size, list):
        if len(size) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in size):
            raise BuildConfigError(f"{where} input_size: expected [height, width], got {size!r}")
        size = (size[0], size[1])
    _set(values, "input_size", size)
    target = _value(table, "target", where, (str, int), "'predicted' or a class index")
    if isinstance(target, str) and target != "predicted":
        raise BuildConfigError(
            f"{where} target: expected 'predicted' or a class index, got {target!r}"
        )
    _set(values, "target", None if target == "predicted" else target)
    _set(values, "resize", _value(table, "resize", where, (str,), "'whole' or 'center_crop'"))
    _set(values, "options", _value(table, "options", where, (dict,), "a table"))
    return ModelSpec(**values)


def _method(table: dict[str, Any], where: str) -> MethodSpec:
    what = "a method name"
    values: dict[str, Any] = {
        "method": _required(_value(table, "method", where, (str,), what), where, "method")
    }
    _set(values, "name", _value(table, "name", where, (str,), "a string"))
    _set(values, "layer", _value(table, "layer", where, (str, dict), "a module name or table"))
    _set(values, "options", _value(table, "options", where, (dict,), "a table"))
    maps = _value(table, "maps", where, (dict,), "a table of to_map options")
    if maps is not _MISSING:
        maps = _map_values(maps)
        if isinstance(maps.get("size"), list):
            maps["size"] = tuple(maps["size"])
    _set(values, "maps", maps)
    return MethodSpec(**values)


def _map_values(table: dict[str, Any]) -> dict[str, Any]:
    """to_map options as TOML writes them: "none" for no normalisation, lists for sizes."""
    values = dict(table)
    if values.get("normalize") == "none":
        values["normalize"] = None
    return values


def _condition(table: dict[str, Any], where: str) -> ConditionSpec:
    values: dict[str, Any] = {}
    for key in ("name", "source", "mask"):
        values[key] = _required(_value(table, key, where, (str,), "a string"), where, key)
    for key in ("mask_options", "control_options"):
        _set(values, key, _value(table, key, where, (dict,), "a table"))
    _set(values, "control", _value(table, "control", where, (str,), "a string"))
    what = "the name of an earlier condition"
    _set(values, "match_coverage", _value(table, "match_coverage", where, (str,), what))
    _set(values, "render", _value(table, "render", where, (bool,), "true or false"))
    return ConditionSpec(**values)


def _options(table: dict[str, Any], where: str, cls: type, kinds: dict[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for key, (types, what) in kinds.items():
        value = _value(table, key, where, types, what)
        if isinstance(value, list):
            value = tuple(value)
        _set(values, key, value)
    return cls(**values)


def load_build_config(path: str | os.PathLike[str]) -> BuildConfig:
    """Load and validate a build configuration (TOML).

    Sections: ``[input]`` (images, labels), ``[output]`` (path, png_dir),
    ``[run]`` (batch_size, device, seed), ``[maps]`` (to_map options and
    size), ``[[models]]``, ``[[methods]]``, ``[[conditions]]`` and
    ``[render]``; see ``configs/stimuli_build.toml`` for every key. Relative
    paths are taken relative to the configuration file's folder.

    Raises
    ------
    BuildConfigError
        Naming the file, the section and key, the allowed values and what
        was given.
    """
    path = Path(path)
    table = _read(path)
    where = str(path)
    unknown = sorted(set(table) - set(_SECTIONS))
    if unknown:
        raise BuildConfigError(
            f"{where}: unknown section [{unknown[0]}]. Allowed sections are {sorted(_SECTIONS)}."
        )
    sections: dict[str, Any] = {}
    for name in _SECTIONS:
        if name in _LISTS:
            entries = table.get(name, [])
            if not isinstance(entries, list):
                raise BuildConfigError(f"{where}: [{name}] must be an array of tables [[{name}]]")
            sections[name] = [
                _keys(entry, name, f"{where}: [{name}][{i}]") for i, entry in enumerate(entries)
            ]
        else:
            sections[name] = _keys(table.get(name, {}), name, f"{where}: [{name}]")
    base = path.parent
    inputs, output, run = sections["input"], sections["output"], sections["run"]
    images = _value(inputs, "images", f"{where}: [input]", (str,), "a folder path")
    out = _value(output, "path", f"{where}: [output]", (str,), "a file path")
    values: dict[str, Any] = {
        "images": _path(_required(images, f"{where}: [input]", "images"), base),
        "out": _path(_required(out, f"{where}: [output]", "path"), base),
        "models": tuple(
            _model(t, f"{where}: [models][{i}]") for i, t in enumerate(sections["models"])
        ),
        "methods": tuple(
            _method(t, f"{where}: [methods][{i}]") for i, t in enumerate(sections["methods"])
        ),
        "conditions": tuple(
            _condition(t, f"{where}: [conditions][{i}]")
            for i, t in enumerate(sections["conditions"])
        ),
        "path": path,
    }
    _set(
        values,
        "labels",
        _path(_value(inputs, "labels", f"{where}: [input]", (str,), "a file path"), base),
    )
    _set(
        values,
        "png_dir",
        _path(_value(output, "png_dir", f"{where}: [output]", (str,), "a folder path"), base),
    )
    for key, what in (("batch_size", "an integer"), ("seed", "an integer")):
        _set(values, key, _value(run, key, f"{where}: [run]", (int,), what))
    _set(values, "device", _value(run, "device", f"{where}: [run]", (str,), "a device name"))
    what = "'bf16' or 'fp16'"
    _set(values, "autocast", _value(run, "autocast", f"{where}: [run]", (str,), what))
    size = ((str, list), "'image', 'input' or [height, width]")
    number = ((int, float), "a number")
    values["maps"] = _options(
        _map_values(sections["maps"]),
        f"{where}: [maps]",
        MapOptions,
        {
            "reduce": ((str,), "a reduction name"),
            "smooth_sigma_px": number,
            "clip_percentile": number,
            "normalize": ((str, type(None)), "a normalisation name"),
            "size": size,
        },
    )
    values["render"] = _options(
        sections["render"],
        f"{where}: [render]",
        RenderOptions,
        {
            "background": ((str, int, float, list), "a name, a pixel value or [R, G, B]"),
            "greyscale": ((bool,), "true or false"),
            "size": ((str, list), "'image' or [height, width]"),
            "blend": ((str,), "'srgb' or 'linear'"),
            "backward_masks": ((bool,), "true or false"),
        },
    )
    config = BuildConfig(**values)
    check_config(config, f"{where}:")
    return config
