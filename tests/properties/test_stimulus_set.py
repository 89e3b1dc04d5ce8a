"""Property tests of the stimulus-set reader on damaged files (hypothesis).

A small valid set (three images, a map source, a mask and a rendered condition), written with
:func:`stimuli.write_stimulus_set` and the append functions, is damaged one way at a time:
an object of the file removed, an attribute removed or given another value (wrong format
name, version, type, undecodable bytes, bad JSON), a dataset replaced by one of another dtype
or shape (or by a group), a table column of another length or type, bytes flipped or the file
cut. Then everything is read: the table, every listing, every image, map, mask, rendered
stimulus and provenance, and ``verify()``. The property: each read gives what its docstring
promises (an RGB uint8 image of the table's size, a finite 2-D map, a mask in [0, 1]), or
raises ``ValueError`` (:class:`stimuli.StimulusSetError` for a damaged file) naming the file;
never a ``KeyError``, ``TypeError``, ``OSError`` or ``UnicodeDecodeError`` from h5py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
h5py = pytest.importorskip("h5py")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stimuli.stimulus_set import (  # noqa: E402
    StimulusSetError,
    append_masks,
    append_rendered,
    read_stimulus_set,
    write_stimulus_set,
)

_IDS = ("a", "b", "c")


@pytest.fixture(scope="module")
def valid_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small images, a map source, a mask condition and a rendered condition."""
    rng = np.random.default_rng(3)
    images = {i: rng.integers(0, 256, (4 + k, 5, 3), dtype=np.uint8) for k, i in enumerate(_IDS)}
    maps = {i: rng.random(im.shape[:2]) for i, im in images.items()}
    path = tmp_path_factory.mktemp("set") / "valid.h5"
    write_stimulus_set(
        path,
        images,
        labels={"a": "cat", "b": "dog"},
        maps={"net/gradient": maps, "human/fixations": {"a": maps["a"]}},
        provenance={
            "net/gradient": {
                "model": "m",
                "weights": "none",
                "weights_sha256": "0",
                "method": "gradient",
                "parameters": {},
            },
            "human/fixations": {"sigma_deg": 1.0},
        },
    )
    append_masks(path, "top20", {i: m.clip(0, 1) for i, m in maps.items()}, provenance={"k": 1})
    append_rendered(path, "top20", {"a": images["a"]}, provenance={"k": 1})
    return path


def _objects(path: Path) -> list[str]:
    names: list[str] = []
    with h5py.File(path, "r") as file:
        file.visit(names.append)
    return sorted(names)


def _datasets(path: Path) -> list[str]:
    with h5py.File(path, "r") as file:
        return [n for n in _objects(path) if isinstance(file[n], h5py.Dataset)]


def _attributes(path: Path) -> list[tuple[str, str]]:
    out = []
    with h5py.File(path, "r") as file:
        for name in ["/", *_objects(path)]:
            out.extend((name, key) for key in file[name].attrs)
    return sorted(out)


attribute_values = st.one_of(
    st.integers(-3, 5),
    st.sampled_from(
        [
            np.int64(3),
            np.float64(2.0),
            np.bool_(True),
            np.array([1, 2]),
            "selectivity-stimulus-set",
            "selectivity-stimulus-set-shard",
            "not json {",
            "[1, 2]",
            '"text"',
            np.bytes_(b"\xff\xfe"),
            "",
        ]
    ),
    st.text(st.characters(exclude_characters="\x00"), max_size=8),
)
dataset_values = st.sampled_from(
    [
        np.zeros((2, 2)),
        np.zeros((4, 5, 3), dtype=np.uint8),
        np.zeros((5, 4, 3), dtype=np.uint8),
        np.zeros((4, 5), dtype=np.uint8),
        np.full((4, 5), np.nan),
        np.full((4, 5), 2.0),
        np.zeros(0),
        np.int64(7),
        np.array([b"a", b"b"]),
        np.array([b"\xff", b"b", b"c"]),
        np.array(["a", "a", "b"], dtype=object),
        np.array([1, 2, 3]),
        np.array([-1, 2, 3]),
        np.array([1.5, 2, 3]),
        np.ones((3, 2)),
        "group",
    ]
)


@st.composite
def damages(draw: Any, listing: dict[str, list[Any]]) -> tuple[Any, ...]:
    """One change to a file whose objects, datasets and attributes are ``listing``."""
    kind = draw(st.sampled_from(["remove", "attribute", "drop-attribute", "dataset"]))
    if kind == "remove":
        return kind, draw(st.sampled_from(listing["objects"]))
    if kind in ("attribute", "drop-attribute"):
        where, key = draw(st.sampled_from(listing["attributes"]))
        return kind, where, key, draw(attribute_values) if kind == "attribute" else None
    return kind, draw(st.sampled_from(listing["datasets"])), draw(dataset_values)


@pytest.fixture(scope="module")
def listing(valid_set: Path) -> dict[str, list[Any]]:
    """The objects, datasets and (object, attribute) pairs of the valid set."""
    return {
        "objects": _objects(valid_set),
        "datasets": _datasets(valid_set),
        "attributes": _attributes(valid_set),
    }


def _damage(path: Path, damage: tuple[Any, ...]) -> None:
    with h5py.File(path, "r+") as file:
        kind, where = damage[0], damage[1]
        if kind == "remove":
            del file[where]
        elif kind == "attribute":
            file[where].attrs[damage[2]] = damage[3]
        elif kind == "drop-attribute":
            del file[where].attrs[damage[2]]
        else:
            del file[where]
            if isinstance(damage[2], str):
                file.create_group(where)
            else:
                file.create_dataset(where, data=damage[2])


def _read_everything(path: Path) -> None:
    """Read all there is; check what each read gives against its docstring."""
    stimulus_set = read_stimulus_set(path)
    table = stimulus_set.table
    assert list(table.columns) == ["id", "label", "height", "width", "sha256"]
    assert len(set(stimulus_set.ids)) == len(stimulus_set.ids) == len(table)
    for row in table.itertuples():
        image = stimulus_set.image(row.id)
        assert image.dtype == np.uint8 and image.shape == (row.height, row.width, 3)
    stimulus_set.verify()
    for kind, names, ids, read in (
        ("maps", stimulus_set.map_sources, stimulus_set.map_ids, stimulus_set.map),
        ("masks", stimulus_set.mask_conditions, stimulus_set.mask_ids, stimulus_set.mask),
        (
            "rendered",
            stimulus_set.rendered_conditions,
            stimulus_set.rendered_ids,
            stimulus_set.rendered,
        ),
    ):
        for name in names:
            assert isinstance(stimulus_set.provenance(name, kind=kind), dict)
            for stimulus_id in ids(name):
                array = read(name, stimulus_id)
                if kind == "rendered":
                    assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
                else:
                    assert array.ndim == 2 and np.issubdtype(array.dtype, np.floating)
                    assert np.isfinite(array).all()
                if kind == "masks":
                    assert array.min() >= 0 and array.max() <= 1


def _reads_or_names_the_file(path: Path) -> None:
    try:
        _read_everything(path)
    except (ValueError, FileNotFoundError) as error:
        assert isinstance(error, StimulusSetError) or type(error) in (ValueError,), repr(error)
        assert str(path) in str(error), f"the message does not name the file: {error}"


def test_the_valid_set_reads(valid_set: Path) -> None:
    """The undamaged set reads whole (else the properties below would test only errors)."""
    _read_everything(valid_set)


@settings(max_examples=40)
@given(data=st.data())
@example(data=None)
def test_damaged_structure(
    valid_set: Path,
    listing: dict[str, list[Any]],
    tmp_path_factory: pytest.TempPathFactory,
    data: Any,
) -> None:
    """An object removed, an attribute changed or removed, a dataset replaced: read or refused."""
    path = tmp_path_factory.mktemp("damaged") / "set.h5"
    shutil.copyfile(valid_set, path)
    if data is not None:
        damage = data.draw(damages(listing), label="damage")
        _damage(path, damage)
    _reads_or_names_the_file(path)


_REGRESSIONS = [
    pytest.param(("remove", "images/a"), id="image-missing"),
    pytest.param(("dataset", "stimuli/id", np.array(["a", "a", "b"], dtype=object)), id="dup-id"),
    pytest.param(("dataset", "stimuli/height", np.array([1, 2])), id="short-column"),
    pytest.param(("dataset", "stimuli/label", np.array([b"\xff", b"b", b"c"])), id="bad-utf8"),
    pytest.param(("dataset", "stimuli/width", np.int64(7)), id="scalar-column"),
    pytest.param(("dataset", "stimuli/sha256", "group"), id="column-a-group"),
    pytest.param(("dataset", "images/a", np.zeros((2, 2))), id="image-not-rgb"),
    pytest.param(("dataset", "maps/net/gradient/a", np.full((4, 5), np.nan)), id="nan-map"),
    pytest.param(("dataset", "masks/top20/b", np.full((4, 5), 2.0)), id="mask-above-1"),
    pytest.param(("dataset", "rendered/top20/a", np.zeros((4, 5))), id="rendered-not-rgb"),
    pytest.param(("attribute", "maps/net/gradient", "provenance", "not json {"), id="bad-json"),
    pytest.param(("attribute", "masks/top20", "provenance", "[1, 2]"), id="json-not-a-dict"),
    pytest.param(("drop-attribute", "rendered/top20", "provenance", None), id="no-provenance"),
    pytest.param(("attribute", "/", "format", np.bytes_(b"\xff\xfe")), id="format-bad-utf8"),
    pytest.param(("dataset", "maps", np.int64(7)), id="maps-a-dataset"),
    pytest.param(("attribute", "/", "format_version", np.int64(3)), id="newer-version"),
]


@pytest.mark.parametrize("damage", _REGRESSIONS)
def test_damage_that_escaped_as_another_error(
    valid_set: Path, tmp_path: Path, damage: tuple[Any, ...]
) -> None:
    """Each of these once escaped as KeyError, TypeError, UnicodeDecodeError or a bad array."""
    path = tmp_path / "set.h5"
    shutil.copyfile(valid_set, path)
    _damage(path, damage)
    with pytest.raises(StimulusSetError, match=str(path).replace(".", r"\.")):
        _read_everything(path)


@settings(max_examples=40)
@given(where=st.floats(0, 1), flips=st.binary(min_size=1, max_size=8), cut=st.booleans())
@example(where=0.5, flips=b"\x00", cut=True)
def test_flipped_or_cut_bytes(
    valid_set: Path,
    tmp_path_factory: pytest.TempPathFactory,
    where: float,
    flips: bytes,
    cut: bool,
) -> None:
    """Bytes flipped at a random place, or the file cut there: read, or refused naming it."""
    data = bytearray(valid_set.read_bytes())
    at = min(int(where * len(data)), len(data) - 1)
    if cut:
        data = data[:at]
    else:
        for k, byte in enumerate(flips):
            if at + k < len(data):
                data[at + k] ^= byte or 0xFF
    path = tmp_path_factory.mktemp("bytes") / "set.h5"
    path.write_bytes(bytes(data))
    _reads_or_names_the_file(path)
