"""Tests of the build engine: maps, masks and renders against direct computation; resume; shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from stimuli.attribution import ATTRIBUTION_METHODS, attribute  # noqa: E402
from stimuli.build import (  # noqa: E402
    BuildConfig,
    ConditionSpec,
    MethodSpec,
    ModelSpec,
    RenderOptions,
    _engine,
    build_stimulus_set,
)
from stimuli.build._dist import Ranks, shard_path  # noqa: E402
from stimuli.build._engine import Target, image_seed, maps_stage  # noqa: E402
from stimuli.maps import to_map  # noqa: E402
from stimuli.models import load_model  # noqa: E402
from stimuli.stimulus_set import read_stimulus_set  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Model 'resnet18' has randomly initialised")

ROOT = Path(__file__).resolve().parents[2]
IDS = ("a1", "b2", "c3", "d4", "e5", "f6")
SOURCE = "resnet18/gradient"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: on a loaded machine several threads wait for each other, and the
    subprocesses (torchrun, the killed run) use one thread too, so their sums match ours."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    """Six small images of different sizes: PNG, JPEG, grey PNG and RGBA PNG files."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    for index, stimulus_id in enumerate(IDS):
        bgr = rng.integers(0, 256, (20 + 3 * index, 28, 3), dtype=np.uint8)
        if stimulus_id == "c3":
            cv2.imwrite(str(folder / f"{stimulus_id}.png"), bgr[:, :, 0])
        elif stimulus_id == "d4":
            alpha = np.full((*bgr.shape[:2], 1), 255, np.uint8)
            cv2.imwrite(str(folder / f"{stimulus_id}.PNG"), np.concatenate([bgr, alpha], axis=2))
        elif stimulus_id == "e5":
            cv2.imwrite(str(folder / f"{stimulus_id}.jpg"), bgr)
        else:
            cv2.imwrite(str(folder / f"{stimulus_id}.png"), bgr)
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    return folder


def _config(images: Path, out: Path, **changes) -> BuildConfig:
    base = {
        "images": images,
        "out": out,
        "models": (ModelSpec("resnet18", weights=None, input_size=32),),
        "methods": (MethodSpec("gradient"),),
        "batch_size": 2,
    }
    return BuildConfig(**{**base, **changes})


def _decoded(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg")}


def _record_attribution(monkeypatch) -> list[list[str]]:
    """Record the ids of every attribution call the engine makes."""
    calls: list[list[str]] = []
    original = _engine._attribute

    def recorded(loaded, inputs, ids, *args, **kwargs):
        calls.append(list(ids))
        return original(loaded, inputs, ids, *args, **kwargs)

    monkeypatch.setattr(_engine, "_attribute", recorded)
    return calls


def _interrupt_after(monkeypatch, batches: int, stage: str = "maps") -> None:
    seen = []

    def interrupt(current, ids):
        if current == stage:
            seen.append(ids)
            if len(seen) == batches:
                raise KeyboardInterrupt

    monkeypatch.setattr(_engine, "_batch_done", interrupt)


def _assert_same_entries(path: Path, reference: Path, *, exact: bool) -> None:
    """Same table, entries and provenance; arrays equal, or maps close when not ``exact``.

    Maps computed in batches of other compositions or with other thread counts differ in the
    last bits of float32 (another summation order), so they are compared with a tolerance;
    masks made from them could then differ at ties, so inexact comparisons cover maps only.
    """
    built, expected = read_stimulus_set(path), read_stimulus_set(reference)
    assert built.ids == expected.ids
    assert built.table.equals(expected.table)
    kinds = (("maps", "map_sources", "map"), ("masks", "mask_conditions", "mask"))
    for kind, names, getter in (*kinds, ("rendered", "rendered_conditions", "rendered")):
        assert getattr(built, names) == getattr(expected, names)
        assert exact or kind == "maps" or not getattr(expected, names)
        for name in getattr(expected, names):
            first, second = built.provenance(name, kind=kind), expected.provenance(name, kind=kind)
            assert first == second
            for stimulus_id in expected.ids:
                got = getattr(built, getter)(name, stimulus_id)
                want = getattr(expected, getter)(name, stimulus_id)
                assert got.dtype == want.dtype
                if exact:
                    np.testing.assert_array_equal(got, want)
                else:
                    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def reference(image_dir, tmp_path_factory) -> Path:
    """One uninterrupted single-process build of the gradient maps."""
    out = tmp_path_factory.mktemp("reference") / "set.h5"
    return build_stimulus_set(_config(image_dir, out), progress=False)


def test_maps_equal_direct_computation(image_dir, reference):
    stimuli = read_stimulus_set(reference)
    assert stimuli.ids == IDS
    assert stimuli.attrs["build_status"] == "complete"
    assert json.loads(stimuli.attrs["build_config"])["models"][0]["model"] == "resnet18"
    files = _files(image_dir)
    torch.manual_seed(0)
    loaded = load_model("resnet18", weights=None, input_size=32)
    for stimulus_id in IDS:
        image = _decoded(files[stimulus_id])
        np.testing.assert_array_equal(stimuli.image(stimulus_id), image)
        raw = attribute(loaded, loaded.preprocess(image)[None], method="gradient")
        expected = to_map(raw[0], size=image.shape[:2])
        stored = stimuli.map(SOURCE, stimulus_id)
        assert stored.dtype == np.float32 and stored.shape == image.shape[:2]
        np.testing.assert_allclose(stored, expected, rtol=1e-4, atol=1e-6)
    record = stimuli.provenance(SOURCE)
    assert record["model"] == "resnet18" and record["weights"] == "random"
    assert record["method"] == "gradient"
    assert record["parameters"]["to_map"] == {
        "reduce": "abs_sum",
        "smooth_sigma_px": 0.0,
        "clip_percentile": None,
        "normalize": "minmax",
        "size": "image",
    }
    assert record["parameters"]["random_weights_seed"] == 0
    assert record["parameters"]["target"] == "predicted"
    assert record["preprocess"]["size_hw"] == [32, 32]
    assert record["library_versions"]["torch"] == torch.__version__


def test_weights_file_and_labels(image_dir, tmp_path):
    torch.manual_seed(3)
    weights = tmp_path / "r18.pth"
    torch.save(load_model("resnet18", weights=None).model.state_dict(), weights)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\na1.png,dog\nc3,cat\n")
    config = _config(
        image_dir,
        tmp_path / "s.h5",
        labels=labels,
        models=(ModelSpec("resnet18", name="mine", weights=str(weights), input_size=32),),
    )
    stimuli = read_stimulus_set(build_stimulus_set(config, progress=False))
    assert stimuli.table["label"].tolist() == ["dog", "", "cat", "", "", ""]
    import hashlib

    record = stimuli.provenance("mine/gradient")
    assert record["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert "random_weights_seed" not in record["parameters"]


def test_existing_output_is_refused(image_dir, reference, tmp_path):
    before = reference.read_bytes()
    with pytest.raises(FileExistsError, match=f"{reference}; pass --resume"):
        build_stimulus_set(_config(image_dir, reference), progress=False)
    assert reference.read_bytes() == before


def test_resume_after_interruption(image_dir, reference, tmp_path, monkeypatch):
    out = tmp_path / "set.h5"
    config = _config(image_dir, out)
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        build_stimulus_set(config, progress=False)
    stimuli = read_stimulus_set(out)
    assert stimuli.attrs["build_status"] == "incomplete"
    assert stimuli.map_ids(SOURCE) == IDS[:4]
    finished = {i: stimuli.map(SOURCE, i) for i in IDS[:4]}
    with pytest.raises(FileExistsError, match="pass --resume"):
        build_stimulus_set(config, progress=False)
    monkeypatch.setattr(_engine, "_batch_done", lambda stage, ids: None)
    calls = _record_attribution(monkeypatch)
    build_stimulus_set(config, resume=True, progress=False)
    assert calls == [list(IDS[4:])]
    assert read_stimulus_set(out).attrs["build_status"] == "complete"
    for stimulus_id, array in finished.items():
        np.testing.assert_array_equal(stimuli.map(SOURCE, stimulus_id), array)
    _assert_same_entries(out, reference, exact=True)
    # A finished build resumed again computes and changes nothing.
    attributes = read_stimulus_set(out).attrs
    build_stimulus_set(config, resume=True, progress=False)
    assert calls == [list(IDS[4:])]
    assert read_stimulus_set(out).attrs == attributes


@pytest.mark.slow
def test_killed_process_resumes(image_dir, reference, tmp_path):
    out = tmp_path / "set.h5"
    code = (
        "import os, signal, sys\n"
        "import stimuli.build._engine as engine\n"
        "done = []\n"
        "def kill(stage, ids):\n"
        "    done.append(ids)\n"
        "    if len(done) == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "engine._batch_done = kill\n"
        "from selectivity.cli.stimuli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    arguments = [
        "maps",
        str(image_dir),
        "--model",
        "resnet18",
        "--weights",
        "none",
        "--method",
        "gradient",
        "--input-size",
        "32",
        "--batch-size",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_environment(),
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert read_stimulus_set(out).map_ids(SOURCE) == IDS[:4]
    from selectivity.cli.stimuli import main

    assert main([*arguments, "--resume"]) == 0
    _assert_same_entries(out, reference, exact=False)


def test_resume_refuses_other_settings(image_dir, reference, tmp_path):
    out = tmp_path / "set.h5"
    out.write_bytes(reference.read_bytes())
    changed = _config(image_dir, out, methods=(MethodSpec("gradient", maps={"reduce": "l2"}),))
    match = r"'resnet18/gradient' made with other settings \(provenance keys \['parameters'\]"
    with pytest.raises(ValueError, match=match):
        build_stimulus_set(changed, resume=True, progress=False)
    _assert_same_entries(out, reference, exact=True)
    assert read_stimulus_set(out).attrs == read_stimulus_set(reference).attrs


def test_resume_extends_a_set(image_dir, reference, tmp_path, monkeypatch):
    out = tmp_path / "set.h5"
    out.write_bytes(reference.read_bytes())
    methods = (MethodSpec("gradient"), MethodSpec("gradient", name="l2", maps={"reduce": "l2"}))
    calls = _record_attribution(monkeypatch)
    build_stimulus_set(_config(image_dir, out, methods=methods), resume=True, progress=False)
    assert calls == [list(IDS[0:2]), list(IDS[2:4]), list(IDS[4:6])]
    stimuli = read_stimulus_set(out)
    assert stimuli.map_sources == ("resnet18/gradient", "resnet18/l2")
    gradient = read_stimulus_set(reference)
    for stimulus_id in IDS:
        np.testing.assert_array_equal(
            stimuli.map(SOURCE, stimulus_id), gradient.map(SOURCE, stimulus_id)
        )
    assert stimuli.provenance("resnet18/l2")["parameters"]["to_map"]["reduce"] == "l2"


def test_resume_with_other_images_is_refused(image_dir, reference, tmp_path):
    folder = tmp_path / "fewer"
    folder.mkdir()
    (folder / "a1.png").write_bytes((image_dir / "a1.png").read_bytes())
    out = tmp_path / "set.h5"
    out.write_bytes(reference.read_bytes())
    with pytest.raises(ValueError, match=r"made from other images .* only in the set \['b2'"):
        build_stimulus_set(_config(folder, out), resume=True, progress=False)


def test_left_over_shards_are_merged(image_dir, reference, tmp_path, monkeypatch):
    out = tmp_path / "set.h5"
    config = _config(image_dir, out)
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        build_stimulus_set(config, progress=False)
    # What rank 1 of a killed two-process run leaves: a shard with b2 done already, d4, f6.
    rank1 = Ranks(rank=1, world=2)
    stimuli = read_stimulus_set(out)
    _interrupt_after(monkeypatch, 1)
    target = Target(config, rank1, resume=False)
    with pytest.raises(KeyboardInterrupt):
        maps_stage(config, stimuli, IDS[1::2], target, rank1, progress=False)
    shard = shard_path(out, 1)
    assert shard.exists() and stimuli.map_ids(SOURCE) == IDS[:2]
    with pytest.raises(FileExistsError, match=f"{shard}"):
        build_stimulus_set(config, progress=False)
    monkeypatch.setattr(_engine, "_batch_done", lambda stage, ids: None)
    calls = _record_attribution(monkeypatch)
    build_stimulus_set(config, resume=True, progress=False)
    assert calls == [["c3", "e5"]]
    assert not shard.exists()
    _assert_same_entries(out, reference, exact=False)


def test_shards_without_their_set_are_refused(image_dir, tmp_path):
    out = tmp_path / "set.h5"
    shard_path(out, 0).write_bytes(b"")
    with pytest.raises(FileExistsError, match="does not exist; delete them"):
        build_stimulus_set(_config(image_dir, out), resume=True, progress=False)


@pytest.mark.skipif("smoothgrad" not in ATTRIBUTION_METHODS, reason="no smoothgrad")
def test_random_draws_do_not_depend_on_batching(image_dir, tmp_path):
    method = MethodSpec("smoothgrad", options={"n_samples": 2, "noise_level": 0.2})
    paths = [
        build_stimulus_set(
            _config(image_dir, tmp_path / f"{size}.h5", methods=(method,), batch_size=size),
            progress=False,
        )
        for size in (1, 4)
    ]
    # Each image is attributed on its own with its own seed, whatever the batch size.
    _assert_same_entries(paths[0], paths[1], exact=True)
    reseeded = _config(image_dir, tmp_path / "seed.h5", methods=(method,), seed=5)
    other = read_stimulus_set(build_stimulus_set(reseeded, progress=False))
    first = read_stimulus_set(paths[0])
    source = "resnet18/smoothgrad"
    assert not np.allclose(other.map(source, "a1"), first.map(source, "a1"), atol=1e-3)
    assert first.provenance(source)["parameters"]["seed"].startswith("per image")


def test_centre_crop_maps_cover_the_crop(tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir()
    cv2.imwrite(str(folder / "w.png"), np.random.default_rng(0).integers(0, 256, (20, 40, 3)))
    model = ModelSpec("resnet18", weights=None, input_size=16, resize="center_crop")
    path = build_stimulus_set(_config(folder, tmp_path / "s.h5", models=(model,)), progress=False)
    stored = read_stimulus_set(path).map(SOURCE, "w")
    # resnet18's recipe resizes to 256 and crops 224; for a 16 px input the shorter side goes
    # to round(256 * 16 / 224) = 18, so the 20 x 40 image becomes 18 x 36 and the crop is
    # rows 1..17, columns 10..26 there: rows 1.11..18.89, columns 11.11..28.89 of the image.
    rows, cols = np.nonzero(stored)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (1, 19, 11, 29)
    assert stored.max() == pytest.approx(1.0)


def test_image_folder_errors(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"No images in .*imgs: expected files ending in"):
        build_stimulus_set(_config(folder, tmp_path / "s.h5"), progress=False)
    image = np.zeros((4, 4, 3), np.uint8)
    cv2.imwrite(str(folder / "x.png"), image)
    cv2.imwrite(str(folder / "x.jpg"), image)
    with pytest.raises(ValueError, match=r"have the id 'x': x\.jpg and x\.png"):
        build_stimulus_set(_config(folder, tmp_path / "s.h5"), progress=False)
    (folder / "x.jpg").unlink()
    (folder / "y.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"Could not decode the image file .*y\.png"):
        build_stimulus_set(_config(folder, tmp_path / "s.h5"), progress=False)
    assert not (tmp_path / "s.h5").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["imgs"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("name,label\na1,dog\n", r"line 1: the header must name", id="header"),
        pytest.param("id,label\na1,dog\nzz,cat\n", r"line 3: 'zz' is not an image", id="id"),
        pytest.param("id,label\na1,dog\na1.png,cat\n", r"line 3: a second label", id="twice"),
    ],
)
def test_label_errors(image_dir, tmp_path, text, match):
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    with pytest.raises(ValueError, match=f"{labels.name}: {match}"):
        build_stimulus_set(_config(image_dir, tmp_path / "s.h5", labels=labels))
    assert not (tmp_path / "s.h5").exists()


CONDITIONS = (
    ConditionSpec("top", SOURCE, "top_k", mask_options={"percent": 25}),
    ConditionSpec("perm", SOURCE, "top_k", mask_options={"percent": 25}, control="permuted"),
    ConditionSpec("soft", SOURCE, "proportional", render=False),
    ConditionSpec("smooth", SOURCE, "proportional", control="random_smooth", match_coverage="soft"),
)
RENDER = RenderOptions(background="black", size=(12, 16), backward_masks=True)


@pytest.fixture(scope="module")
def with_masks(image_dir, reference, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("masks")
    out = folder / "set.h5"
    out.write_bytes(reference.read_bytes())
    config = _config(
        image_dir, out, conditions=CONDITIONS, render=RENDER, png_dir=folder / "png", seed=0
    )
    return build_stimulus_set(config, resume=True, progress=False)


def test_masks_and_renders_equal_direct_computation(with_masks):
    from stimuli.masks import control_maps, make_mask
    from stimuli.render import phase_scrambled_mask, render

    stimuli = read_stimulus_set(with_masks)
    assert stimuli.mask_conditions == ("perm", "smooth", "soft", "top")
    assert stimuli.rendered_conditions == ("backward_mask", "perm", "smooth", "top")
    for index, stimulus_id in enumerate(IDS):
        image = stimuli.image(stimulus_id)
        own = stimuli.map(SOURCE, stimulus_id)
        following = stimuli.map(SOURCE, IDS[(index + 1) % len(IDS)])  # circular
        top = make_mask(own, kind="top_k", percent=25)
        permuted = control_maps([own, following], kind="permuted")[0]
        expected = {
            "top": top,
            "perm": make_mask(permuted, kind="top_k", percent=25),
            "soft": make_mask(own, kind="proportional"),
        }
        for name, mask in expected.items():
            np.testing.assert_allclose(stimuli.mask(name, stimulus_id), mask, atol=1e-6)
        assert stimuli.mask("top", stimulus_id).mean() == pytest.approx(0.25, abs=1e-6)
        smooth = stimuli.mask("smooth", stimulus_id)
        assert smooth.mean() == pytest.approx(expected["soft"].mean(), abs=1e-5)
        for name in ("top", "perm", "smooth"):
            mask = stimuli.mask(name, stimulus_id)
            shown = render(image, mask, background="black", size=(12, 16))
            np.testing.assert_array_equal(stimuli.rendered(name, stimulus_id), shown)
        backward = phase_scrambled_mask(image, rng=image_seed(0, stimulus_id), size=(12, 16))
        np.testing.assert_array_equal(stimuli.rendered("backward_mask", stimulus_id), backward)
    record = stimuli.provenance("smooth", kind="masks")
    assert record["control"] == "random_smooth" and record["match_coverage"] == "soft"
    assert stimuli.provenance("top", kind="rendered")["background"] == "black"


def test_png_export(with_masks):
    stimuli = read_stimulus_set(with_masks)
    folder = with_masks.parent / "png"
    for stimulus_id in IDS:
        np.testing.assert_array_equal(
            _decoded(folder / "images" / f"{stimulus_id}.png"), stimuli.image(stimulus_id)
        )
        for condition in stimuli.rendered_conditions:
            np.testing.assert_array_equal(
                _decoded(folder / condition / f"{stimulus_id}.png"),
                stimuli.rendered(condition, stimulus_id),
            )
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["images", *stimuli.rendered_conditions]
    )


def test_masks_resume_after_interruption(image_dir, reference, with_masks, tmp_path, monkeypatch):
    out = tmp_path / "set.h5"
    out.write_bytes(reference.read_bytes())
    config = _config(image_dir, out, conditions=CONDITIONS, render=RENDER, seed=0)
    _interrupt_after(monkeypatch, 1, stage="masks")
    with pytest.raises(KeyboardInterrupt):
        build_stimulus_set(config, resume=True, progress=False)
    assert read_stimulus_set(out).mask_ids("top") == IDS[:2]
    monkeypatch.setattr(_engine, "_batch_done", lambda stage, ids: None)
    build_stimulus_set(config, resume=True, progress=False)
    _assert_same_entries(out, with_masks, exact=True)


@pytest.mark.slow
def test_torchrun_equals_one_process(image_dir, tmp_path):
    # One image per batch and one thread per process in both runs: the same float operations
    # in the same order, so the merged file must equal the one-process file bit for bit.
    single = _config(
        image_dir, tmp_path / "one" / "set.h5", conditions=CONDITIONS, render=RENDER, batch_size=1
    )
    reference = build_stimulus_set(single, progress=False)
    config = tmp_path / "build.toml"
    config.write_text(
        f"""
[input]
images = "{image_dir}"
[output]
path = "{tmp_path / "set.h5"}"
[run]
batch_size = 1
[[models]]
model = "resnet18"
weights = "none"
input_size = 32
[[methods]]
method = "gradient"
[render]
background = "black"
size = [12, 16]
backward_masks = true
[[conditions]]
name = "top"
source = "{SOURCE}"
mask = "top_k"
mask_options = {{ percent = 25 }}
[[conditions]]
name = "perm"
source = "{SOURCE}"
mask = "top_k"
mask_options = {{ percent = 25 }}
control = "permuted"
[[conditions]]
name = "soft"
source = "{SOURCE}"
mask = "proportional"
render = false
[[conditions]]
name = "smooth"
source = "{SOURCE}"
mask = "proportional"
control = "random_smooth"
match_coverage = "soft"
"""
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        "-m",
        "selectivity.cli.stimuli",
        "build",
        str(config),
        "--no-progress",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_environment())
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Stimulus set:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.toml", "one", "set.h5"]
    stimuli = read_stimulus_set(tmp_path / "set.h5")
    assert stimuli.attrs["build_status"] == "complete"
    _assert_same_entries(tmp_path / "set.h5", reference, exact=True)


@pytest.mark.slow
def test_example_config_runs(repo_root, shared_data, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for number in (10, 115):
        name = f"image_r_{number}.jpg"
        (folder / name).symlink_to(shared_data / "langlois2021" / "images" / name)
    text = (repo_root / "configs" / "stimuli_build.toml").read_text()
    replaced = {
        'images = "../demo-output/photos"': f'images = "{folder}"',
        'path = "../stimuli-build/stimuli.h5"': f'path = "{tmp_path / "out" / "s.h5"}"',
        'png_dir = "../stimuli-build/png"': f'png_dir = "{tmp_path / "out" / "png"}"',
        "input_size = 224": "input_size = 32",
    }
    for old, new in replaced.items():
        assert old in text
        text = text.replace(old, new)
    config = tmp_path / "build.toml"
    config.write_text(text)
    stimuli = read_stimulus_set(build_stimulus_set(config, progress=False))
    assert stimuli.ids == ("image_r_10", "image_r_115")
    assert stimuli.map_sources == ("resnet18/gradcam", "resnet18/gradient", "resnet18/smoothgrad")
    assert len(stimuli.rendered_conditions) == 5
    for stimulus_id in stimuli.ids:
        assert stimuli.map("resnet18/gradcam", stimulus_id).shape == (405, 405)
        coverage = stimuli.mask("gradient-top20", stimulus_id).mean()
        assert coverage == pytest.approx(0.2, abs=1e-6)
    assert len(list((tmp_path / "out" / "png").rglob("*.png"))) == 2 * 6


def test_failed_first_run_leaves_no_set(image_dir, tmp_path):
    out = tmp_path / "set.h5"
    missing = ModelSpec("resnet18", weights=str(tmp_path / "missing.pth"), input_size=32)
    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        build_stimulus_set(_config(image_dir, out, models=(missing,)), progress=False)
    assert list(tmp_path.iterdir()) == []
    # The corrected command runs without --resume.
    build_stimulus_set(_config(image_dir, out), progress=False)
    assert read_stimulus_set(out).map_ids(SOURCE) == IDS
