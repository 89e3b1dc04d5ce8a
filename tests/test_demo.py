"""``selectivity demo``: a seeded random network, and a whole small run checked file by file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from selectivity import demo


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _maps(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    images = {"a": rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)}
    with pytest.warns(UserWarning, match="randomly initialised"):
        loaded = demo._demo_model("resnet18", None, seed=seed)
    maps, provenance = demo._ann_maps(images, loaded, init_seed=seed)
    assert provenance["weights"] == "random" and provenance["init_seed"] == seed
    return maps


def test_random_initialisation_is_seeded() -> None:
    first, again, other = _maps(3), _maps(3), _maps(4)
    np.testing.assert_array_equal(first["a"], again["a"])
    assert not np.allclose(first["a"], other["a"])  # the seed, not luck, makes them equal


def test_a_missing_weights_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        demo.run_demo(out=tmp_path / "out", weights=str(tmp_path / "missing.pth"), n_images=1)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.window
@pytest.mark.filterwarnings("ignore:Model 'resnet18' has randomly initialised")
def test_run_demo(tmp_path: Path) -> None:
    from analysis import load_session
    from stimuli import read_stimulus_set

    out = tmp_path / "demo"
    report = demo.run_demo(
        out=out, n_participants=1, n_images=2, weights=None, image_duration_s=1.0, seed=2
    )
    ids = list(demo.DEMO_IMAGES[:2])
    assert report == out / "report" / "index.html"
    page = report.read_text(encoding="utf-8")
    warning = re.search(r'<div class="warning" role="alert">([^<]*)</div>', page)
    assert warning is not None and "randomly initialised weights (seed 2" in warning.group(1)
    assert "CC(fixations, planted)" in page and "NSS(ANN)" in page
    assert all(i in page for i in ids)

    scores = pd.read_csv(out / "scores.tsv", sep="\t")
    assert list(scores["image"]) == [*ids, "mean"]
    session = load_session(out / "data" / "sub-sim01" / "ses-1" / "free-viewing")
    counts = session.fixations.groupby("image_id").size()
    for image_id in ids:
        row = scores.set_index("image").loc[image_id]
        assert row["fixations"] == counts.get(image_id, 0) > 0
        assert np.isfinite(row[["CC(fixations, planted)", "CC(fixations, ANN)"]]).all()
    assert scores.iloc[-1]["fixations"] == pytest.approx(scores.iloc[:-1]["fixations"].mean())

    stimuli = read_stimulus_set(out / "stimuli.h5")
    assert list(stimuli.ids) == ids
    for source in ("simulation/truth", "resnet18/gradient"):
        for image_id in ids:
            planted = stimuli.map(source, image_id)
            assert planted.shape == stimuli.image(image_id).shape[:2]
            assert planted.sum() == pytest.approx(1.0)
    truth = demo.planted_saliency(stimuli.image(ids[0]))
    np.testing.assert_allclose(stimuli.map("simulation/truth", ids[0]), truth, rtol=1e-6)
    provenance = stimuli.provenance("resnet18/gradient")
    assert provenance["weights"] == "random" and provenance["init_seed"] == 2
    assert sorted(p.name for p in (out / "photos").iterdir()) == sorted(f"{i}.png" for i in ids)
