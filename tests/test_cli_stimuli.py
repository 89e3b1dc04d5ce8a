"""The ``selectivity stimuli`` commands: help, maps and build, errors reported as messages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from selectivity.cli.stimuli import main

pytestmark = pytest.mark.filterwarnings("ignore:Model 'resnet18' has randomly initialised")


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: several wait for each other on a loaded machine."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for name in ("cat", "dog", "owl"):
        cv2.imwrite(str(folder / f"{name}.png"), rng.integers(0, 256, (18, 26, 3), np.uint8))
    return folder


def _maps(images: Path, out: Path, *extra: str) -> list[str]:
    return [
        "maps",
        str(images),
        "--model",
        "resnet18",
        "--weights",
        "none",
        "--input-size",
        "32",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--help"], ["maps", "build"], id="stimuli"),
        pytest.param(["maps", "--help"], ["--resume", "--batch-size", "torchrun"], id="maps"),
        pytest.param(["build", "--help"], ["CONFIG", "--resume", "torchrun"], id="build"),
    ],
)
def test_help(argv, expected, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: selectivity stimuli")
    for text in expected:
        assert text in out


def test_the_selectivity_command_has_stimuli(capsys):
    from selectivity.cli import main as selectivity

    with pytest.raises(SystemExit) as info:
        selectivity(["stimuli", "maps", "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: selectivity stimuli maps")


def test_maps_command(images, tmp_path, capsys):
    pytest.importorskip("torchvision")
    from stimuli.stimulus_set import read_stimulus_set

    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\ncat.png,cat\nowl,bird\n")
    out = tmp_path / "set.h5"
    argv = _maps(images, out, "--method", "gradient", "--method", "gradcam", "--layer", "layer3")
    code = main([*argv, "--labels", str(labels), "--batch-size", "2", "--target", "5"])
    assert code == 0
    assert capsys.readouterr().out == f"Stimulus set: {out}\n"
    stimuli = read_stimulus_set(out)
    assert stimuli.ids == ("cat", "dog", "owl")
    assert stimuli.table["label"].tolist() == ["cat", "", "bird"]
    assert stimuli.map_sources == ("resnet18/gradcam", "resnet18/gradient")
    for source in stimuli.map_sources:
        assert stimuli.map_ids(source) == stimuli.ids
        assert stimuli.map(source, "dog").shape == (18, 26)
    # --layer goes to the methods that take a layer only.
    assert stimuli.provenance("resnet18/gradcam")["parameters"]["layer"] == "layer3"
    assert stimuli.provenance("resnet18/gradient")["parameters"]["layer"] is None
    assert stimuli.provenance("resnet18/gradient")["parameters"]["target"] == 5


def test_existing_output_needs_resume(images, tmp_path, capsys):
    pytest.importorskip("torchvision")
    out = tmp_path / "set.h5"
    assert main(_maps(images, out, "--method", "gradient")) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(_maps(images, out, "--method", "gradient")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"selectivity: error: The build output exists already: {out}; pass")
    assert out.read_bytes() == before
    assert main(_maps(images, out, "--method", "gradient", "--resume")) == 0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        pytest.param(
            ["--method", "gradiant"],
            "[methods][0] method: invalid value. Allowed values are ['gradient',",
            id="method",
        ),
        pytest.param(
            ["--method", "gradient", "--device", "gpu"],
            "[run] device: expected 'cpu', 'cuda' or 'cuda:<n>', but got 'gpu' instead",
            id="device",
        ),
        pytest.param(
            ["--method", "gradient", "--batch-size", "0"],
            "[run] batch_size: must be 1 or more, got 0",
            id="batch-size",
        ),
        pytest.param(
            ["--method", "gradient", "--labels", "missing.csv"],
            "The labels file missing.csv does not exist.",
            id="labels",
        ),
    ],
)
def test_maps_errors(images, tmp_path, capsys, extra, match):
    out = tmp_path / "set.h5"
    assert main(_maps(images, out, *extra)) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


def test_missing_images_folder(tmp_path, capsys):
    argv = _maps(tmp_path / "nothing", tmp_path / "s.h5", "--method", "gradient")
    assert main(argv) == 2
    assert f"The images folder {tmp_path / 'nothing'} does not exist." in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        pytest.param("--input-size", "big", "expected 'auto', N or HxW", id="input-size"),
        pytest.param("--input-size", "0x5", "expected 'auto', N or HxW", id="input-zero"),
        pytest.param("--target", "cat", "expected 'predicted' or a class index", id="target"),
        pytest.param("--target", "-1", "class indices are >= 0", id="target-negative"),
        pytest.param("--autocast", "fp8", "invalid choice: 'fp8'", id="autocast"),
    ],
)
def test_argument_errors(images, tmp_path, capsys, option, value, match):
    with pytest.raises(SystemExit) as info:
        main([*_maps(images, tmp_path / "s.h5", "--method", "gradient"), option, value])
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_build_command(images, tmp_path, capsys):
    pytest.importorskip("torchvision")
    from stimuli.stimulus_set import read_stimulus_set

    config = tmp_path / "build.toml"
    config.write_text(
        f"""
[input]
images = "{images.name}"
[output]
path = "out/set.h5"
[[models]]
model = "resnet18"
weights = "none"
input_size = 32
[[methods]]
method = "gradient"
[[conditions]]
name = "half"
source = "resnet18/gradient"
mask = "top_k"
mask_options = {{ percent = 50 }}
"""
    )
    assert main(["build", str(config), "--no-progress"]) == 0
    out = tmp_path / "out" / "set.h5"
    assert capsys.readouterr().out == f"Stimulus set: {out}\n"
    stimuli = read_stimulus_set(out)
    assert stimuli.mask_conditions == ("half",) and stimuli.rendered_conditions == ("half",)
    assert stimuli.mask("half", "owl").mean() == pytest.approx(0.5)


def test_build_config_errors_are_reported(tmp_path, capsys):
    config = tmp_path / "build.toml"
    config.write_text("[input]\nimages = 'x'\n[output]\npath = 's.h5'\n[run]\nbatch = 2\n")
    assert main(["build", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"selectivity: error: {config}: [run]: unknown key 'batch'. Allowed keys are" in err
