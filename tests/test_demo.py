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
@pytest.mark.filterwarnings("ignore:Model '.*' has randomly initialised")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_run_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's wiring, on two images and two tasks: the set, the sessions, the analysis,
    the BIDS export (and the validator's verdict when it is installed)."""
    from analysis.bids import validator_program
    from stimuli import read_stimulus_set

    out = tmp_path / "demo"
    report = demo.run_demo(
        out=out,
        n_participants=2,
        n_images=2,
        weights=None,
        seed=2,
        tasks=("free-viewing", "masked-recognition"),
    )
    ids = list(demo.DEMO_IMAGES[:2])
    assert report == out / "analysis" / "report" / "index.html"
    page = report.read_text(encoding="utf-8")
    warnings = re.findall(r'<div class="warning" role="alert">([^<]*)</div>', page)
    assert any("randomly initialised" in w for w in warnings)
    assert any("SIMULATED participants" in w for w in warnings)
    assert all(i in page for i in ids)
    assert "Planted-map recovery" in page and "Masked recognition" in page

    sessions = pd.read_csv(out / "analysis" / "sessions.tsv", sep="\t")
    assert sorted(sessions["participant"].unique()) == ["sim01", "sim02"]
    assert sorted(sessions["task"].unique()) == ["free-viewing", "masked-recognition"]

    stimuli = read_stimulus_set(out / "stimuli.h5")
    assert list(stimuli.ids) == ids
    ann = [f"{m}/{x}" for m in ("resnet18", demo.DEMO_SECOND_MODEL) for x in demo.DEMO_METHODS]
    assert set(ann) <= set(stimuli.map_sources)
    # one task with a map: its map, and no shared component (that needs two)
    assert [s for s in stimuli.map_sources if s.startswith("human/")] == ["human/free-viewing"]
    for source in ("simulation/truth", *ann, "human/free-viewing"):
        for image_id in ids:
            assert stimuli.map(source, image_id).shape == stimuli.image(image_id).shape[:2]
    truth = demo.planted_saliency(stimuli.image(ids[0]))
    np.testing.assert_allclose(stimuli.map("simulation/truth", ids[0]), truth, rtol=1e-6)
    provenance = stimuli.provenance("resnet18/gradient")
    assert provenance["weights"] == "random" and provenance["init_seed"] == 2
    assert sorted(p.name for p in (out / "photos").iterdir()) == sorted(f"{i}.png" for i in ids)
    comparison = pd.read_csv(out / "analysis" / "comparison.tsv", sep="\t")
    assert set(comparison["source"]) == set(ann) and set(comparison["measure"]) == {"free-viewing"}
    assert (out / "analysis" / "reverse.tsv").is_file()
    assert len(list((out / "bids").glob("sub-sim0*/ses-1/beh/*_events.tsv"))) == 4
    printed = capsys.readouterr().out
    if validator_program() is not None:
        assert "BIDS validator" in printed and "accepted it: 0 errors" in printed, printed
