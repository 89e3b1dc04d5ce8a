"""Tests of the stimulus-set file: round trips, checks on write and read, PNG export."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from stimuli.export import export_png
from stimuli.stimulus_set import (
    FORMAT_NAME,
    FORMAT_VERSION,
    add_maps,
    append_maps,
    append_masks,
    append_rendered,
    read_stimulus_set,
    write_stimulus_set,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

NETWORK_PROVENANCE = {
    "model": "resnet18",
    "weights": "ResNet18_Weights.IMAGENET1K_V1",
    "weights_sha256": "f37072fd" + "0" * 56,
    "method": "gradient",
    "parameters": {"target": None, "reduce": "abs_sum", "size": (6, 5)},
}


def _images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    # Insertion order deliberately unsorted; sizes differ.
    return {
        "b": rng.integers(0, 256, (6, 5, 3), dtype=np.uint8),
        "a": rng.integers(0, 256, (4, 9, 3), dtype=np.uint8),
        "img 3": rng.integers(0, 256, (1, 1, 3), dtype=np.uint8),
    }


def _maps() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    return {
        "resnet18/gradient": {
            "b": rng.random((6, 5)).astype(np.float32),
            "a": rng.random((4, 9)),
        },
        "human/fixations": {"a": np.arange(12).reshape(3, 4)},
    }


def _provenance() -> dict[str, dict]:
    return {
        "resnet18/gradient": dict(NETWORK_PROVENANCE),
        "human/fixations": {
            "measure": "fixation density",
            "sigma_deg": np.float64(1.0),
            "subjects": np.array([1, 2]),
            "library_versions": {"numpy": "given-by-user"},
        },
    }


@pytest.fixture()
def written(tmp_path) -> Path:
    return write_stimulus_set(
        tmp_path / "set.h5",
        _images(),
        labels={"b": "dog", "a": "cat"},
        maps=_maps(),
        provenance=_provenance(),
    )


def test_round_trip(written):
    stimuli = read_stimulus_set(written)
    images = _images()
    assert stimuli.ids == ("b", "a", "img 3")
    assert list(stimuli) == list(stimuli.ids) and len(stimuli) == 3 and "a" in stimuli
    for stimulus_id, image in images.items():
        read = stimuli.image(stimulus_id)
        assert read.dtype == np.uint8
        np.testing.assert_array_equal(read, image)
    table = stimuli.table
    assert list(table.columns) == ["id", "label", "height", "width", "sha256"]
    assert table["label"].tolist() == ["dog", "cat", ""]
    assert table["height"].tolist() == [6, 4, 1]
    assert table["width"].tolist() == [5, 9, 1]
    assert table["sha256"].tolist() == [
        hashlib.sha256(image.tobytes()).hexdigest() for image in images.values()
    ]
    assert stimuli.map_sources == ("human/fixations", "resnet18/gradient")
    maps = _maps()
    for source, by_id in maps.items():
        assert stimuli.map_ids(source) == tuple(i for i in stimuli.ids if i in by_id)
        for stimulus_id, expected in by_id.items():
            np.testing.assert_array_equal(stimuli.map(source, stimulus_id), expected)
    assert stimuli.map("resnet18/gradient", "b").dtype == np.float32
    assert stimuli.map("resnet18/gradient", "a").dtype == np.float64
    assert stimuli.map("human/fixations", "a").dtype == np.float64
    stimuli.verify()


def test_provenance_round_trip_adds_library_versions(written):
    stimuli = read_stimulus_set(written)
    network = stimuli.provenance("resnet18/gradient")
    for key, value in NETWORK_PROVENANCE.items():
        expected = json.loads(json.dumps(value))  # tuples come back as lists
        assert network[key] == expected
    versions = network["library_versions"]
    assert versions["h5py"] == h5py.__version__
    assert versions["numpy"] == np.__version__
    assert "python" in versions
    human = stimuli.provenance("human/fixations")
    assert human["sigma_deg"] == 1.0 and human["subjects"] == [1, 2]
    assert human["library_versions"]["numpy"] == "given-by-user"


def test_file_attributes(written):
    with h5py.File(written, "r") as file:
        assert file.attrs["format"] == FORMAT_NAME
        assert np.issubdtype(type(file.attrs["format_version"]), np.integer)
        assert file.attrs["format_version"] == FORMAT_VERSION == 2
        assert set(file) == {"images", "stimuli", "maps", "masks", "rendered"}
    attrs = read_stimulus_set(written).attrs
    assert attrs["format_version"] == 2 and isinstance(attrs["format_version"], int)
    assert attrs["software"] == "selectivity" and attrs["software_version"]
    created = datetime.datetime.fromisoformat(attrs["created"])
    assert created.tzinfo is not None


def test_add_maps(written):
    new = {"b": np.ones((2, 2)), "img 3": np.zeros((1, 1))}
    add_maps(written, "vgg16/gradient", new, provenance={**NETWORK_PROVENANCE, "model": "vgg16"})
    stimuli = read_stimulus_set(written)
    assert "vgg16/gradient" in stimuli.map_sources
    assert stimuli.map_ids("vgg16/gradient") == ("b", "img 3")
    assert stimuli.provenance("vgg16/gradient")["model"] == "vgg16"
    assert "modified" in stimuli.attrs
    with pytest.raises(ValueError, match="already has maps from source 'vgg16/gradient'"):
        add_maps(written, "vgg16/gradient", new, provenance=NETWORK_PROVENANCE)
    add_maps(
        written,
        "vgg16/gradient",
        {"a": np.full((3, 3), 2.0)},
        provenance=NETWORK_PROVENANCE,
        overwrite=True,
    )
    assert stimuli.map_ids("vgg16/gradient") == ("a",)
    np.testing.assert_array_equal(stimuli.map("vgg16/gradient", "a"), np.full((3, 3), 2.0))
    # Other sources untouched.
    np.testing.assert_array_equal(
        stimuli.map("human/fixations", "a"), _maps()["human/fixations"]["a"]
    )


def test_failed_overwrite_keeps_the_old_maps(written, monkeypatch):
    import stimuli.stimulus_set as module

    def fail_halfway(group, item):
        group.create_dataset("a", data=np.zeros((2, 2)))
        raise OSError("disk full")

    monkeypatch.setattr(module, "write_maps", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        add_maps(written, "human/fixations", {"a": np.ones((2, 2))}, provenance={}, overwrite=True)
    stimuli = read_stimulus_set(written)
    assert stimuli.map_sources == ("human/fixations", "resnet18/gradient")
    np.testing.assert_array_equal(
        stimuli.map("human/fixations", "a"), _maps()["human/fixations"]["a"]
    )


def test_file_permissions_follow_the_umask(written, tmp_path):
    plain = tmp_path / "plain"
    plain.touch()
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


@pytest.mark.parametrize(
    ("source", "maps", "error", "match"),
    [
        pytest.param("resnet18", {"a": np.ones((2, 2))}, ValueError, "group inside", id="parent"),
        pytest.param(
            "resnet18/gradient/x", {"a": np.ones((2, 2))}, ValueError, "group inside", id="child"
        ),
        pytest.param("x/y", {"zz": np.ones((2, 2))}, KeyError, "'zz'.*not a stimulus", id="id"),
        pytest.param("x//y", {"a": np.ones((2, 2))}, ValueError, "Invalid map source", id="name"),
    ],
)
def test_add_maps_errors(written, source, maps, error, match):
    with pytest.raises(error, match=match):
        add_maps(written, source, maps, provenance=NETWORK_PROVENANCE)
    assert read_stimulus_set(written).map_sources == ("human/fixations", "resnet18/gradient")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"images": {}}, ValueError, "non-empty mapping", id="no-images"),
        pytest.param(
            {"images": {"": np.zeros((2, 2, 3), np.uint8)}}, ValueError, "''", id="empty-id"
        ),
        pytest.param(
            {"images": {"a/b": np.zeros((2, 2, 3), np.uint8)}}, ValueError, "'a/b'", id="slash"
        ),
        pytest.param({"images": {".": np.zeros((2, 2, 3), np.uint8)}}, ValueError, "'.'", id="dot"),
        pytest.param(
            {"images": {" a": np.zeros((2, 2, 3), np.uint8)}}, ValueError, "whitespace", id="space"
        ),
        pytest.param(
            {"images": {3: np.zeros((2, 2, 3), np.uint8)}}, TypeError, "must be str", id="int-id"
        ),
        pytest.param(
            {
                "images": {
                    "Dog": np.zeros((2, 2, 3), np.uint8),
                    "dog": np.zeros((2, 2, 3), np.uint8),
                }
            },
            ValueError,
            "differ only in case",
            id="case",
        ),
        pytest.param({"images": {"a": np.zeros((2, 2, 3))}}, ValueError, "uint8", id="float-image"),
        pytest.param(
            {"images": {"a": np.zeros((2, 2), np.uint8)}}, ValueError, r"\(H, W, 3\)", id="gray"
        ),
        pytest.param(
            {"images": {"a": np.zeros((2, 2, 4), np.uint8)}}, ValueError, r"\(2, 2, 4\)", id="rgba"
        ),
        pytest.param({"labels": {"zz": "cat"}}, ValueError, "'labels'.*zz", id="label-id"),
        pytest.param({"labels": {"a": 3}}, TypeError, "label of 'a'", id="label-type"),
        pytest.param(
            {"maps": {"m/g": {"zz": np.ones((2, 2))}}, "provenance": {"m/g": NETWORK_PROVENANCE}},
            KeyError,
            "'zz'",
            id="map-id",
        ),
        pytest.param(
            {"maps": {"m/g": {"a": np.ones((2, 2, 1))}}, "provenance": {"m/g": NETWORK_PROVENANCE}},
            ValueError,
            "2-D",
            id="map-3d",
        ),
        pytest.param(
            {
                "maps": {"m/g": {"a": np.full((2, 2), np.nan)}},
                "provenance": {"m/g": NETWORK_PROVENANCE},
            },
            ValueError,
            "NaN",
            id="map-nan",
        ),
        pytest.param(
            {"maps": {"m/g": {"a": np.ones((2, 2))}}},
            ValueError,
            "Missing provenance",
            id="no-prov",
        ),
        pytest.param(
            {"maps": {"m/g": {"a": np.ones((2, 2))}}, "provenance": {"m/g": {"model": "m"}}},
            ValueError,
            r"lacks \['weights', 'weights_sha256', 'method', 'parameters'\]",
            id="prov-keys",
        ),
        pytest.param(
            {
                "maps": {"human/x": {"a": np.ones((2, 2))}},
                "provenance": {"human/x": {"f": object()}},
            },
            ValueError,
            "not JSON",
            id="prov-json",
        ),
        pytest.param(
            {
                "maps": {"human/x": {"a": np.ones((2, 2))}},
                "provenance": {"human/x": {"v": float("nan")}},
            },
            ValueError,
            "not JSON",
            id="prov-nan",
        ),
        pytest.param(
            {"provenance": {"m/g": NETWORK_PROVENANCE}}, ValueError, "without maps", id="prov-extra"
        ),
        pytest.param({"maps": [np.ones((2, 2))]}, TypeError, "'maps' parameter", id="maps-list"),
        pytest.param(
            {
                "maps": {"m": {"a": np.ones((2, 2))}, "m/g": {"a": np.ones((2, 2))}},
                "provenance": {"m": NETWORK_PROVENANCE, "m/g": NETWORK_PROVENANCE},
            },
            ValueError,
            "group inside",
            id="nested-sources",
        ),
        pytest.param(
            {"maps": {"/m": {"a": np.ones((2, 2))}}, "provenance": {"/m": NETWORK_PROVENANCE}},
            ValueError,
            "Invalid map source '/m'",
            id="source-name",
        ),
    ],
)
def test_write_errors(tmp_path, kwargs, error, match):
    arguments = {"images": {"a": np.zeros((2, 2, 3), np.uint8)}, **kwargs}
    with pytest.raises(error, match=match):
        write_stimulus_set(tmp_path / "bad.h5", arguments.pop("images"), **arguments)
    assert list(tmp_path.iterdir()) == []


def test_overwrite(written):
    before = written.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_stimulus_set(written, {"x": np.zeros((2, 2, 3), np.uint8)})
    # A failed overwrite leaves the old file as it was, and no temporary file behind.
    with pytest.raises(ValueError, match="uint8"):
        write_stimulus_set(written, {"x": np.zeros((2, 2, 3))}, overwrite=True)
    assert written.read_bytes() == before
    assert [p.name for p in written.parent.iterdir()] == [written.name]
    write_stimulus_set(written, {"x": np.zeros((2, 2, 3), np.uint8)}, overwrite=True)
    assert read_stimulus_set(written).ids == ("x",)


def _set_attr(name, value):
    def change(path):
        with h5py.File(path, "r+") as file:
            if value is None:
                del file.attrs[name]
            else:
                file.attrs[name] = value

    return change


def _delete(name):
    def change(path):
        with h5py.File(path, "r+") as file:
            del file[name]

    return change


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        pytest.param(
            lambda p: p.write_text("id,label\n"), ValueError, "not an HDF5 file", id="text"
        ),
        pytest.param(lambda p: p.unlink(), FileNotFoundError, "No stimulus-set file", id="missing"),
        pytest.param(
            _set_attr("format", "pysaliency-stimuli"),
            ValueError,
            "not a stimulus-set file: its 'format' attribute is 'pysaliency-stimuli'",
            id="format",
        ),
        pytest.param(_set_attr("format", None), ValueError, "attribute is None", id="no-format"),
        pytest.param(
            _set_attr("format_version", np.int64(3)),
            ValueError,
            "format version 3, newer than this software reads \\(up to 2\\)",
            id="newer",
        ),
        pytest.param(
            _set_attr("format_version", "1"), ValueError, "expected an integer", id="str-version"
        ),
        pytest.param(
            _set_attr("format_version", 0), ValueError, "invalid 'format_version' 0", id="zero"
        ),
        pytest.param(_delete("stimuli/sha256"), ValueError, r"damaged.*\['sha256'\]", id="column"),
        pytest.param(_delete("images"), ValueError, "damaged", id="images"),
    ],
)
def test_read_errors(written, change, error, match):
    change(written)
    with pytest.raises(error, match=match):
        read_stimulus_set(written)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda s: s.image("zz"), "No stimulus id 'zz'.*'b', 'a', 'img 3'", id="image"),
        pytest.param(
            lambda s: s.map("resnet18/gradient", "zz"), "No stimulus id 'zz'", id="map-id"
        ),
        pytest.param(
            lambda s: s.map("resnet18/gradient", "img 3"),
            "no map for stimulus 'img 3'; it has maps for 'b', 'a'",
            id="no-map-for-id",
        ),
        pytest.param(
            lambda s: s.map("vgg16/gradient", "a"),
            "No map source 'vgg16/gradient'.*'human/fixations', 'resnet18/gradient'",
            id="map-source",
        ),
        pytest.param(
            lambda s: s.provenance("resnet18"), "No map source 'resnet18'", id="provenance"
        ),
    ],
)
def test_missing_keys(written, call, match):
    with pytest.raises(KeyError, match=match):
        call(read_stimulus_set(written))


def test_damaged_image_is_detected(written):
    with h5py.File(written, "r+") as file:
        file["images"]["a"][0, 0, 0] ^= 1
    stimuli = read_stimulus_set(written)
    with pytest.raises(ValueError, match="Checksum mismatch for image 'a'"):
        stimuli.image("a")
    with pytest.raises(ValueError, match=r"for images \['a'\]"):
        stimuli.verify()
    assert stimuli.image("a", verify=False)[0, 0, 0] == _images()["a"][0, 0, 0] ^ 1
    np.testing.assert_array_equal(stimuli.image("b"), _images()["b"])


def test_export_png_round_trip(written, tmp_path):
    paths = export_png(written, tmp_path / "png")
    assert [p.name for p in paths] == ["b.png", "a.png", "img 3.png"]
    for path, image in zip(paths, _images().values(), strict=True):
        np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_png(written, tmp_path / "png", ids=["a"])
    assert export_png(written, tmp_path / "png", ids=["a"], overwrite=True) == [paths[1]]
    with pytest.raises(KeyError, match="'zz'"):
        export_png(written, tmp_path / "other", ids=["zz"])


def test_export_png_refuses_unportable_names(tmp_path):
    path = write_stimulus_set(tmp_path / "s.h5", {"a:b": np.zeros((2, 2, 3), np.uint8)})
    with pytest.raises(ValueError, match="'a:b' cannot be a portable file name"):
        export_png(path, tmp_path / "png")
    assert not (tmp_path / "png").exists()


def test_real_langlois_images_and_human_maps(tmp_path):
    folder = DATA / "langlois2021"
    if not folder.is_dir():
        pytest.skip("shared data folder langlois2021 not present")
    from scipy.io import loadmat

    images, maps = {}, {}
    for number in (10, 115, 125):
        bgr = cv2.imread(str(folder / "images" / f"image_r_{number}.jpg"))
        images[f"img{number}"] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        maps[f"img{number}"] = loadmat(folder / "human-maps" / f"img{number}_freeFIX.mat")["map"]
    path = write_stimulus_set(
        tmp_path / "langlois.h5",
        images,
        maps={"human/freeFIX": maps},
        provenance={"human/freeFIX": {"measure": "free-viewing fixation density"}},
    )
    stimuli = read_stimulus_set(path)
    assert stimuli.table["height"].tolist() == [405] * 3
    for stimulus_id in images:
        np.testing.assert_array_equal(stimuli.image(stimulus_id), images[stimulus_id])
        stored = stimuli.map("human/freeFIX", stimulus_id)
        assert stored.shape == (251, 251)
        np.testing.assert_array_equal(stored, maps[stimulus_id])


# Format version 2: masks, rendered stimuli, batch-by-batch appends, shards.


def _write_version_1(path: Path) -> None:
    """A version-1 file written by hand from the version-1 layout (not by this code)."""
    images = _images()
    with h5py.File(path, "w") as file:
        file.attrs["format"] = FORMAT_NAME
        file.attrs["format_version"] = np.int64(1)
        file.attrs["created"] = "2026-01-01T00:00:00+00:00"
        file.attrs["software"] = "selectivity"
        file.attrs["software_version"] = "0.0.1"
        group = file.create_group("images")
        for stimulus_id, image in images.items():
            group.create_dataset(stimulus_id, data=image).attrs["color"] = "RGB"
        table = file.create_group("stimuli")
        string = h5py.string_dtype("utf-8")
        table.create_dataset("id", data=list(images), dtype=string)
        table.create_dataset("label", data=["dog", "", ""], dtype=string)
        table.create_dataset(
            "sha256",
            data=[hashlib.sha256(image.tobytes()).hexdigest() for image in images.values()],
            dtype=string,
        )
        table.create_dataset("height", data=np.array([i.shape[0] for i in images.values()]))
        table.create_dataset("width", data=np.array([i.shape[1] for i in images.values()]))
        source = file.create_group("maps").create_group("resnet18").create_group("gradient")
        source.create_dataset("a", data=np.arange(36.0).reshape(4, 9))
        source.attrs["written"] = "2026-01-01T00:00:00+00:00"
        source.attrs["provenance"] = json.dumps(NETWORK_PROVENANCE)
        source.attrs["source"] = "resnet18/gradient"


def test_reads_version_1(tmp_path):
    path = tmp_path / "v1.h5"
    _write_version_1(path)
    stimuli = read_stimulus_set(path)
    assert stimuli.attrs["format_version"] == 1
    assert stimuli.ids == ("b", "a", "img 3")
    assert stimuli.table["label"].tolist() == ["dog", "", ""]
    np.testing.assert_array_equal(stimuli.image("img 3"), _images()["img 3"])
    assert stimuli.map_sources == ("resnet18/gradient",)
    assert stimuli.map_ids("resnet18/gradient") == ("a",)
    np.testing.assert_array_equal(
        stimuli.map("resnet18/gradient", "a"), np.arange(36.0).reshape(4, 9)
    )
    assert stimuli.provenance("resnet18/gradient")["weights"] == NETWORK_PROVENANCE["weights"]
    assert stimuli.mask_conditions == () and stimuli.rendered_conditions == ()
    with pytest.raises(KeyError, match=r"No mask condition 'top20'.*there are: none"):
        stimuli.mask("top20", "a")


def test_appending_to_version_1_makes_version_2(tmp_path):
    path = tmp_path / "v1.h5"
    _write_version_1(path)
    append_masks(path, "top20", {"a": np.ones((4, 9))}, provenance={"kind": "top_k"})
    stimuli = read_stimulus_set(path)
    assert stimuli.attrs["format_version"] == 2
    assert stimuli.mask_conditions == ("top20",)
    np.testing.assert_array_equal(
        stimuli.map("resnet18/gradient", "a"), np.arange(36.0).reshape(4, 9)
    )


@pytest.fixture()
def bare(tmp_path) -> Path:
    return write_stimulus_set(tmp_path / "bare.h5", _images())


def test_append_maps_batch_by_batch(bare):
    maps = _maps()["resnet18/gradient"]
    append_maps(bare, "resnet18/gradient", {"a": maps["a"]}, provenance=NETWORK_PROVENANCE)
    stimuli = read_stimulus_set(bare)
    # An incomplete source is readable, and says which maps it has.
    assert stimuli.map_ids("resnet18/gradient") == ("a",)
    append_maps(bare, "resnet18/gradient", {"b": maps["b"]}, provenance=NETWORK_PROVENANCE)
    assert stimuli.map_ids("resnet18/gradient") == ("b", "a")
    for stimulus_id, expected in maps.items():
        read = stimuli.map("resnet18/gradient", stimulus_id)
        np.testing.assert_array_equal(read, expected)
        assert read.dtype == expected.dtype
    assert stimuli.provenance("resnet18/gradient")["parameters"]["size"] == [6, 5]
    assert "modified" in stimuli.attrs


def test_append_maps_ignores_library_versions(bare):
    record = {**NETWORK_PROVENANCE, "library_versions": {"torch": "1.0"}}
    append_maps(bare, "m/g", {"a": np.ones((2, 2))}, provenance=record)
    later = {**NETWORK_PROVENANCE, "library_versions": {"torch": "9.9"}}
    append_maps(bare, "m/g", {"b": np.ones((2, 2))}, provenance=later)
    stimuli = read_stimulus_set(bare)
    assert stimuli.map_ids("m/g") == ("b", "a")
    # The provenance of the first append stays.
    assert stimuli.provenance("m/g")["library_versions"]["torch"] == "1.0"


@pytest.mark.parametrize(
    ("maps", "provenance", "error", "match"),
    [
        pytest.param(
            {"a": np.zeros((2, 2))},
            NETWORK_PROVENANCE,
            ValueError,
            "never written twice",
            id="again",
        ),
        pytest.param(
            {"b": np.zeros((2, 2))},
            {**NETWORK_PROVENANCE, "parameters": {"reduce": "l2"}},
            ValueError,
            r"other settings \(provenance keys \['parameters'\] differ\)",
            id="other-settings",
        ),
        pytest.param(
            {"zz": np.zeros((2, 2))}, NETWORK_PROVENANCE, KeyError, "'zz'.*not a stimulus", id="id"
        ),
        pytest.param({"b": np.zeros((2, 2))}, {"model": "m"}, ValueError, "lacks", id="prov-keys"),
    ],
)
def test_append_maps_errors(bare, maps, provenance, error, match):
    append_maps(bare, "m/g", {"a": np.ones((2, 2))}, provenance=NETWORK_PROVENANCE)
    with pytest.raises(error, match=match):
        append_maps(bare, "m/g", maps, provenance=provenance)
    stimuli = read_stimulus_set(bare)
    assert stimuli.map_ids("m/g") == ("a",)
    np.testing.assert_array_equal(stimuli.map("m/g", "a"), np.ones((2, 2)))


def test_masks_and_rendered_round_trip(bare):
    rng = np.random.default_rng(5)
    masks = {"a": rng.random((4, 9)).astype(np.float32), "b": np.ones((6, 5), np.float32)}
    rendered = {"a": rng.integers(0, 256, (8, 18, 3), dtype=np.uint8)}
    append_masks(bare, "top20", masks, provenance={"kind": "top_k", "percent": 20})
    append_rendered(bare, "top20", rendered, provenance={"background": "grey"})
    append_rendered(bare, "ctl/backward", {"b": np.zeros((3, 3, 3), np.uint8)}, provenance={})
    stimuli = read_stimulus_set(bare)
    assert stimuli.mask_conditions == ("top20",)
    assert stimuli.rendered_conditions == ("ctl/backward", "top20")
    assert stimuli.mask_ids("top20") == ("b", "a")
    assert stimuli.rendered_ids("top20") == ("a",)
    for stimulus_id, mask in masks.items():
        read = stimuli.mask("top20", stimulus_id)
        assert read.dtype == np.float32
        np.testing.assert_array_equal(read, mask)
    read = stimuli.rendered("top20", "a")
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, rendered["a"])
    mask_record = stimuli.provenance("top20", kind="masks")
    assert mask_record["percent"] == 20 and mask_record["library_versions"]["numpy"]
    assert stimuli.provenance("top20", kind="rendered")["background"] == "grey"
    assert stimuli.map_sources == ()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(
            lambda p: append_masks(p, "c", {"a": np.full((2, 2), 1.5)}, provenance={}),
            ValueError,
            r"values must lie in \[0, 1\]",
            id="mask-range",
        ),
        pytest.param(
            lambda p: append_masks(p, "c", {"a": np.ones((2, 2, 3))}, provenance={}),
            ValueError,
            "2-D",
            id="mask-3d",
        ),
        pytest.param(
            lambda p: append_masks(p, "c", {"a": np.ones((2, 2))}, provenance=None),
            ValueError,
            "Missing provenance for mask condition 'c'",
            id="mask-provenance",
        ),
        pytest.param(
            lambda p: append_masks(p, "c//d", {"a": np.ones((2, 2))}, provenance={}),
            ValueError,
            "Invalid mask condition 'c//d'",
            id="mask-name",
        ),
        pytest.param(
            lambda p: append_rendered(p, "c", {"a": np.ones((2, 2, 3))}, provenance={}),
            ValueError,
            "rendered image of condition 'c'.*uint8",
            id="rendered-float",
        ),
        pytest.param(
            lambda p: append_rendered(p, "c", {"a": np.ones((2, 2), np.uint8)}, provenance={}),
            ValueError,
            r"\(H, W, 3\)",
            id="rendered-grey",
        ),
        pytest.param(
            lambda p: append_rendered(p, "c", {"zz": np.ones((2, 2, 3), np.uint8)}, provenance={}),
            KeyError,
            "'zz', which is not a stimulus id",
            id="rendered-id",
        ),
        pytest.param(
            lambda p: read_stimulus_set(p).provenance("c", kind="mask"),
            ValueError,
            "Allowed values are 'maps', 'masks', 'rendered', but got 'mask'",
            id="kind",
        ),
        pytest.param(
            lambda p: read_stimulus_set(p).rendered("top20", "a"),
            KeyError,
            "No rendered condition 'top20'",
            id="no-rendered",
        ),
        pytest.param(
            lambda p: read_stimulus_set(p).mask("top20", "img 3"),
            KeyError,
            "Mask condition 'top20' has no entry for stimulus 'img 3'; it has entries for 'b'",
            id="no-mask-for-id",
        ),
    ],
)
def test_mask_and_rendered_errors(bare, call, error, match):
    append_masks(bare, "top20", {"b": np.ones((6, 5))}, provenance={})
    with pytest.raises(error, match=match):
        call(bare)
    assert read_stimulus_set(bare).mask_conditions == ("top20",)


def test_streamed_creation_equals_write(tmp_path, written):
    from stimuli.stimulus_set._write import create_streaming

    path = create_streaming(
        tmp_path / "streamed.h5",
        iter(_images().items()),
        labels={"b": "dog", "a": "cat"},
        attrs={"build_status": "incomplete"},
    )
    streamed, whole = read_stimulus_set(path), read_stimulus_set(written)
    assert streamed.table.equals(whole.table)
    for stimulus_id in whole.ids:
        np.testing.assert_array_equal(streamed.image(stimulus_id), whole.image(stimulus_id))
    assert streamed.attrs["build_status"] == "incomplete"
    with pytest.raises(FileExistsError, match="exists already"):
        create_streaming(path, iter(_images().items()))


def test_interrupted_streamed_creation_leaves_nothing(tmp_path):
    from stimuli.stimulus_set._write import create_streaming

    def images():
        yield "a", np.zeros((2, 2, 3), np.uint8)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create_streaming(tmp_path / "s.h5", images())
    assert list(tmp_path.iterdir()) == []


def _shard(tmp_path: Path, set_path: Path, entries: dict) -> Path:
    from stimuli.stimulus_set._store import check_file, prepare_entries
    from stimuli.stimulus_set._write import SHARD_FORMAT_NAME, append_entries, create_shard

    shard = tmp_path / f"shard-{len(list(tmp_path.iterdir()))}.h5"
    create_shard(shard, target=set_path)
    with check_file(shard, mode="r+", format_name=SHARD_FORMAT_NAME) as file:
        for (kind, name), (arrays, provenance) in entries.items():
            append_entries(file, prepare_entries(kind, name, arrays, None, provenance))
    return shard


def test_merge_shards(tmp_path, bare):
    from stimuli.stimulus_set._write import merge_shards

    maps = {"a": np.ones((2, 2), np.float32), "b": np.full((3, 3), 0.5)}
    first = _shard(
        tmp_path,
        bare,
        {
            ("maps", "m/g"): ({"a": maps["a"]}, NETWORK_PROVENANCE),
            ("masks", "top"): ({"a": np.ones((2, 2))}, {"k": 1}),
        },
    )
    # The set has "a" already from an earlier merge; a second shard repeats it and adds "b".
    assert merge_shards(bare, [first]) == 2
    assert not first.exists()
    second = _shard(tmp_path, bare, {("maps", "m/g"): (maps, NETWORK_PROVENANCE)})
    assert merge_shards(bare, [second]) == 1
    stimuli = read_stimulus_set(bare)
    assert stimuli.map_ids("m/g") == ("b", "a") and stimuli.mask_ids("top") == ("a",)
    for stimulus_id, expected in maps.items():
        np.testing.assert_array_equal(stimuli.map("m/g", stimulus_id), expected)


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        pytest.param(
            {("maps", "m/g"): ({"b": np.ones((2, 2))}, {**NETWORK_PROVENANCE, "weights": "x"})},
            r"other settings than the shard's \(provenance keys \['weights'\]",
            id="provenance",
        ),
        pytest.param(
            {("maps", "m/g"): ({"zz": np.ones((2, 2))}, NETWORK_PROVENANCE)},
            r"ids \['zz'\] that the stimulus set .* does not have",
            id="other-set",
        ),
    ],
)
def test_merge_shards_errors(tmp_path, bare, entries, match):
    from stimuli.stimulus_set._write import merge_shards

    append_maps(bare, "m/g", {"a": np.ones((2, 2))}, provenance=NETWORK_PROVENANCE)
    shard = _shard(tmp_path, bare, entries)
    with pytest.raises(ValueError, match=match):
        merge_shards(bare, [shard])
    assert shard.exists()
    assert read_stimulus_set(bare).map_ids("m/g") == ("a",)


def test_cut_off_shard_is_named(tmp_path, bare):
    from stimuli.stimulus_set._write import merge_shards

    shard = _shard(tmp_path, bare, {("maps", "m/g"): ({"a": np.ones((9, 9))}, NETWORK_PROVENANCE)})
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{shard.name}.*Delete it and resume"):
        merge_shards(bare, [shard])


def test_reading_one_map_opens_one_dataset(bare, monkeypatch):
    # Finding an entry must walk the groups, not every map of every source: with tens of
    # thousands of maps, visiting each dataset cost seconds per read.
    many = {stimulus_id: np.ones((2, 2)) for stimulus_id in _images()}
    for index in range(4):
        append_maps(bare, f"m{index}/gradient", many, provenance=NETWORK_PROVENANCE)
        append_masks(bare, f"c{index}", many, provenance={"kind": "top_k"})
    stimuli = read_stimulus_set(bare)
    opened = []
    original = h5py.Dataset.__init__

    def counting(self, *args, **kwargs):
        opened.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__init__", counting)
    np.testing.assert_array_equal(stimuli.map("m2/gradient", "a"), np.ones((2, 2)))
    np.testing.assert_array_equal(stimuli.mask("c3", "b"), np.ones((2, 2)))
    assert stimuli.map_sources == tuple(f"m{index}/gradient" for index in range(4))
    assert len(opened) == 2
