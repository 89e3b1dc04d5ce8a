"""Similarity rating: ratings follow the planted embedding, sides counterbalanced, balanced
subsets, sessions read by analysis.read_similarity (a folder, a data root), lab config."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runtime_helpers import without_tracker

from tasks.config import ExperimentConfig, load_config
from tasks.similarity_rating import (
    EMBEDDING_SOURCE,
    TASK,
    embedding_similarity,
    participant_items,
    participant_pairs,
    run,
)

#: Seven images whose planted embeddings are unit vectors at 0, 30, ..., 180 degrees.
IDS = tuple(f"img{i}" for i in range(7))
ANGLES_DEG = tuple(30.0 * i for i in range(7))


def _embedding_set(path: Path) -> Path:
    from stimuli import write_stimulus_set

    rng = np.random.default_rng(3)
    images = {i: rng.integers(0, 255, (40, 40, 3), dtype=np.uint8) for i in IDS}
    embedding = {
        i: np.array([[math.cos(math.radians(a)), math.sin(math.radians(a))]])
        for i, a in zip(IDS, ANGLES_DEG, strict=True)
    }
    write_stimulus_set(
        path,
        images,
        labels=dict(zip(IDS, IDS, strict=True)),
        maps={EMBEDDING_SOURCE: embedding},
        provenance={EMBEDDING_SOURCE: {"method": "unit vectors 30 degrees apart"}},
    )
    return path


def _config(repo_root: Path, stimulus_set: Path, name: str, **task: Any) -> ExperimentConfig:
    config = load_config(repo_root / "configs" / name)
    fast = {
        "stimulus_set": stimulus_set,
        "fixation_duration_s": 0.05,
        "iti_s": 0.05,
        "image_duration_s": 0.1,
        "isi_s": 0.05,
        **task,
    }
    return dataclasses.replace(config, task=dataclasses.replace(config.task, **fast))


@pytest.fixture(scope="module")
def session(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped simulated configuration: all 21 pairs of the 7 images, side by side."""
    tmp = tmp_path_factory.mktemp("similarity")
    config = _config(
        repo_root, _embedding_set(tmp / "embedded.h5"), "similarity_rating_simulated.toml"
    )
    yield run(config, participant="01", data_root=tmp / "data", windowed=True)


@pytest.mark.window
def test_ratings_follow_the_planted_embedding(session: Path) -> None:
    """The Spearman correlation between the ratings and the planted similarity over the 21
    pairs exceeds 3 / sqrt(n - 1) (n pairs): three standard deviations of the correlation of
    a participant whose ratings ignore the embedding (under independence Spearman's rho has
    SD 1 / sqrt(n - 1)). Under the model the ratings are ``1 + 6 e`` plus noise of SD 0.6
    points, the planted e = (1 + cos) / 2 spans [0, 0.93] in 6 levels, so rho is near 1.
    Ratings of shuffled pairs (a participant following another embedding) fall below it."""
    from scipy.stats import spearmanr

    info = json.loads((session / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model
    trials = pd.read_csv(session / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert len(trials) == 21 and (trials["timed_out"] == 0).all()
    pairs = {tuple(sorted(p)) for p in zip(trials["image_a"], trials["image_b"], strict=True)}
    assert pairs == set(itertools.combinations(IDS, 2))
    # the planted similarity in the rows is (1 + cos(angle difference)) / 2
    for row in trials.itertuples():
        delta = ANGLES_DEG[IDS.index(row.image_b)] - ANGLES_DEG[IDS.index(row.image_a)]
        assert row.planted_similarity == pytest.approx((1 + math.cos(math.radians(delta))) / 2,
                                                       abs=1e-6)  # fmt: skip
    assert trials["rating"].between(1, 7).all()
    n = len(trials)
    threshold = 3 / math.sqrt(n - 1)
    rho = spearmanr(trials["rating"], trials["planted_similarity"]).statistic
    assert rho > threshold, (rho, threshold)
    shuffled = np.random.default_rng(0).permutation(trials["planted_similarity"].to_numpy())
    assert spearmanr(trials["rating"], shuffled).statistic < threshold
    # sides: image_a on the left for every other pair
    assert set(trials["order"]) == {"ab", "ba"}
    assert abs((trials["order"] == "ab").sum() - n / 2) <= 1
    left_of_a = trials["image_a_left_px"] < trials["image_b_left_px"]
    assert (left_of_a == (trials["order"] == "ab")).all()
    assert (trials["left_image"] == np.where(left_of_a, trials["image_a"], trials["image_b"])).all()


@pytest.mark.window
def test_read_similarity_reads_the_sessions_and_a_data_root(session: Path) -> None:
    """A session folder gives each pair's rating; a data root with a second session (the same
    ratings plus 2, and a practice row that must be left out) averages the two."""
    from analysis.similarity import read_similarity
    from selectivity.tsv import read_table, write_table

    trials = pd.read_csv(session / "trials.tsv", sep="\t")
    one = read_similarity(session, ids=IDS)
    assert one.complete and (one.counts[~np.eye(7, dtype=bool)] == 1).all()
    row = trials.iloc[0]
    i, j = IDS.index(row["image_a"]), IDS.index(row["image_b"])
    assert one.values[i, j] == one.values[j, i] == row["rating"]

    root = session.parents[2]
    other = root / "sub-02" / "ses-1" / "similarity-rating"
    other.mkdir(parents=True)
    table = read_table(session / "trials.tsv")
    table["rating"] = table["rating"] + 2
    practice = table.iloc[[0]].copy()
    practice["practice"], practice["rating"] = 1, 100
    write_table(pd.concat([practice, table]), other / "trials.tsv")
    both = read_similarity(root, ids=IDS)
    assert (both.counts[~np.eye(7, dtype=bool)] == 2).all()
    off = ~np.eye(7, dtype=bool)
    assert np.allclose(both.values[off], one.values[off] + 1)
    with pytest.raises(FileNotFoundError, match="no session folders"):
        read_similarity(_empty(root.parent / "empty"))


def test_balanced_subsets_rate_every_pair_equally_often() -> None:
    """P = 10 pairs, k = 4 per participant (gcd 2): every 5 consecutive participants rate each
    pair exactly twice; k = 5 (divides P): every 2 participants rate each pair once."""
    for k, period, times in ((4, 5, 2), (5, 2, 1)):
        for first in (1, 7):
            counts = np.zeros(10, dtype=int)
            for index in range(first, first + period):
                picked = participant_pairs(10, k, index, seed=0)
                assert len(set(picked)) == k
                counts[picked] += 1
            assert (counts == times).all(), (k, first, counts)
    assert participant_pairs(10, 0, 3, seed=0) == list(range(10))


def test_participant_items_sides_alternate_and_swap_with_the_participant(tmp_path: Path) -> None:
    from stimuli import read_stimulus_set
    from tasks.similarity_rating import SimilarityRatingConfig

    stimuli = read_stimulus_set(_embedding_set(tmp_path / "e.h5"))
    one = participant_items(SimilarityRatingConfig(), stimuli, "01")
    two = participant_items(SimilarityRatingConfig(), stimuli, "02")
    assert [t["swap"] for t in one[:4]] == [1, 0, 1, 0]
    assert [t["swap"] for t in two] == [1 - t["swap"] for t in one]
    subset = participant_items(SimilarityRatingConfig(pairs_per_participant=7), stimuli, "P3")
    assert len(subset) == 7
    with pytest.raises(ValueError, match="participant number"):
        participant_items(SimilarityRatingConfig(pairs_per_participant=7), stimuli, "anna")


def test_embedding_similarity_by_hand() -> None:
    assert embedding_similarity([[1.0, 0.0]], [[0.0, 2.0]]) == pytest.approx(0.5)
    assert embedding_similarity([1.0, 1.0], [-3.0, -3.0]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same number of values"):
        embedding_similarity([1.0, 0.0], [1.0, 0.0, 0.0])


@pytest.mark.window
def test_lab_config_in_sequence_runs_without_a_tracker(repo_root: Path, tmp_path: Path) -> None:
    """configs/similarity_rating.toml with ``[tracker] kind = "none"`` (a simulated participant
    answering), images in sequence, a balanced share of 3 pairs."""
    config = _config(
        repo_root,
        _embedding_set(tmp_path / "e.h5"),
        "similarity_rating.toml",
        presentation="sequence",
        pairs_per_participant=3,
    )
    assert config.lab.tracker.kind == "eyelink"
    lab_free = without_tracker(config, fullscreen=False, resolution_px=(800, 600))
    folder = run(lab_free, participant="02", data_root=tmp_path / "d", windowed=True)
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3] and (trials["presentation"] == "sequence").all()
    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert list(frames["phase"][:6]) == ["fixation", "first", "isi", "second", "rating", "iti"]
    # both images centred, one after the other
    assert (trials["image_a_left_px"] == trials["image_b_left_px"]).all()


def _empty(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path
