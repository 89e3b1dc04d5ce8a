"""Tests of build configurations: the example file, TOML loading, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from stimuli.build import (
    BuildConfig,
    BuildConfigError,
    ConditionSpec,
    MapOptions,
    MethodSpec,
    ModelSpec,
    RenderOptions,
    build_stimulus_set,
    load_build_config,
)

MINIMAL = """\
[input]
images = "imgs"
[output]
path = "out/set.h5"
[[models]]
model = "resnet18"
[[methods]]
method = "gradient"
"""


def test_example_config_loads(repo_root):
    path = repo_root / "configs" / "stimuli_build.toml"
    config = load_build_config(path)
    folder = path.parent
    assert config.images == folder / "../demo-output/photos"
    assert config.out == folder / "../stimuli-build/stimuli.h5"
    assert config.png_dir == folder / "../stimuli-build/png"
    assert config.path == path
    assert config.models == (ModelSpec("resnet18", weights=None, input_size=224),)
    assert [m.method for m in config.methods] == ["gradient", "gradcam", "smoothgrad"]
    assert [s for _, _, s in config.sources()] == [
        "resnet18/gradient",
        "resnet18/gradcam",
        "resnet18/smoothgrad",
    ]
    assert config.to_map_options(config.methods[1])["reduce"] == "positive"
    assert config.to_map_options(config.methods[0])["reduce"] == "abs_sum"
    assert config.maps.smooth_sigma_px == 2.0
    assert dict(config.methods[2].options) == {"n_samples": 8, "noise_level": 0.15}
    assert [c.control for c in config.conditions] == [
        "none",
        "permuted",
        "none",
        "random_smooth",
    ]
    assert config.conditions[3].match_coverage == "gradcam-reveal"
    assert config.render == RenderOptions(background="grey", backward_masks=True)
    assert config.describe()["models"][0]["model"] == "resnet18"


def test_minimal_config_defaults(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text(MINIMAL)
    config = load_build_config(path)
    assert config == BuildConfig(
        images=tmp_path / "imgs",
        out=tmp_path / "out" / "set.h5",
        models=(ModelSpec("resnet18"),),
        methods=(MethodSpec("gradient"),),
        path=path,
    )
    assert config.maps == MapOptions()
    assert config.models[0].weights == "default" and config.models[0].input_size == "auto"
    assert config.batch_size == 16 and config.device == "cpu" and config.seed == 0


def test_config_values(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text(
        _variant(
            'model = "resnet18"',
            'model = "resnet18"\nname = "r18"\ninput_size = [48, 64]\ntarget = 3\n'
            'weights = "/abs/w.pth"',
        )
        + """
[[methods]]
method = "gradcam"
name = "cam4"
layer = { r18 = "layer4" }
maps = { normalize = "none", size = [10, 20] }
[run]
batch_size = 4
device = "cuda:1"
autocast = "bf16"
[render]
background = [10, 20, 30]
size = [300, 400]
blend = "linear"
"""
    )
    config = load_build_config(path)
    model = config.models[0]
    assert (model.prefix, model.input_size, model.target, model.weights) == (
        "r18",
        (48, 64),
        3,
        "/abs/w.pth",
    )
    cam = config.methods[1]
    assert cam.layer_for("r18") == "layer4"
    assert config.to_map_options(cam)["normalize"] is None
    assert config.to_map_options(cam)["size"] == (10, 20)
    assert [s for _, _, s in config.sources()] == ["r18/gradient", "r18/cam4"]
    assert (config.batch_size, config.device, config.autocast) == (4, "cuda:1", "bf16")
    assert config.render.background == (10, 20, 30) and config.render.size == (300, 400)


def _variant(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


_CONDITION = """
[[conditions]]
name = "top"
source = "resnet18/gradient"
mask = "top_k"
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("[input\n", r"not valid TOML", id="toml"),
        pytest.param(MINIMAL + "[extra]\n", r": unknown section \[extra\]\. Allowed", id="section"),
        pytest.param(
            _variant("[output]", "[output]\nformat = 1"),
            r": \[output\]: unknown key 'format'\. Allowed keys are \['path', 'png_dir'\]",
            id="key",
        ),
        pytest.param(
            _variant('images = "imgs"\n', ""), r": \[input\]: missing key 'images'", id="images"
        ),
        pytest.param(
            _variant('model = "resnet18"', "model = 3"),
            r": \[models\]\[0\] model: expected a string, got 3",
            id="model-type",
        ),
        pytest.param(
            _variant('model = "resnet18"', 'model = "resnet81"'),
            r"\[models\]\[0\] model: invalid value\. Allowed values are \['alexnet', .* or "
            r"'module:callable' for your own model, but got 'resnet81' instead",
            id="model-name",
        ),
        pytest.param(
            _variant('model = "resnet18"', 'model = "resnet18"\ninput_size = "big"'),
            r"\[models\]\[0\] input_size: expected 'auto', an integer or a list of 2 integers, "
            r"got 'big'",
            id="input-size",
        ),
        pytest.param(
            _variant('model = "resnet18"', 'model = "resnet18"\ntarget = "cat"'),
            r"\[models\]\[0\] target: expected 'predicted' or an integer, got 'cat'",
            id="target",
        ),
        pytest.param(
            _variant('model = "resnet18"', 'model = "resnet18"\nresize = "crop"'),
            r"\[models\]\[0\] resize: invalid value\. Allowed values are \['whole', "
            r"'center_crop'\], but got 'crop' instead",
            id="resize",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "gradient"\nname = "a/b"'),
            r"\[methods\]\[0\] name: must not contain '/', got 'a/b'",
            id="method-name",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "guided_backprop_"'),
            r"\[methods\]\[0\] method: invalid value\. Allowed values are \['gradient', .*"
            r"but got 'guided_backprop_' instead",
            id="method",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "gradient"\noptions = { steps = 3 }'),
            r"\[methods\]\[0\] options: unknown option 'steps' for method 'gradient'\. Allowed "
            r"options are \[\]",
            id="option",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "gradient"\nlayer = "layer4"'),
            r"\[methods\]\[0\] layer: method 'gradient' takes no layer",
            id="layer",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "gradcam"\nlayer = { vgg = "features" }'),
            r"\[methods\]\[0\] layer: names model 'vgg', which is not a model of this build",
            id="layer-model",
        ),
        pytest.param(
            MINIMAL + '[[methods]]\nmethod = "gradient"\n',
            r"\[models\]/\[methods\] name: Map source 'resnet18/gradient' is given twice",
            id="twice",
        ),
        pytest.param(
            _variant('method = "gradient"', 'method = "gradient"\nmaps = { reduce = "mean" }'),
            r"\[methods\]\[0\] maps reduce: invalid value\. Allowed values are \['abs_sum', "
            r"'abs_max', 'l2', 'sum', 'positive'\], but got 'mean' instead",
            id="reduce",
        ),
        pytest.param(
            MINIMAL + "[maps]\nsmooth_sigma_px = -1\n",
            r"\[maps\] smooth_sigma_px: expected a number >= 0, got -1",
            id="sigma",
        ),
        pytest.param(
            MINIMAL + "[maps]\nsize = [0, 3]\n",
            r"\[maps\] size: expected 'image' or 'input' or \[height, width\] in pixels > 0",
            id="map-size",
        ),
        pytest.param(
            MINIMAL + "[run]\nbatch_size = 0\n",
            r"\[run\] batch_size: must be 1 or more, got 0",
            id="batch",
        ),
        pytest.param(
            MINIMAL + '[run]\ndevice = "gpu"\n',
            r"\[run\] device: expected 'cpu', 'cuda' or 'cuda:<n>', but got 'gpu'",
            id="device",
        ),
        pytest.param(
            MINIMAL + "[run]\nseed = 1.5\n",
            r"\[run\] seed: expected an integer, got 1\.5",
            id="seed",
        ),
        pytest.param(
            MINIMAL + '[render]\nbackground = "pink"\n',
            r"\[render\] background: invalid value\. Allowed values are \['grey', 'black', "
            r"'white', 'mean', 'mean_rgb'\], but got 'pink' instead",
            id="background",
        ),
        pytest.param(
            MINIMAL + "[render]\nbackground = 300\n",
            r"\[render\] background: expected one of .* a pixel value in \[0, 255\]",
            id="background-value",
        ),
        pytest.param(
            MINIMAL + _CONDITION.replace("resnet18/gradient", "vgg16/gradient"),
            r"\[conditions\]\[0\] source: invalid value\. Allowed values are "
            r"\['resnet18/gradient'\], but got 'vgg16/gradient' instead",
            id="condition-source",
        ),
        pytest.param(
            MINIMAL + _CONDITION.replace("top_k", "top-k"),
            r"\[conditions\]\[0\] mask: invalid value\. Allowed values are \['proportional', "
            r"'median', 'top_k'\], but got 'top-k' instead",
            id="mask-kind",
        ),
        pytest.param(
            MINIMAL + _CONDITION + 'control = "shuffled"\n',
            r"\[conditions\]\[0\] control: invalid value\. Allowed values are \['none', "
            r"'permuted', 'random_smooth', 'center_bias', 'inverted', 'rotated'\]",
            id="control",
        ),
        pytest.param(
            MINIMAL + _CONDITION + "control_options = { sigma = 2 }\n",
            r"\[conditions\]\[0\] control_options: unknown key 'sigma'\. Allowed keys are "
            r"\['seed', 'sigma_frac', 'iterations'\]",
            id="control-option",
        ),
        pytest.param(
            MINIMAL + _CONDITION + 'match_coverage = "later"\n',
            r"\[conditions\]\[0\] match_coverage: invalid value\. Allowed values are \[\], but "
            r"got 'later' instead",
            id="match-coverage",
        ),
        pytest.param(
            MINIMAL + _CONDITION + _CONDITION,
            r"\[conditions\] name: Mask condition 'top' is given twice",
            id="condition-twice",
        ),
        pytest.param(
            MINIMAL
            + _CONDITION.replace('name = "top"', 'name = "backward_mask"')
            + "[render]\nbackward_masks = true\n",
            r"Mask condition 'backward_mask' is given twice",
            id="backward-name",
        ),
        pytest.param(
            "conditions = 3\n" + MINIMAL,
            r": conditions: expected an array of tables \[\[conditions\]\], got 3",
            id="conditions-table",
        ),
    ],
)
def test_config_errors(tmp_path, text, match):
    path = tmp_path / "build.toml"
    path.write_text(text)
    with pytest.raises(BuildConfigError, match=f"^{path}" + match if match[0] == ":" else match):
        load_build_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(BuildConfigError, match=r"nothing\.toml: configuration file not found"):
        load_build_config(tmp_path / "nothing.toml")


def test_dataclass_configs_are_checked(tmp_path):
    config = BuildConfig(
        images=tmp_path,
        out=tmp_path / "s.h5",
        models=(ModelSpec("resnet18"),),
        methods=(MethodSpec("gradient"),),
        conditions=(ConditionSpec("c", "resnet18/gradient", "top_k", control="flipped"),),
    )
    with pytest.raises(BuildConfigError, match=r"^BuildConfig \[conditions\]\[0\] control"):
        build_stimulus_set(config)
    assert list(tmp_path.iterdir()) == []


def test_no_models_or_methods(tmp_path):
    config = BuildConfig(images=tmp_path, out=tmp_path / "s.h5", models=(), methods=())
    with pytest.raises(BuildConfigError, match=r"no models: give at least one \[\[models\]\]"):
        build_stimulus_set(config)


def test_specs_are_frozen():
    method = MethodSpec("gradcam", options={"upsample": True}, layer={"resnet18": "layer4"})
    with pytest.raises(TypeError):
        method.options["upsample"] = False  # type: ignore[index]
    with pytest.raises(AttributeError):
        method.method = "gradient"  # type: ignore[misc]


def test_example_paths_resolve_beside_the_file(repo_root):
    config = load_build_config(repo_root / "configs" / "stimuli_build.toml")
    assert Path(config.images).resolve() == (repo_root / "demo-output" / "photos").resolve()


def test_importing_build_does_not_load_torch(repo_root):
    import subprocess
    import sys

    code = (
        "import sys, stimuli.build, selectivity.cli.stimuli\n"
        "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
