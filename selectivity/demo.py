"""``selectivity demo``: stimuli, simulated free viewing, fixation maps, ANN comparison."""

from __future__ import annotations

import dataclasses
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.config import ExperimentConfig

from .resample import resample
from .tsv import write_table

__all__ = ["DEMO_IMAGES", "planted_saliency", "run_demo"]

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
    images: dict[str, np.ndarray], loaded: Any, *, init_seed: int
) -> tuple[dict[str, np.ndarray], dict]:
    """Gradient maps of ``loaded`` at each image's size, and their provenance.

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
        raw = attribute(loaded.model, x, method="gradient")
        maps[image_id] = to_map(
            raw[0], reduce="abs_sum", smooth_sigma_px=4.0, normalize="sum", size=pixels.shape[:2]
        )
    parameters: dict[str, Any] = {"target": "predicted class", "to_map": options}
    provenance = loaded.map_provenance(method="gradient", parameters=parameters)
    if provenance.get("weights") == "random":
        provenance["init_seed"] = init_seed
    return maps, provenance


def _fixations_per_image(
    sessions: list[Path], images: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Fixations that began while each image was shown, in image pixels (x, y), all sessions."""
    from analysis import load_session

    sizes = {i: (pixels.shape[1], pixels.shape[0]) for i, pixels in images.items()}
    per_image: dict[str, list[np.ndarray]] = {}
    for folder in sessions:
        fixations = load_session(folder, image_size_px=sizes).fixations
        for image_id, group in fixations.groupby("image_id"):
            per_image.setdefault(str(image_id), []).append(group[["x_img", "y_img"]].to_numpy())
    return {i: np.concatenate(per_image.get(i, [np.empty((0, 2))])) for i in images}


def run_demo(
    *,
    out: Path,
    n_participants: int = 4,
    n_images: int = 6,
    model: str = "resnet18",
    weights: str | None = "default",
    image_duration_s: float = 2.0,
    seed: int = 1,
) -> Path:
    """Run the whole demo and return the path of the HTML report.

    Parameters
    ----------
    out : Path
        Output folder; an earlier demo there is replaced, anything else is refused.
    n_participants : int
        Simulated participants, each a real free-viewing session in a PsychoPy window.
    n_images : int
        Photographs from scikit-image (at most ``len(DEMO_IMAGES)``).
    model, weights : str
        ANN for the gradient maps; see :func:`stimuli.load_model`. With
        ``"default"`` and no cached weights, or None, the network is randomly
        initialised from ``seed`` (recorded in the maps' provenance), and the
        report shows a warning; a weights file that does not exist is refused.
    image_duration_s : float
        Seconds each image is shown.
    seed : int
        Seed of the trial orders, the simulated gaze and a random initialisation.

    Raises
    ------
    FileNotFoundError
        ``weights`` names a file that does not exist (nothing is written).
    """
    from analysis import Panel, ReportRow, fixation_map, metrics, write_report
    from stimuli import add_maps, save_png, write_stimulus_set
    from tasks import load_config
    from tasks.free_viewing import run as free_viewing
    from tasks.runtime import SIMULATION_TRUTH_SOURCE

    if not 1 <= n_images <= len(DEMO_IMAGES):
        raise ValueError(f"n_images must be 1-{len(DEMO_IMAGES)}, got {n_images}")
    if n_participants < 1:
        raise ValueError(f"n_participants must be at least 1, got {n_participants}")
    started = time.perf_counter()
    loaded = _demo_model(model, weights, seed=seed)  # before anything is written
    out = Path(out)
    _prepare_output(out)
    ids = DEMO_IMAGES[:n_images]
    images = {i: _resize_long_side(_load_photo(i), _LONG_SIDE_PX) for i in ids}
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
    ann, provenance = _ann_maps(images, loaded, init_seed=seed)
    ann_source = f"{model}/gradient"
    add_maps(set_path, ann_source, ann, provenance=provenance)
    print(f"[demo] ANN maps {ann_source} ({provenance.get('weights')})")

    config_path = Path(__file__).resolve().parents[1] / "configs" / "free_viewing_simulated.toml"
    # an installed copy without the repository's configs/ uses the same settings, built in
    config = load_config(config_path) if config_path.exists() else _builtin_config()
    config = dataclasses.replace(
        config,
        task=dataclasses.replace(
            config.task, stimulus_set=set_path, image_duration_s=image_duration_s
        ),
    )
    sessions = []
    for p in range(1, n_participants + 1):
        config = dataclasses.replace(
            config, task=dataclasses.replace(config.task, seed=seed * 1000 + p)
        )
        folder = free_viewing(
            config, participant=f"sim{p:02d}", session="1", data_root=out / "data", windowed=True
        )
        sessions.append(folder)
        print(f"[demo] participant sim{p:02d}: {folder}")

    screen = config.lab.display.geometry
    fixations = _fixations_per_image(sessions, images)
    rows, records = [], []
    for image_id in ids:
        shape = images[image_id].shape[:2]
        points = fixations[image_id]
        fmap = fixation_map(points, shape, px_per_deg=screen.px_per_deg, sigma_deg=1.0)
        records.append(
            {
                "image": image_id,
                "fixations": len(points),
                "CC(fixations, ANN)": metrics.cc(fmap, ann[image_id]),
                "NSS(ANN)": metrics.nss(ann[image_id], points, image_shape=shape),
                "CC(fixations, planted)": metrics.cc(fmap, truth[image_id]),
                "NSS(planted)": metrics.nss(truth[image_id], points, image_shape=shape),
            }
        )
        rows.append(
            ReportRow(
                image_id,
                [
                    Panel("image", images[image_id], kind="image"),
                    Panel(
                        "fixation map (simulated observers)",
                        fmap,
                        kind="heatmap",
                        overlay=images[image_id],
                    ),
                    Panel(
                        f"ANN map: {ann_source}",
                        ann[image_id],
                        kind="heatmap",
                        overlay=images[image_id],
                    ),
                    Panel(
                        "planted 'true' map",
                        truth[image_id],
                        kind="heatmap",
                        overlay=images[image_id],
                    ),
                ],
            )
        )
    table = pd.DataFrame(records)
    mean = table.drop(columns=["image"]).mean(numeric_only=True)
    table = pd.concat(
        [table, pd.DataFrame([{"image": "mean", **mean.to_dict()}])], ignore_index=True
    )
    write_table(table, out / "scores.tsv")
    notes = [
        f"{n_participants} simulated participants (simulated EyeLink tracker, ASC files in "
        f"{out / 'data'}), {len(ids)} images shown for {image_duration_s} s each in a "
        "PsychoPy window.",
        "Fixation maps: fixations that began while the image was shown "
        "(analysis.load_session), Gaussian sigma 1 deg "
        f"({screen.px_per_deg:.1f} px/deg).",
        "The simulated observers look at the planted spectral-residual map plus a centre "
        "bias: CC with the planted map measures how well the path recovers it.",
    ]
    alerts = []
    if provenance.get("weights") == "random":
        alerts.append(
            "WARNING: the ANN had randomly initialised weights (seed "
            f"{provenance['init_seed']}; no cached torchvision weights were "
            "found, or --weights none); its maps are not a trained network's."
        )
    notes.append(f"Demo run time: {time.perf_counter() - started:.0f} s.")
    return write_report(
        out / "report",
        title="selectivity demo: free viewing vs ANN gradient maps",
        rows=rows,
        table=table,
        notes=notes,
        warnings=alerts,
    )


def _builtin_config() -> ExperimentConfig:
    from tasks.config import (
        DataConfig,
        DisplayConfig,
        FreeViewingConfig,
        LabConfig,
        ParticipantConfig,
        TrackerConfig,
    )

    lab = LabConfig(
        display=DisplayConfig(
            resolution_px=(1024, 768),
            width_cm=40.0,
            fullscreen=False,
            pace_flips=True,
            check_timing=False,
        ),
        tracker=TrackerConfig(kind="simulated", sample_rate_hz=500),
        participant=ParticipantConfig(kind="simulated"),
        data=DataConfig(root=Path("data")),
    )
    task = FreeViewingConfig(fixation_duration_s=0.5, iti_s=0.3, seed=7)
    return ExperimentConfig(task_name="free-viewing", task=task, lab=lab, path=Path("<builtin>"))
