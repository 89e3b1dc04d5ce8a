"""The one configuration mechanism: TOML files read into frozen dataclasses and validated on load.

A configuration is a frozen dataclass; its fields, their types and their defaults are the
schema, declared once. :func:`load_toml` reads a file and :func:`from_table` turns a parsed
table into the dataclass, walking the fields:

=============================  ==============================================================
field type                     TOML value
=============================  ==============================================================
``bool``                       ``true`` / ``false``
``int``                        an integer (not a boolean)
``float``                      an integer or a finite float (stored as float)
``str``                        a string
``Path``                       a non-empty string, see *Paths* below
``Literal["a", "b"]``          one of the listed values
``tuple[int, int]``            a list of exactly that many items, each converted
``tuple[X, ...]``              a list of any length, each item converted
``Mapping[str, Any]``          a free table, passed on as given (read-only)
a dataclass                    a section ``[name]`` (left out: every key takes its default)
``tuple[<dataclass>, ...]``    an array of tables ``[[name]]``
``X | Y``                      the first member that fits, in the order written
``X | None``                   ``X``; None only as the default, or spelled ``setting(none=...)``
``Any``                        anything, unchanged
=============================  ==============================================================

:func:`setting` adds to a field (as its ``metadata``): allowed values (``choices``), numeric
ranges (``gt``, ``ge``, ``lt``, ``le``; for a tuple, each item), a minimum length, the string
that stands for None, a section and key under which a flat dataclass field is written in the
file (``section="run"``), a conversion applied after the type's, and ``file=True`` for
the field that receives the path of the file itself. A dataclass may define
``validate(self, at: Location) -> None`` for checks across fields; the loader calls it after
building the instance, and it raises ``at.error(key, message)``.

Paths (one rule for every file): ``~`` is expanded, and a relative path is relative to the
folder of the file that names it; a relative default is relative to the file that could have
named it. A string field is a path only where its :func:`setting` says ``path_if``: model
weights are a file when :func:`is_file_reference` holds, else a name (``"default"``, ...).

Every mistake raises the one :class:`ConfigError`, whose message names the file, the section
and key, what is allowed and what was given::

    lab.toml: [tracker] kind: invalid value. Allowed values are ['eyelink', 'simulated',
    'none'], but got 'tobii' instead.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import UserError, utf8_text

__all__ = [
    "ConfigError",
    "Location",
    "Setting",
    "choice_message",
    "from_table",
    "is_file_reference",
    "load_toml",
    "read_toml",
    "resolve_path",
    "setting",
    "to_record",
]

_T = TypeVar("_T")
_METADATA = "selectivity.config"
#: File endings that make a string setting such as ``weights`` a file rather than a name.
_FILE_SUFFIXES = (".pth", ".pt")


class ConfigError(UserError, ValueError):
    """A configuration is wrong: the message names the file, the key, what is allowed and what
    was given."""


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a value sits: the file (or a label such as ``"BuildConfig"``) and the section.

    Attributes
    ----------
    file : str
        The configuration file as given, or a label for a configuration made in code.
    section : tuple of str or int
        Section path: ``("display",)`` is ``[display]``, ``("models", 0)`` is
        ``[models][0]``; empty at the top level.
    base : Path or None
        Folder that relative paths are resolved against (the file's folder); None
        leaves them as they are.
    """

    file: str
    section: tuple[str | int, ...] = ()
    base: Path | None = None

    @classmethod
    def of_file(cls, path: str | os.PathLike[str]) -> Location:
        """The top level of the file ``path``."""
        return cls(str(path), (), Path(path).parent)

    def child(self, part: str | int) -> Location:
        """The section ``part`` inside this one."""
        return dataclasses.replace(self, section=(*self.section, part))

    def __str__(self) -> str:
        sections = "".join(f"[{part}]" for part in self.section)
        return f"{self.file}: {sections}" if sections else self.file

    def key(self, name: str | None) -> str:
        """``"<file>: [section] key"`` (``"<file>: key"`` at the top level)."""
        if name is None:
            return str(self)
        return f"{self} {name}" if self.section else f"{self.file}: {name}"

    def error(self, key: str | None, message: str) -> ConfigError:
        """A :class:`ConfigError` for ``key`` of this section (None: the section itself)."""
        return ConfigError(f"{self.key(key)}: {message}")


@dataclasses.dataclass(frozen=True)
class Setting:
    """What :func:`setting` adds to a field; see there."""

    choices: tuple[Any, ...] | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    min_items: int | None = None
    none: str | None = None
    single: bool = False
    section: str | None = None
    key: str | None = None
    path_if: Callable[[str], bool] | None = None
    convert: Callable[[Any], Any] | None = None
    file: bool = False


_PLAIN = Setting()


def setting(
    *,
    choices: Any = None,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    min_items: int | None = None,
    none: str | None = None,
    single: bool = False,
    section: str | None = None,
    key: str | None = None,
    path_if: Callable[[str], bool] | None = None,
    convert: Callable[[Any], Any] | None = None,
    file: bool = False,
) -> dict[str, Setting]:
    """Field metadata for :func:`from_table`.

    Used as ``dataclasses.field(default=..., metadata=setting(...))``.

    Parameters
    ----------
    choices : iterable, optional
        Allowed values (after conversion).
    gt, ge, lt, le : float, optional
        Range of a number, or of each item of a tuple.
    min_items : int, optional
        Least number of items of a tuple.
    none : str, optional
        The TOML string that stands for None in an ``X | None`` field (``"none"``,
        ``"predicted"``).
    single : bool
        A tuple field also takes one item, as a list of one.
    section, key : str, optional
        Where a field of a flat dataclass sits in the file: key ``key`` (default the
        field's name) of the section ``[section]`` (default: this dataclass's table).
    path_if : callable, optional
        A string value for which it returns True is a path (see the module docstring).
    convert : callable, optional
        Applied to the converted value: from how TOML spells a value to the Python one.
    file : bool
        The field is not read from the file but receives the file's path.
    """
    rule = Setting(
        choices=None if choices is None else tuple(choices),
        gt=gt,
        ge=ge,
        lt=lt,
        le=le,
        min_items=min_items,
        none=none,
        single=single,
        section=section,
        key=key,
        path_if=path_if,
        convert=convert,
        file=file,
    )
    return {_METADATA: rule}


def is_file_reference(value: str) -> bool:
    """Whether a string setting that may name a thing or a file (model ``weights``) is a file.

    It is a file when it contains a path separator (``/``, or ``\\`` on Windows), starts
    with ``~``, or ends in ``.pth`` or ``.pt``; anything else (``"default"``, ``"none"``,
    ``"IMAGENET1K_V1"``) is a name.
    """
    return (
        "/" in value
        or os.sep in value
        or value.startswith("~")
        or value.lower().endswith(_FILE_SUFFIXES)
    )


def resolve_path(value: str | os.PathLike[str], base: Path | None) -> Path:
    """``value`` with ``~`` expanded, relative to the folder ``base`` (None: as it is).

    Raises
    ------
    ValueError
        ``value`` starts with ``~user`` for a user this system does not know (or ``~``
        without a home folder).
    """
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # pathlib's "Could not determine home directory."
        home = Path(value).parts[0]
        raise ValueError(
            f"cannot expand {home!r} in {os.fspath(value)!r}: no such user's home folder"
        ) from None
    return path if path.is_absolute() or base is None else base / path


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed contents of the TOML file ``path``.

    Raises
    ------
    ConfigError
        The file is missing, unreadable or not valid TOML.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error}") from None
    try:
        text = utf8_text(data)
    except ValueError as error:
        raise ConfigError(f"{path}: not valid TOML: {error} (TOML files are UTF-8 text)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None


def load_toml(path: str | os.PathLike[str], schema: type[_T]) -> _T:
    """Read the TOML file ``path`` into the dataclass ``schema``, validated.

    Raises
    ------
    ConfigError
        Naming the file, the section and key, what is allowed and what was given.
    """
    return from_table(schema, read_toml(path), at=Location.of_file(path))


def from_table(schema: type[_T], table: Any, *, at: Location) -> _T:
    """Turn a parsed TOML table into the dataclass ``schema`` (see the module docstring).

    Parameters
    ----------
    schema : type
        A dataclass.
    table : mapping
        Parsed TOML (what :func:`read_toml` returns, or a section of it).
    at : Location
        Where ``table`` sits, for messages and relative paths.

    Raises
    ------
    ConfigError
        Naming the file, the section and key, what is allowed and what was given.
    """
    if not isinstance(table, Mapping):
        raise at.error(None, f"expected a table, got {table!r}")
    hints = typing.get_type_hints(schema)
    here: dict[str, dataclasses.Field[Any]] = {}
    grouped: dict[str, dict[str, dataclasses.Field[Any]]] = {}
    values: dict[str, Any] = {}
    for field in dataclasses.fields(schema):  # type: ignore[arg-type]
        rule = _rule(field)
        if not field.init:
            continue
        if rule.file:
            values[field.name] = Path(at.file)
        elif rule.section is None:
            here[rule.key or field.name] = field
        else:
            grouped.setdefault(rule.section, {})[rule.key or field.name] = field
    sections = {name for name, field in here.items() if _is_section(hints[field.name])}
    _check_names(table, set(here) | set(grouped), sections | set(grouped), at)
    for name, fields in grouped.items():
        body = table.get(name, {})
        if not isinstance(body, Mapping):
            raise at.error(name, f"expected a table [{name}], got {body!r}")
        inner = at.child(name)
        _check_names(body, set(fields), set(), inner)
        for key, field in fields.items():
            values[field.name] = _field_value(field, hints[field.name], body, key, inner)
    for key, field in here.items():
        values[field.name] = _field_value(field, hints[field.name], table, key, at)
    instance = schema(**values)
    validate = getattr(instance, "validate", None)
    if callable(validate):
        validate(at)
    return instance


def choice_message(allowed: Any, value: Any) -> str:
    """``"invalid value. Allowed values are [...], but got 'x' instead."``"""
    return f"invalid value. Allowed values are {list(allowed)}, but got {value!r} instead."


def to_record(config: Any) -> Any:
    """A JSON-ready copy of a configuration dataclass (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_record(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, Mapping):
        return {str(k): to_record(v) for k, v in config.items()}
    if isinstance(config, (tuple, list)):
        return [to_record(v) for v in config]
    if isinstance(config, Path):
        return str(config)
    return config


class _MismatchError(Exception):
    """A value does not have the field's type (turned into a ConfigError by the caller).

    Its message, when it has one, says why (added to the ConfigError's).
    """


def _rule(field: dataclasses.Field[Any]) -> Setting:
    rule = field.metadata.get(_METADATA, _PLAIN)
    return rule if isinstance(rule, Setting) else _PLAIN


def _is_dataclass_type(kind: Any) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _table_of(kind: Any) -> tuple[str, Any] | None:
    """``("section", cls)`` or ``("array", cls)`` when ``kind`` is read from TOML tables."""
    if _is_dataclass_type(kind):
        return "section", kind
    if _is_open_tuple(kind) and _is_dataclass_type(typing.get_args(kind)[0]):
        return "array", typing.get_args(kind)[0]
    return None


def _is_section(kind: Any) -> bool:
    return _table_of(kind) is not None


def _is_open_tuple(kind: Any) -> bool:
    """Whether ``kind`` is ``tuple[X, ...]``."""
    args = typing.get_args(kind)
    return typing.get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _check_names(
    table: Mapping[str, Any], allowed: set[str], sections: set[str], at: Location
) -> None:
    unknown = sorted(set(table) - allowed, key=str)
    if not unknown:
        return
    name, value = unknown[0], table[unknown[0]]
    is_table = isinstance(value, Mapping) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
    )
    if is_table and not at.section:
        what = "sections" if sections == allowed else "keys and sections"
        raise at.error(None, f"unknown section [{name}]. Allowed {what} are {sorted(allowed)}.")
    raise at.error(None, f"unknown key {name!r}. Allowed keys are {sorted(allowed)}.")


def _field_value(
    field: dataclasses.Field[Any], kind: Any, table: Mapping[str, Any], key: str, at: Location
) -> Any:
    rule = _rule(field)
    table_kind = _table_of(kind)
    if key not in table:
        if table_kind is not None and table_kind[0] == "section":
            return from_table(table_kind[1], {}, at=at.child(key))
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            what = f"section [[{key}]]" if table_kind is not None else f"key {key!r}"
            raise at.error(None, f"missing {what}")
        if isinstance(default, Path):
            return resolve_path(default, at.base)
        return default
    raw = table[key]
    if rule.single and not isinstance(raw, list) and typing.get_origin(kind) is tuple:
        raw = [raw]
    value = _convert(raw, kind, rule, at, key)
    _check_value(value, raw, kind, rule, at, key)
    if isinstance(value, str) and rule.path_if is not None and rule.path_if(value):
        try:
            value = str(resolve_path(value, at.base))
        except ValueError as error:
            raise at.error(key, str(error)) from None
    if rule.convert is not None:
        value = rule.convert(value)
    return value


def _convert(raw: Any, kind: Any, rule: Setting, at: Location, key: str) -> Any:
    """``raw`` as ``kind``, or a ConfigError saying what was expected."""
    table_kind = _table_of(kind)
    if table_kind is not None:
        how, cls = table_kind
        if how == "section":
            return from_table(cls, raw, at=at.child(key))
        if not isinstance(raw, list) or not all(isinstance(v, Mapping) for v in raw):
            raise at.error(key, f"expected an array of tables [[{key}]], got {raw!r}")
        return tuple(from_table(cls, item, at=at.child(key).child(i)) for i, item in enumerate(raw))
    if rule.none is not None and raw == rule.none:
        return None
    try:
        return _as(raw, kind, at.base)
    except _MismatchError as error:
        if typing.get_origin(kind) is Literal:
            raise at.error(key, choice_message(typing.get_args(kind), raw)) from None
        expected = _describe(kind)
        if rule.none is not None:
            expected = _join([repr(rule.none), *_members(kind)])
        why = f" ({error})" if str(error) else ""
        raise at.error(key, f"expected {expected}, got {raw!r}{why}") from None


def _as(raw: Any, kind: Any, base: Path | None) -> Any:
    """Convert one value; raise _MismatchError when it does not fit ``kind``."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return raw
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(kind):
            if member is type(None):
                continue
            try:
                return _as(raw, member, base)
            except _MismatchError:
                pass
        raise _MismatchError
    if origin is Literal:
        for allowed in typing.get_args(kind):
            if raw == allowed and type(raw) is type(allowed):
                return raw
        raise _MismatchError
    if kind is bool:
        if isinstance(raw, bool):
            return raw
    elif kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
    elif kind is float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
            return float(raw)
    elif kind is str:
        if isinstance(raw, str):
            return raw
    elif kind is Path:
        if isinstance(raw, str) and raw:
            try:
                return resolve_path(raw, base)
            except ValueError as error:
                raise _MismatchError(str(error)) from None
    elif origin is tuple:
        args = typing.get_args(kind)
        if isinstance(raw, list):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_as(item, args[0], base) for item in raw)
            if len(raw) == len(args):
                return tuple(_as(item, arg, base) for item, arg in zip(raw, args, strict=True))
    elif origin in (Mapping, dict) or kind in (Mapping, dict):
        if isinstance(raw, Mapping):
            return MappingProxyType(dict(raw))
    else:  # pragma: no cover - a schema type this loader does not know is a programming error
        raise TypeError(f"from_table cannot read fields of type {kind!r}")
    raise _MismatchError


def _check_value(value: Any, raw: Any, kind: Any, rule: Setting, at: Location, key: str) -> None:
    if value is None:
        return
    if rule.choices is not None and value not in rule.choices:
        raise at.error(key, choice_message(rule.choices, raw))
    items = value if isinstance(value, tuple) else (value,)
    if rule.min_items is not None and len(items) < rule.min_items:
        least = "a non-empty list" if rule.min_items == 1 else f"at least {rule.min_items} items"
        raise at.error(key, f"expected {least}, got {raw!r}")
    bounds = [(rule.gt, ">"), (rule.ge, ">="), (rule.lt, "<"), (rule.le, "<=")]
    if all(bound is None for bound, _ in bounds):
        return
    numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    ok = all(
        (rule.gt is None or v > rule.gt)
        and (rule.ge is None or v >= rule.ge)
        and (rule.lt is None or v < rule.lt)
        and (rule.le is None or v <= rule.le)
        for v in numbers
    )
    if not ok:
        integers = all(isinstance(v, int) for v in numbers)
        raise at.error(key, _range_message(rule, "integers" if integers else "numbers", raw))


def _range_message(rule: Setting, what: str, value: Any) -> str:
    low = rule.gt if rule.gt is not None else rule.ge
    high = rule.lt if rule.lt is not None else rule.le
    if low is not None and high is not None:
        left = "(" if rule.gt is not None else "["
        right = ")" if rule.lt is not None else "]"
        allowed = f"{what} in {left}{_number(low)}, {_number(high)}{right}"
    elif low is not None:
        allowed = f"{what} {'>' if rule.gt is not None else '>='} {_number(low)}"
    else:
        allowed = f"{what} {'<' if rule.lt is not None else '<='} {_number(high)}"
    return f"invalid value. Allowed values are {allowed}, but got {value!r} instead."


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _members(kind: Any) -> list[str]:
    """Descriptions of the members of a union (or of one type)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        out: list[str] = []
        for member in typing.get_args(kind):
            if member is not type(None):
                out.extend(_members(member))
        return out
    if typing.get_origin(kind) is Literal:
        return [repr(v) for v in typing.get_args(kind)]
    return [_describe_one(kind)]


def _describe(kind: Any) -> str:
    return _join(_members(kind))


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


_NAMES: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    Path: ("a path", "paths"),
}


def _describe_one(kind: Any) -> str:
    if kind in _NAMES:
        return _NAMES[kind][0]
    origin = typing.get_origin(kind)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_NAMES.get(args[0], (None, 'values'))[1]}"
        plural = _NAMES.get(args[0], (None, "values"))[1] if len(set(args)) == 1 else "values"
        return f"a list of {len(args)} {plural}"
    if origin in (Mapping, dict) or kind in (Mapping, dict) or _is_dataclass_type(kind):
        return "a table"
    return str(kind)
