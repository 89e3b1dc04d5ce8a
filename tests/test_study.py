"""The whole study: every task run for simulated participants, then the study analysis.

Real sessions (PsychoPy windows under Xvfb, the simulated tracker writing ASC files, the chain
database), read back by ``analysis.study``, every task's map estimated, written into the stimulus
set, compared with two ANN-like sources, masked recognition analysed, and the report written.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from analysis.study import (
    ComparisonSettings,
    DataSettings,
    ExclusionRules,
    RecognitionSettings,
    StudyConfig,
    run_study,
)

#: Image geometry: 160 x 120 px (about 6 x 4.5 degrees at the simulated lab's 26.8 px/deg);
#: the planted map is the left half.
WIDTH, HEIGHT = 160, 120
PARTICIPANTS = 3
#: The estimators' maps this test checks, with the smallest number of data points (fixations,
#: trials, nodes, patches) behind each.
MAP_TASKS = (
    "free-viewing",
    "object-search",
    "saliency-search",
    "dot-discrimination",
    "serial-reproduction",
    "patch-rating",
)
QUICK = {
    "free-viewing": {"image_duration_s": 2.0, "fixation_duration_s": 0.1, "iti_s": 0.05,
                     "repetitions": 2},
    "object-search": {"cue_duration_s": 0.1, "fixation_duration_s": 0.1, "iti_s": 0.05,
                      "repetitions": 2},
    "saliency-search": {"image_duration_s": 2.0, "fixation_duration_s": 0.1, "iti_s": 0.05,
                        "repetitions": 2},
    "dot-discrimination": {"grid": (4, 2), "first_duration_s": 0.05, "delay_duration_s": 0.05,
                           "fixation_duration_s": 0.02, "iti_s": 0.02, "repetitions": 2},
    "serial-reproduction": {"trials": 4, "seed_grid": (2, 1), "fixation_duration_s": 0.02,
                            "dot_duration_s": 0.1, "delay_s": 0.05, "iti_s": 0.02},
    "patch-rating": {"grid": (4, 2), "subsets": 1, "catch_trials": 1, "fixation_duration_s": 0.02,
                     "iti_s": 0.02, "patch_radius_deg": 0.5},
    "masked-recognition": {"response_window_s": 0.4, "fixation_duration_s": 0.02, "iti_s": 0.02,
                           "target_duration_s": 0.05, "backward_mask_duration_s": 0.05},
    "similarity-rating": {"fixation_duration_s": 0.02, "iti_s": 0.02},
}  # fmt: skip


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyConfig, object]:
    from stimuli import add_maps, write_stimulus_set
    from tasks import simulate_study

    out = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(3)
    ids = ("a", "b")
    images = {i: rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8) for i in ids}
    planted = np.zeros((HEIGHT, WIDTH))
    planted[:, : WIDTH // 2] = 1.0
    set_path = out / "stimuli.h5"
    write_stimulus_set(
        set_path,
        images,
        labels={"a": "apple", "b": "boat"},
        maps={"simulation/truth": dict.fromkeys(ids, planted)},
        provenance={"simulation/truth": {"method": "planted left half"}},
    )
    # two ANN-like sources: one that follows the planted half, one that does not
    for method, values in (("left", planted + 0.1), ("top", np.repeat(
            (np.arange(HEIGHT) < HEIGHT // 2)[:, None], WIDTH, axis=1) + 0.1)):  # fmt: skip
        add_maps(
            set_path,
            f"toynet/{method}",
            dict.fromkeys(ids, values.astype(float)),
            provenance={"model": "toynet", "method": method, "weights": "random"},
        )
    simulate_study(
        set_path,
        out / "data",
        participants=PARTICIPANTS,
        task_settings=QUICK,
        participant_settings={"rt_median_s": 0.15, "continue_s": 0.05},
        workers=PARTICIPANTS,
        log=None,
    )
    from analysis.human_maps import (
        DiscriminationSettings,
        MapSettings,
        SerialReproductionSettings,
    )

    config = StudyConfig(
        path=out / "study.toml",
        data=DataSettings(root=out / "data", stimulus_set=set_path),
        exclusions=ExclusionRules(max_dropped_frame_trials=None),
        maps=MapSettings(
            discrimination=DiscriminationSettings(bandwidth="fixed", bandwidth_deg=0.5),
            serial_reproduction=SerialReproductionSettings(from_generation=1),
        ),
        comparison=ComparisonSettings(n_bootstrap=100, n_permutations=100, ceiling_splits=3),
        recognition=RecognitionSettings(n_bootstrap=100),
        folder=out / "analysis",
    )
    with pytest.warns(UserWarning):
        run = run_study(config, log=None)
    return config, run


@pytest.mark.slow
@pytest.mark.window
def test_every_task_gives_its_map_and_the_report(study_run: tuple) -> None:
    from stimuli import read_stimulus_set

    config, run = study_run
    stimuli = read_stimulus_set(config.data.stimulus_set)
    human = sorted(s for s in stimuli.map_sources if s.startswith("human/"))
    assert human == sorted([f"human/{t}" for t in MAP_TASKS] + ["human/shared"])
    for source in human:
        assert stimuli.map_ids(source) == ("a", "b")
        assert stimuli.map(source, "a").shape == (HEIGHT, WIDTH)
    provenance = stimuli.provenance("human/free-viewing")
    assert provenance["participants"] == [f"sim{p:02d}" for p in range(1, PARTICIPANTS + 1)]

    sessions = run.tables["sessions"]
    assert len(sessions) == 8 * PARTICIPANTS and not sessions["excluded"].any()
    comparison = run.tables["comparison"].set_index(["source", "measure"])
    # the source drawn from the planted half agrees with every map more than the decoy does
    for measure in [*MAP_TASKS, "shared"]:
        left = comparison.loc[("toynet/left", measure), "mean"]
        top = comparison.loc[("toynet/top", measure), "mean"]
        assert left > top, (measure, left, top)
    recognition = run.tables["recognition"]
    assert set(recognition["correct_mask"]) == {0, 1}

    page = run.report.read_text(encoding="utf-8")
    for heading in ("Data and exclusions", "Human maps", "ANN maps against human maps",
                    "Masked recognition", "Software"):  # fmt: skip
        assert re.search(rf"<h2[^>]*>{heading}", page), heading
    assert "SIMULATED participants" in page
    assert 'src="data:image/png;base64,' in page and 'src="figures/' not in page


def _left_share(values: np.ndarray) -> float:
    """Share of a non-negative map's mass on the left half of the image."""
    return float(values[:, : WIDTH // 2].sum() / values.sum())


@pytest.mark.slow
@pytest.mark.window
def test_the_maps_recover_the_planted_half(study_run: tuple) -> None:
    """Each task's map puts more of its mass on the planted left half than chance allows.

    The design is left-right symmetric except for the planted map: a participant ignoring
    it (gaze around the image centre, answers and ratings the same everywhere, chains
    wandering) gives maps whose share of mass on the left half, s, is 1/2 in
    expectation. Each map is a smoothed average of n data points (fixations, trials,
    chain nodes, patches) each on one side; under that null the raw share of points (or
    of their values) on the left is a mean of n terms with variance at most 1/(4n), and
    smoothing only averages further, so s > 1/2 + 3 / (2 sqrt(n)) has a chance under 0.2 %
    per map (normal approximation). The simulated participants follow the planted map
    (gaze priority 0.7 on it, a perfect discrimination and the top rating where it is,
    chains pulled into it), so their s is far above.
    """
    config, run = study_run
    for task in MAP_TASKS:
        human = run.maps[task]
        n = min(human.counts.values())
        shares = [_left_share(np.clip(m, 0, None)) for m in human.maps.values()]
        threshold = 0.5 + 3.0 / (2.0 * math.sqrt(n))
        assert min(shares) > threshold, (task, shares, threshold, n)
