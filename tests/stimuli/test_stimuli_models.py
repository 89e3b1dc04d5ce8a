"""Tests of stimuli.models: offline weight loading, provenance and preprocessing."""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from stimuli.attribution import attribute  # noqa: E402
from stimuli.models import IMAGENET_MEAN, IMAGENET_STD, Preprocess, load_model  # noqa: E402


@pytest.fixture()
def hub_dir(tmp_path):
    """An empty torch hub folder for the duration of a test."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    torch.hub.set_dir(old)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _saved_resnet18(path: Path, **kwargs) -> dict:
    torch.manual_seed(11)
    state = torchvision.models.resnet18(weights=None, **kwargs).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def _assert_state_equal(model, state) -> None:
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(loaded[key].cpu(), value), key


def test_random_weights_warn_and_say_so():
    with pytest.warns(UserWarning, match="randomly initialised weights"):
        loaded = load_model("resnet18", weights=None, input_size=64)
    assert loaded.provenance["weights"] == "random"
    assert "random" in loaded.provenance["warning"]
    assert loaded.provenance["weights_sha256"] is None
    assert loaded.identifier == "resnet18:random"
    assert not loaded.model.training
    record = loaded.map_provenance(method="gradient", parameters={"target": None})
    assert record["warning"] == loaded.provenance["warning"]
    assert (record["method"], record["parameters"]) == ("gradient", {"target": None})
    assert record["library_versions"]["torch"] == torch.__version__


def test_state_dict_file(tmp_path):
    path = tmp_path / "finetuned.pth"
    state = _saved_resnet18(path, num_classes=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_model("resnet18", weights=path, num_classes=10, input_size=64)
    checksum = _sha256(path)
    assert loaded.provenance["weights_sha256"] == checksum
    assert loaded.identifier == f"resnet18:file=finetuned.pth:sha256={checksum}"
    assert loaded.provenance["weights_file"] == str(path)
    assert loaded.provenance["model_options"] == {"num_classes": 10}
    _assert_state_equal(loaded.model, state)
    assert not loaded.model.training
    image = np.full((50, 70, 3), 128, np.uint8)
    result = attribute(loaded, loaded.preprocess(image)[None])
    assert result.shape == (1, 3, 64, 64)
    assert torch.isfinite(result).all() and result.abs().sum() > 0


def test_default_weights_missing_from_cache_names_the_file(hub_dir):
    url = torchvision.models.get_model_weights("resnet18").DEFAULT.url
    expected = hub_dir / "checkpoints" / os.path.basename(urlparse(url).path)
    with pytest.raises(FileNotFoundError, match=re.escape(str(expected))) as info:
        load_model("resnet18")
    assert "weights=None" in str(info.value) and url in str(info.value)
    assert not expected.exists()


def test_default_weights_from_cache(hub_dir):
    url = torchvision.models.get_model_weights("resnet18").DEFAULT.url
    cached = hub_dir / "checkpoints" / os.path.basename(urlparse(url).path)
    state = _saved_resnet18(cached)
    # Our file is not the released one, so its checksum differs from the one in the name.
    for weights in ("default", "IMAGENET1K_V1", "ResNet18_Weights.IMAGENET1K_V1"):
        with pytest.warns(UserWarning, match="does not match the checksum in its name"):
            loaded = load_model("resnet18", weights=weights, input_size=64)
        checksum = _sha256(cached)
        assert loaded.identifier == f"resnet18:IMAGENET1K_V1:sha256={checksum}"
        assert loaded.provenance["weights"] == "ResNet18_Weights.IMAGENET1K_V1"
        assert loaded.provenance["weights_file"] == str(cached)
        assert "checksum" in loaded.provenance["warning"]
        _assert_state_equal(loaded.model, state)


@pytest.mark.parametrize(
    ("name", "weights", "content", "error", "match"),
    [
        pytest.param(
            "resnet_nope",
            None,
            None,
            ValueError,
            "Allowed values are .*'resnet18'.*but got 'resnet_nope' instead",
            id="unknown-model",
        ),
        pytest.param("resnet18", "input_size", None, ValueError, "'input_size'", id="input-size"),
        pytest.param(
            "resnet18", "missing.pth", None, FileNotFoundError, "neither 'default'", id="no-file"
        ),
        pytest.param(
            "resnet18", "junk.pth", b"not a torch file", ValueError, "Could not read", id="junk"
        ),
        pytest.param(
            "resnet18", "list.pth", [1, 2], ValueError, "does not hold a state dict", id="list"
        ),
        pytest.param(
            "resnet18", "ten.pth", "10 classes", ValueError, "does not fit model", id="mismatch"
        ),
    ],
)
def test_load_errors(tmp_path, name, weights, content, error, match):
    path = tmp_path / weights if weights else None
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, list):
        torch.save(content, path)
    elif content == "10 classes":
        _saved_resnet18(path, num_classes=10)
    with pytest.raises(error, match=match):
        if weights == "input_size":
            load_model(name, weights=None, input_size=(64, 0))
        else:
            load_model(name, weights=path)


def test_preprocess_known_values():
    colour = np.array([10, 128, 250], np.uint8)
    image = np.broadcast_to(colour, (30, 40, 3)).copy()
    tensor = Preprocess(size=(16, 24))(image)
    assert tensor.shape == (3, 16, 24) and tensor.dtype == torch.float32
    expected = (colour / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    for channel in range(3):
        np.testing.assert_allclose(tensor[channel].numpy(), expected[channel], rtol=1e-5)


def test_preprocess_keeps_orientation_and_size():
    image = np.zeros((20, 30, 3), np.uint8)
    image[:10, :, 0] = 255  # top half red
    tensor = Preprocess(size=None)(image)
    assert tensor.shape == (3, 20, 30)
    assert tensor[0, 0, 0] > tensor[0, -1, 0]
    resized = Preprocess(size=(40, 60))(image)
    assert resized.shape == (3, 40, 60)
    assert resized[0, 5, 30] > resized[0, 35, 30]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: Preprocess(size=(0, 3)), "'size'", id="size"),
        pytest.param(lambda: Preprocess()(np.zeros((4, 4, 3))), "uint8", id="dtype"),
        pytest.param(lambda: Preprocess()(np.zeros((4, 4), np.uint8)), "H, W, 3", id="gray"),
        pytest.param(
            lambda: Preprocess(size=None).batch(
                [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)]
            ),
            "different sizes",
            id="batch-sizes",
        ),
    ],
)
def test_preprocess_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
