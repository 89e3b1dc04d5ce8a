"""Method options: baselines and normalisation, layers, autocast, the registry, and bad values."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
from torch import nn  # noqa: E402

from stimuli.attribution import ATTRIBUTION_METHODS, attribute  # noqa: E402
from stimuli.attribution._baseline import gaussian_blur  # noqa: E402
from stimuli.models import LoadedModel, Preprocess  # noqa: E402

C, H, W, K = 3, 6, 7, 4
MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)


@pytest.fixture()
def linear() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(C * H * W, K)).double()


@pytest.fixture()
def x() -> torch.Tensor:
    return torch.randn(2, C, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def _rows(model: nn.Sequential, target: int) -> torch.Tensor:
    return model[1].weight.detach()[target].reshape(1, C, H, W)


def _black(dtype=torch.float64) -> torch.Tensor:
    mean, std = torch.tensor(MEAN, dtype=dtype), torch.tensor(STD, dtype=dtype)
    return ((0 - mean) / std).view(1, C, 1, 1)


def test_black_baseline_is_black_in_pixel_space(linear, x):
    ig = attribute(
        linear, x, method="integrated_gradients", target=2, normalization=(MEAN, STD), steps=3
    )
    torch.testing.assert_close(ig, (x - _black()) * _rows(linear, 2))
    # A LoadedModel brings its preprocessing's normalisation.
    loaded = LoadedModel(
        model=linear, preprocess=Preprocess(size=(H, W), mean=MEAN, std=STD), identifier="lin"
    )
    torch.testing.assert_close(attribute(loaded, x, method="integrated_gradients", target=2), ig)


def test_black_without_normalisation_warns_for_normalised_looking_inputs(linear, x):
    with pytest.warns(UserWarning, match="mean colour, not black"):
        ig = attribute(linear, x, method="integrated_gradients", target=1, steps=3)
    torch.testing.assert_close(ig, x * _rows(linear, 1))
    zeros = attribute(linear, x, method="integrated_gradients", target=1, baseline="zeros")
    torch.testing.assert_close(zeros, ig)


def test_blurred_baseline(linear, x):
    ig = attribute(
        linear, x, method="integrated_gradients", target=0, baseline="blurred", blur_sigma_px=1.5
    )
    torch.testing.assert_close(ig, (x - gaussian_blur(x, 1.5)) * _rows(linear, 0))


def test_gaussian_blur_matches_scipy():
    # Reference: scipy.ndimage.gaussian_filter, an independent implementation, per channel.
    from scipy import ndimage

    images = torch.rand(
        2, 3, 17, 23, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    )
    for sigma in (0.8, 2.5):
        expected = ndimage.gaussian_filter(
            images.numpy(), sigma=(0, 0, sigma, sigma), mode="nearest", truncate=4.0
        )
        np.testing.assert_allclose(gaussian_blur(images, sigma).numpy(), expected, atol=1e-12)


def test_uniform_baseline_lies_in_the_pixel_range(linear, x):
    # On a linear model IG = (x - baseline) * w, so the baseline can be read back.
    ig = attribute(
        linear, x, method="integrated_gradients", target=3, baseline="uniform",
        normalization=(MEAN, STD), seed=7,
    )  # fmt: skip
    baseline = x - ig / _rows(linear, 3)
    pixels = baseline * torch.tensor(STD).view(1, C, 1, 1) + torch.tensor(MEAN).view(1, C, 1, 1)
    assert pixels.min() >= -1e-9 and pixels.max() <= 1 + 1e-9
    assert pixels.std() > 0.2  # uniform on [0, 1] has sd 0.29
    plain = attribute(linear, x, method="integrated_gradients", target=3, baseline="uniform")
    recovered = x - plain / _rows(linear, 3)
    low = x.amin(dim=(1, 2, 3), keepdim=True)
    high = x.amax(dim=(1, 2, 3), keepdim=True)
    assert (recovered >= low - 1e-9).all() and (recovered <= high + 1e-9).all()


def test_per_image_baseline_follows_its_image_across_batches(linear, x):
    baselines = torch.stack([torch.full((C, H, W), 1.0), torch.full((C, H, W), -2.0)]).double()
    for batch_size in (1, 2):
        ig = attribute(
            linear, x, method="integrated_gradients", target=0, baseline=baselines,
            batch_size=batch_size,
        )  # fmt: skip
        torch.testing.assert_close(ig, (x - baselines) * _rows(linear, 0))
    channel = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64).view(C, 1, 1)
    ig = attribute(linear, x, method="occlusion", target=0, baseline=channel, window=(H, W))
    drop = ((x - channel) * _rows(linear, 0)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(ig, drop.view(2, 1, 1, 1).expand_as(x))


def test_autocast_bf16_on_cpu_is_close_to_float32():
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(32, K),
    )  # fmt: skip
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    for method in ("gradient", "guided_backprop", "gradcam"):
        layer = {"layer": "1"} if method == "gradcam" else {}
        full = attribute(model, x, method=method, target=1, **layer)
        half = attribute(model, x, method=method, target=1, autocast="bf16", **layer)
        assert half.dtype == torch.float32 and not torch.equal(half, full)
        assert torch.corrcoef(torch.stack([half.flatten(), full.flatten()]))[0, 1] > 0.99


def test_default_layer_comes_from_the_architecture():
    torch.manual_seed(0)
    model = torchvision.models.squeezenet1_1(num_classes=K).eval()
    x = torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    default = attribute(model, x, method="gradcam", target=1, upsample=False)
    named = attribute(model, x, method="gradcam", target=1, upsample=False, layer="features")
    assert default.shape == (1, 1, 2, 2)
    torch.testing.assert_close(default, named)


def test_registry_entries_describe_their_methods():
    pixel = {"gradient", "input_x_gradient", "guided_backprop", "deconvnet"}
    pixel |= {"integrated_gradients", "smoothgrad", "occlusion", "guided_gradcam"}
    assert {m for m, spec in ATTRIBUTION_METHODS.items() if spec.output == "pixel"} == pixel
    cam = {m for m, spec in ATTRIBUTION_METHODS.items() if spec.output == "cam"}
    assert cam == {"gradcam", "gradcam_pp", "scorecam"}
    for name, spec in ATTRIBUTION_METHODS.items():
        assert spec.name == name and spec.layer in {"unused", "optional", "required"}
        assert set(spec.defaults) <= set(spec.options)
        assert "arXiv" in spec.reference and spec.function.__doc__
    assert ATTRIBUTION_METHODS["integrated_gradients"].defaults["rule"] == "gausslegendre"
    # SmoothGrad passes its base method's options through.
    assert {"steps", "baseline", "window"} <= set(ATTRIBUTION_METHODS["smoothgrad"].options)


def test_smoothgrad_around_integrated_gradients_and_guided_gradcam():
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, K),
    ).double()  # fmt: skip
    x = torch.rand(2, 3, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    no_noise = {"n_samples": 2, "noise_level": 0.0}
    ig = attribute(
        model, x, method="smoothgrad", base_method="integrated_gradients", steps=5,
        baseline="zeros", target=1, **no_noise,
    )  # fmt: skip
    expected = attribute(
        model, x, method="integrated_gradients", steps=5, baseline="zeros", target=1
    )
    torch.testing.assert_close(ig, expected)
    ggc = attribute(
        model, x, method="smoothgrad", base_method="guided_gradcam", layer="1", target=1,
        **no_noise,
    )  # fmt: skip
    torch.testing.assert_close(
        ggc, attribute(model, x, method="guided_gradcam", layer="1", target=1)
    )


_RESNET_BLOCK = "layer1.0.relu"  # nn.ReLU module that torchvision's BasicBlock calls twice


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"method": "ig"}, ValueError, "Allowed values are 'gradient'", id="method"),
        pytest.param(
            {"method": "gradient", "layer": "1"}, ValueError, "takes no 'layer'", id="layer"
        ),
        pytest.param({"method": "gradient", "steps": 3}, TypeError, "Invalid option", id="option"),
        pytest.param(
            {"method": "gradcam"}, ValueError, "No default layer.*Sequential", id="no-default"
        ),
        pytest.param(
            {"method": "gradcam", "layer": "9"}, ValueError, "no module '9'", id="no-module"
        ),
        pytest.param(
            {"method": "gradcam", "layer": "1"}, ValueError, r"\(N, C, h, w\)", id="flat-layer"
        ),
        pytest.param({"method": "gradcam", "layer": nn.ReLU()}, ValueError, "not part", id="alien"),
        pytest.param(
            {"method": "gradcam", "layer": "0", "upsample": 1},
            TypeError,
            "'upsample'",
            id="upsample",
        ),
        pytest.param(
            {"method": "integrated_gradients", "steps": 0}, ValueError, "'steps'", id="steps"
        ),
        pytest.param(
            {"method": "integrated_gradients", "rule": "simpson"},
            ValueError,
            "'rule'.*'gausslegendre'",
            id="rule",
        ),
        pytest.param(
            {"method": "integrated_gradients", "rule": "riemann_trapezoid", "steps": 1},
            ValueError,
            "steps >= 2",
            id="trapezoid",
        ),
        pytest.param(
            {"method": "integrated_gradients", "baseline": "grey"},
            ValueError,
            "'baseline'.*'black'",
            id="baseline",
        ),
        pytest.param(
            {"method": "integrated_gradients", "baseline": torch.zeros(3, C, H, W)},
            ValueError,
            r"\(N, C, H, W\) = \(2",
            id="baseline-n",
        ),
        pytest.param(
            {"method": "integrated_gradients", "baseline": torch.zeros(2, H, W)},
            ValueError,
            "broadcasts",
            id="baseline-shape",
        ),
        pytest.param(
            {"method": "integrated_gradients", "baseline": "blurred", "blur_sigma_px": 0},
            ValueError,
            "'blur_sigma_px'",
            id="sigma",
        ),
        pytest.param(
            {"method": "integrated_gradients", "baseline": "uniform", "seed": -1},
            ValueError,
            "'seed'",
            id="seed",
        ),
        pytest.param(
            {"method": "integrated_gradients", "internal_batch_size": 0},
            ValueError,
            "'internal_batch_size'",
            id="rows",
        ),
        pytest.param(
            {"method": "smoothgrad", "base_method": "gradcam"},
            ValueError,
            "'base_method'",
            id="base",
        ),
        pytest.param(
            {"method": "smoothgrad", "base_method": "smoothgrad"},
            ValueError,
            "'base_method'",
            id="base-self",
        ),
        pytest.param(
            {"method": "smoothgrad", "window": 3},
            TypeError,
            "base_method='gradient'",
            id="base-option",
        ),
        pytest.param(
            {"method": "smoothgrad", "noise_level": -0.1}, ValueError, "'noise_level'", id="noise"
        ),
        pytest.param(
            {"method": "smoothgrad", "n_samples": 0}, ValueError, "'n_samples'", id="samples"
        ),
        pytest.param(
            {"method": "smoothgrad", "langlois_variance": 1},
            TypeError,
            "'langlois_variance'",
            id="langlois",
        ),
        pytest.param(
            {"method": "smoothgrad", "aggregate": "median"},
            ValueError,
            "'aggregate'",
            id="aggregate",
        ),
        pytest.param({"method": "occlusion", "window": 0}, ValueError, "'window'", id="window"),
        pytest.param(
            {"method": "occlusion", "window": (H + 1, 2)}, ValueError, "exceeds", id="window-big"
        ),
        pytest.param(
            {"method": "occlusion", "window": 2, "stride": 3},
            ValueError,
            "never occluded",
            id="stride",
        ),
        pytest.param({"autocast": "fp8"}, ValueError, "'autocast'.*'bf16'", id="autocast"),
        pytest.param(
            {"normalization": ((0.5,), (0.2,))}, ValueError, "'normalization'", id="normalization"
        ),
        pytest.param({"normalization": (MEAN, (0.2, 0.0, 0.1))}, ValueError, "std > 0", id="std"),
    ],
)
def test_bad_options(kwargs, error, match):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(C, 2, 1), nn.Flatten(), nn.Linear(2 * H * W, K))
    x = torch.randn(2, C, H, W)
    with pytest.raises(error, match=match):
        attribute(model, x, target=0, **kwargs)


def test_a_layer_the_network_reuses_is_refused():
    model = torchvision.models.resnet18(num_classes=K).eval()
    with pytest.raises(ValueError, match="ran 2 times"):
        attribute(model, torch.randn(1, 3, 32, 32), method="gradcam", layer=_RESNET_BLOCK)
