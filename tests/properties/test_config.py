"""Property tests of every configuration loader on bad input (hypothesis).

Each loader (the lab file, each task file with its lab inline, the stimulus build, the study,
the AIS analysis, the ``[maps]`` settings and the conditions tables) is given the project's own
files in ``configs/`` with one thing changed: a value of another type or range, a key taken
out, an unknown key, random TOML documents, random text, or bytes flipped, inserted or cut.
The property: it reads, or raises :class:`selectivity.config.ConfigError` whose message names
the file and the key or section changed, never another exception; an unknown key of a section
is never ignored. A loader that let a ``TypeError``, ``RuntimeError``, ``UnicodeDecodeError``
or ``RecursionError`` escape, or that accepted an unknown key, fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from selectivity.config import ConfigError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def _task_files() -> list[str]:
    names = []
    for path in sorted(CONFIGS.glob("*.toml")):
        table = tomllib.loads(path.read_text(encoding="utf-8"))
        if isinstance(table.get("task"), dict) and "name" in table["task"]:
            names.append(path.name)
    return names


# --- Writing TOML (the standard library reads TOML but does not write it) ------------------


def _toml_string(text: str) -> str:
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace("\x7f", "\\u007f")
    return f'"{body}"'


def _toml_key(key: str) -> str:
    bare = key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key)
    return key if bare else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def dumps(document: dict[str, Any]) -> str:
    """A TOML document that reads back as ``document`` (every table written inline)."""
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in document.items())


# --- Strategies ----------------------------------------------------------------------------

_keys = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
) | st.sampled_from(["name", "kind", "root", "size", "seed", "path", "none", "model", "lab"])
_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.sampled_from([0, 1, -1, 2, 10**6, 2**63 - 1])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["none", "default", "auto", "~", "~nosuchuser/x", "a/b", "", " ", "cuda:0"])
    | st.datetimes().map(lambda d: d.replace(microsecond=0))
    | st.dates()
)
toml_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a parsed document (tables by key, arrays by index)."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        out.append((*prefix, key))
        if isinstance(item, (dict, list)):
            out.extend(_paths(item, (*prefix, key)))
    return out


def _tables(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the tables of a document: the top level, sections and sub-sections, items of
    top-level arrays of tables (not the free tables inside those, such as ``options``)."""
    out = [prefix]
    for key, item in value.items() if isinstance(value, dict) else []:
        if isinstance(item, dict) and len(prefix) < 2:
            out.extend(_tables(item, (*prefix, key)))
        elif isinstance(item, list) and not prefix:
            out.extend((*prefix, key, i) for i, v in enumerate(item) if isinstance(v, dict))
    return out


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


@st.composite
def mutations(draw: Any, document: dict[str, Any]) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """``(what, path, mutated document)``: one value replaced or removed, or a key added."""
    mutated = _deep(document)
    what = draw(st.sampled_from(["replace", "remove", "unknown"]))
    if what == "unknown":
        table = draw(st.sampled_from(_tables(mutated)))
        key = draw(_keys.filter(lambda k: k not in _at(mutated, table)))
        _at(mutated, table)[key] = draw(toml_values)
        return what, (*table, key), mutated
    path = draw(st.sampled_from(_paths(mutated)))
    parent = _at(mutated, path[:-1])
    if what == "replace":
        parent[path[-1]] = draw(toml_values)
    else:
        del parent[path[-1]]
    return what, path, mutated


# --- The loaders and their valid files -------------------------------------------------------


def _lab(path: Path) -> Any:
    from tasks.config import load_lab_config

    return load_lab_config(path)


def _task(path: Path) -> Any:
    from tasks.config import load_config

    return load_config(path)


def _build(path: Path) -> Any:
    from stimuli.build import load_build_config

    return load_build_config(path)


def _study(path: Path) -> Any:
    from analysis.study import load_study_config

    return load_study_config(path)


def _ais(path: Path) -> Any:
    from analysis.ais import load_ais_config

    return load_ais_config(path)


def _maps(path: Path) -> Any:
    from analysis.human_maps import load_map_settings

    return load_map_settings(path)


def _conditions(path: Path) -> Any:
    from tasks.runtime.schedule import read_conditions

    return read_conditions(path)


def _valid(name: str) -> dict[str, Any]:
    """A valid document: a file of configs/ (a task file with its lab file's sections inline)."""
    if name == "conditions":
        return {"conditions": [{"image_id": "a", "soa_ms": 50}, {"image_id": "b", "soa_ms": 100}]}
    document = tomllib.loads((CONFIGS / name).read_text(encoding="utf-8"))
    if "lab" in document and isinstance(document.get("task"), dict):
        lab = tomllib.loads((CONFIGS / document.pop("lab")).read_text(encoding="utf-8"))
        document = {**lab, **document}
    return document


LOADERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "lab": (_lab, "lab.toml"),
    "lab-simulated": (_lab, "lab_simulated.toml"),
    **{f"task-{name[:-5]}": (_task, name) for name in _task_files()},
    "build": (_build, "stimuli_build.toml"),
    "study": (_study, "study.toml"),
    "ais": (_ais, "ais.toml"),
    "maps": (_maps, "study.toml"),
    "conditions": (_conditions, "conditions"),
}


def _checks_keys(name: str, table: tuple[Any, ...]) -> bool:
    """Whether the loader ``name`` refuses an unknown key in ``table``.

    By design, a conditions table takes any column (and a file's other tables are not read),
    and load_map_settings reads only the [maps] table of a file.
    """
    if name == "conditions":
        return False
    return name != "maps" or table[:1] == ("maps",)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of configs/ (files that the configurations name, such as the AIS ratings)."""
    out = tmp_path_factory.mktemp("configs") / "configs"
    shutil.copytree(CONFIGS, out)
    return out


def _load(name: str, folder: Path, content: bytes | str) -> tuple[Path, Any]:
    """Write ``content`` as the file of ``name`` and load it: ``(path, result or error)``."""
    path = folder / f"candidate-{name}.toml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    loader = LOADERS[name][0]
    try:
        return path, loader(path)
    except ConfigError as error:
        return path, error


def _check_error(result: Any, path: Path) -> None:
    if isinstance(result, ConfigError):
        assert str(path) in str(result), f"the message does not name the file: {result}"


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_each_valid_file_loads(name: str, folder: Path) -> None:
    """The unchanged files load (else every property below would test only errors)."""
    _, result = _load(name, folder, dumps(_valid(LOADERS[name][1])))
    assert not isinstance(result, Exception), result


@pytest.mark.parametrize("name", sorted(LOADERS))
@settings(max_examples=25)
@given(data=st.data())
def test_one_change_reads_or_names_the_key(name: str, folder: Path, data: Any) -> None:
    """A value replaced or removed, or a key added: read, or a ConfigError naming file and key.

    A key added to a section (or the top level) is never ignored in silence.
    """
    what, where, document = data.draw(mutations(_valid(LOADERS[name][1])), label="mutation")
    path, result = _load(name, folder, dumps(document))
    _check_error(result, path)
    if isinstance(result, ConfigError):
        named = [part for part in where if isinstance(part, str)]
        message = str(result)
        assert any(part in message or repr(part) in message for part in named) or (
            what == "remove"
        ), (where, message)
    elif what == "unknown" and _checks_keys(name, where[:-1]):
        pytest.fail(f"unknown key {where} was accepted: {result!r}")


_EXAMPLES = {
    "unhashable task name": {"task": {"name": ["free-viewing"]}},
    "task name a table": {"task": {"name": {"a": 1}}},
    "no such user": {"data": {"root": "~nosuchuser-selectivity/data"}},
    "bad url": {"chains": {"url": "postgresql://[unclosed/db"}},
}


@pytest.mark.parametrize("name", ["lab", "task-free_viewing"])
@given(document=st.dictionaries(_keys, toml_values, max_size=5))
@example(document=_EXAMPLES["unhashable task name"])
@example(document=_EXAMPLES["task name a table"])
@example(document=_EXAMPLES["no such user"])
@example(document=_EXAMPLES["bad url"])
def test_random_documents(name: str, folder: Path, document: dict[str, Any]) -> None:
    """Any TOML document: read, or a ConfigError naming the file."""
    path, result = _load(name, folder, dumps(document))
    _check_error(result, path)


@pytest.mark.parametrize("name", ["lab", "build", "study", "ais"])
@given(text=st.text(max_size=200))
@example(text="x = " + "[" * 3000 + "]" * 3000)
def test_random_text(name: str, folder: Path, text: str) -> None:
    """Any text (mostly not TOML): read, or a ConfigError naming the file."""
    path, result = _load(name, folder, text)
    _check_error(result, path)


_edits = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "cut"]),
        st.floats(min_value=0, max_value=1),
        st.binary(min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=3,
)


def _edit(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    for kind, where, payload in edits:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data = data[:at] + bytes([data[at] ^ (payload[0] or 0x80)]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + payload + data[at:]
        else:
            data = data[:at]
    return data


@pytest.mark.parametrize("name", ["lab", "task-free_viewing", "build", "study", "ais"])
@given(edits=_edits)
@example(edits=[("insert", 0.5, b"\xff")])
def test_damaged_bytes(name: str, folder: Path, edits: list[tuple[str, float, bytes]]) -> None:
    """The file with bytes flipped, inserted (bad UTF-8 too) or cut: read, or a ConfigError."""
    source = LOADERS[name][1]
    original = dumps(_valid(source)).encode("utf-8")
    path, result = _load(name, folder, _edit(original, edits))
    _check_error(result, path)
