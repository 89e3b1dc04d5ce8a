"""``selectivity demo``: the whole simulated study: stimuli, every task, the analysis, a report."""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .resample import resample

__all__ = [
    "DEMO_IMAGES",
    "DEMO_MASK_METHODS",
    "DEMO_METHODS",
    "DEMO_PARTICIPANT",
    "DEMO_SECOND_MODEL",
    "DEMO_TASK_SETTINGS",
    "demo_photographs",
    "planted_saliency",
    "run_demo",
]

#: Photographs shipped inside scikit-image (no download), by stimulus id.
DEMO_IMAGES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "motorcycle",
    "camera",
    "coins",
    "hubble",
)
_MARKER = ".selectivity-demo"
_LONG_SIDE_PX = 320


def _load_photo(name: str) -> np.ndarray:
    import skimage.data

    if name == "motorcycle":
        image = skimage.data.stereo_motorcycle()[0]
    elif name == "hubble":
        image = skimage.data.hubble_deep_field()
    else:
        image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    size = (round(height * scale), round(width * scale))
    return np.clip(np.rint(resample(image, size)), 0, 255).astype(np.uint8)


def demo_photographs(n_images: int) -> dict[str, np.ndarray]:
    """The first ``n_images`` of :data:`DEMO_IMAGES`, long side 320 px, RGB uint8 (H, W, 3)."""
    if not 1 <= n_images <= len(DEMO_IMAGES):
        raise ValueError(f"n_images must be 1-{len(DEMO_IMAGES)}, got {n_images}")
    return {i: _resize_long_side(_load_photo(i), _LONG_SIDE_PX) for i in DEMO_IMAGES[:n_images]}


def planted_saliency(image: np.ndarray, *, sigma_px: float = 8.0) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang 2007): the simulated observers' "true" map.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), uint8
        The photograph.
    sigma_px : float
        Gaussian smoothing of the saliency, in image pixels.

    Returns
    -------
    ndarray of shape (H, W)
        Non-negative, summing to 1.
    """
    import cv2
    from scipy.ndimage import gaussian_filter, uniform_filter

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)
    small = resample(gray, (64, 64))
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-9)
    residual = log_amplitude - uniform_filter(log_amplitude, size=3, mode="wrap")
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = resample(saliency, gray.shape)
    saliency = gaussian_filter(saliency, sigma_px)
    return saliency / saliency.sum()


def _prepare_output(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / _MARKER).exists():
            raise FileExistsError(
                f"{out} exists and does not hold an earlier demo: choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("made by `selectivity demo`; replaced by the next demo run\n")


def _demo_model(model: str, weights: str | None, *, seed: int) -> Any:
    """The demo's network; random weights (seeded with ``seed``) only when none are cached.

    ``weights="default"`` without cached torchvision weights goes on with a
    random initialisation and a warning; any other ``weights`` that cannot be
    read (a missing file, an unknown name) raises.
    """
    import torch

    from stimuli import load_model

    def load(chosen: str | None) -> Any:
        # A random initialisation draws from torch's global generator: seed it, and leave the
        # caller's generator as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return load_model(model, weights=chosen)

    try:
        loaded = load(weights)
    except FileNotFoundError as err:
        if weights != "default":
            raise
        warnings.warn(
            f"{err}\nThe demo goes on with RANDOMLY INITIALISED weights (seed {seed}): its ANN "
            "maps show what an untrained network's gradient responds to, not a trained network.",
            stacklevel=3,
        )
        loaded = load(None)
    return loaded


def _ann_maps(
    images: dict[str, np.ndarray], loaded: Any, *, init_seed: int, method: str = "gradient"
) -> tuple[dict[str, np.ndarray], dict]:
    """``method`` maps of ``loaded`` at each image's size, and their provenance.

    ``init_seed`` (the seed of a random initialisation) is recorded in the
    provenance when the weights are random.
    """
    import torch

    from stimuli import attribute, to_map

    torch.manual_seed(0)
    options = {"reduce": "abs_sum", "smooth_sigma_px": 4.0, "normalize": "sum"}
    maps = {}
    for image_id, pixels in images.items():
        x = loaded.preprocess(pixels).unsqueeze(0)
        raw = attribute(loaded.model, x, method=method)
        maps[image_id] = to_map(
            raw[0], reduce="abs_sum", smooth_sigma_px=4.0, normalize="sum", size=pixels.shape[:2]
        )
    parameters: dict[str, Any] = {"target": "predicted class", "to_map": options}
    provenance = loaded.map_provenance(method=method, parameters=parameters)
    if provenance.get("weights") == "random":
        provenance["init_seed"] = init_seed
    return maps, provenance


#: The demo's networks and attribution methods: sources ``<model>/<method>`` (the first model
#: is ``--model``). Two architectures and three methods give the variance share something to
#: split.
DEMO_METHODS = ("gradient", "guided_backprop", "gradcam")
DEMO_SECOND_MODEL = "squeezenet1_1"

#: Each task of the demo study made short (seconds, trials), so that four simulated
#: participants finish every task in a few minutes; the shipped simulated configurations
#: (``configs/<task>_simulated.toml``) give the rest.
DEMO_TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "free-viewing": {"image_duration_s": 1.5, "fixation_duration_s": 0.3, "iti_s": 0.2},
    "object-search": {"cue_duration_s": 0.4, "fixation_duration_s": 0.3, "iti_s": 0.2},
    "saliency-search": {"image_duration_s": 1.5, "fixation_duration_s": 0.3, "iti_s": 0.2},
    "dot-discrimination": {
        "grid": (3, 3),
        "first_duration_s": 0.3,
        "delay_duration_s": 0.3,
        "fixation_duration_s": 0.2,
        "iti_s": 0.1,
    },
    "serial-reproduction": {
        "trials": 12,
        "seed_grid": (1, 2),
        "fixation_duration_s": 0.2,
        "dot_duration_s": 0.4,
        "delay_s": 0.3,
        "iti_s": 0.1,
    },
    "patch-rating": {"grid": (4, 4), "subsets": 2, "fixation_duration_s": 0.2, "iti_s": 0.1},
    "masked-recognition": {"response_window_s": 1.0, "fixation_duration_s": 0.2, "iti_s": 0.1},
    "similarity-rating": {"fixation_duration_s": 0.2, "iti_s": 0.1},
}
#: Attribution methods whose masks the demo's masked recognition shows (of ``--model``).
DEMO_MASK_METHODS = ("guided_backprop", "gradcam")
#: The simulated participants answer faster than the shipped model's 0.8 s median.
DEMO_PARTICIPANT = {"rt_median_s": 0.5, "continue_s": 0.2}


def _bids(out: Path) -> None:
    """The demo's sessions as a BIDS dataset (``<out>/bids``), checked by the validator if any."""
    from analysis.bids import export_bids, validate_bids, validator_program

    export = export_bids(out / "data", out / "bids", authors=("selectivity demo",))
    print(f"[demo] BIDS dataset ({len(export.sessions)} sessions): {export.root}", flush=True)
    if validator_program() is None:
        print("[demo] BIDS validator not installed (bids-validator-deno, dev extra): not checked")
        return
    report = validate_bids(export.root)
    verdict = "accepted it" if report.valid else "REJECTED it"
    print(f"[demo] BIDS validator {report.validator_version} {verdict}: {report.summary()}")


def run_demo(
    *,
    out: Path,
    n_participants: int = 4,
    n_images: int = 6,
    model: str = "resnet18",
    weights: str | None = "default",
    seed: int = 1,
    workers: int | None = None,
    tasks: tuple[str, ...] | None = None,
) -> Path:
    """Run the whole simulated study and its analysis; return the path of the HTML report.

    Builds a stimulus set of photographs with a planted map (spectral-residual saliency,
    ``simulation/truth``) and ANN maps of two networks and three attribution methods,
    runs every task for ``n_participants`` simulated participants (real PsychoPy
    windows, the simulated EyeLink tracker writing ASC files), then the study analysis
    (:func:`analysis.study.run_study`: the human maps into the stimulus set as
    ``human/<task>`` and ``human/shared``, the comparison with ceilings, masked
    recognition, the reverse test, AIS) and its report. The sessions are also exported
    as a BIDS dataset with eye tracking (``<out>/bids``, :func:`analysis.bids.export_bids`),
    and the BIDS validator's verdict is printed when it is installed.

    Parameters
    ----------
    out : Path
        Output folder; an earlier demo there is replaced, anything else is refused.
    n_participants : int
        Simulated participants; each runs every task.
    n_images : int
        Photographs from scikit-image (at most ``len(DEMO_IMAGES)``).
    model, weights : str
        The first network (maps, reverse test, AIS); see :func:`stimuli.load_model`. With
        ``"default"`` and no cached weights, or None, networks are randomly initialised
        from ``seed`` (recorded in the maps' provenance), and the report warns.
    seed : int
        Seed of the schedules, the simulated participants and a random initialisation.
    workers : int, optional
        Participants run at once (default: all of them).
    tasks : tuple of str, optional
        The tasks to run (default: every task).

    Raises
    ------
    FileNotFoundError
        ``weights`` names a file that does not exist (nothing is written).
    """
    from analysis.human_maps import MapSettings, SerialReproductionSettings
    from analysis.study import (
        AISSettings,
        ComparisonSettings,
        DataSettings,
        ExclusionRules,
        RecognitionSettings,
        ReverseSettings,
        StudyConfig,
        run_study,
    )
    from stimuli import add_maps, save_png, write_stimulus_set
    from tasks.runtime import SIMULATION_TRUTH_SOURCE
    from tasks.simulation import simulate_study

    if not 1 <= n_images <= len(DEMO_IMAGES):
        raise ValueError(f"n_images must be 1-{len(DEMO_IMAGES)}, got {n_images}")
    if n_participants < 1:
        raise ValueError(f"n_participants must be at least 1, got {n_participants}")
    started = time.perf_counter()
    loaded = [_demo_model(model, weights, seed=seed)]  # before anything is written
    if model != DEMO_SECOND_MODEL:
        loaded.append(_demo_model(DEMO_SECOND_MODEL, weights, seed=seed))
    out = Path(out)
    _prepare_output(out)
    images = demo_photographs(n_images)
    ids = tuple(images)
    # The photographs as files too: configs/stimuli_build.toml builds a stimulus set from them.
    save_png(images, out / "photos")
    truth = {i: planted_saliency(images[i]) for i in ids}
    set_path = out / "stimuli.h5"
    write_stimulus_set(
        set_path,
        images,
        labels={i: i for i in ids},
        maps={SIMULATION_TRUTH_SOURCE: truth},
        provenance={
            SIMULATION_TRUTH_SOURCE: {
                "method": "spectral residual (Hou & Zhang 2007)",
                "sigma_px": 8.0,
            }
        },
    )
    print(f"[demo] stimulus set with {len(ids)} images: {set_path}")
    random_weights = False
    for network in loaded:
        for method in DEMO_METHODS:
            ann, provenance = _ann_maps(images, network, init_seed=seed, method=method)
            random_weights |= provenance.get("weights") == "random"
            add_maps(set_path, f"{network.name}/{method}", ann, provenance=provenance)
        print(f"[demo] ANN maps {network.name}/{{{','.join(DEMO_METHODS)}}}")

    # masked recognition through masks of two attribution methods of the first network
    settings = {
        **DEMO_TASK_SETTINGS,
        "masked-recognition": {
            **DEMO_TASK_SETTINGS["masked-recognition"],
            "mask_sources": tuple(f"{loaded[0].name}/{m}" for m in DEMO_MASK_METHODS),
        },
    }
    simulate_study(
        set_path,
        out / "data",
        participants=n_participants,
        tasks=tasks,
        task_settings=settings,
        participant_settings=DEMO_PARTICIPANT,
        seed=seed,
        workers=workers or n_participants,
        log=lambda line: print(f"[demo] {line}", flush=True),
    )
    network_weights = "none" if random_weights else (weights or "none")
    config = StudyConfig(
        path=out / "study.toml",
        data=DataSettings(root=out / "data", stimulus_set=set_path),
        # several windows at once on a virtual display drop frames; nothing here uses timing
        # (masked recognition's flagged trials are still excluded and counted)
        exclusions=ExclusionRules(max_dropped_frame_trials=None),
        # four participants take a chain to generation 4 at most (one node each per chain)
        maps=MapSettings(serial_reproduction=SerialReproductionSettings(from_generation=2)),
        comparison=ComparisonSettings(n_bootstrap=500, n_permutations=500, ceiling_splits=5),
        recognition=RecognitionSettings(n_bootstrap=500),
        reverse=ReverseSettings(model=model, weights=network_weights, target="predicted"),
        ais=AISSettings(model=model, weights=network_weights),
        folder=out / "analysis",
        seed=seed,
    )
    run = run_study(config, log=lambda line: print(f"[demo] {line}", flush=True))
    _bids(out)
    print(f"[demo] finished in {time.perf_counter() - started:.0f} s")
    assert run.report is not None
    return run.report
