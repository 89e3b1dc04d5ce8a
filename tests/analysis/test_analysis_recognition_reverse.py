"""The reverse test: rank scores by hand, and a tiny network whose ranks are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import reverse_test
from analysis.recognition import rank_score

H = 128 / 255  # a mask value of 0.5 on white renders as round(127.5) = 128


def test_rank_scores_by_hand():
    """N = 4 classes, 0-based ranks 0, 1, 3: N / (N + r) = 1, 4/5, 4/7; N / (r + 1) = 4, 2, 1;
    1 / (r + 1) = 1, 1/2, 1/4."""
    r = [0, 1, 3]
    assert rank_score(r, 4).tolist() == pytest.approx([1.0, 0.8, 4 / 7])
    assert rank_score(r, 4, score="N/r").tolist() == pytest.approx([4.0, 2.0, 1.0])
    assert rank_score(r, 4, score="1/(r+1)").tolist() == pytest.approx([1.0, 0.5, 0.25])
    # The authors' ImageNet case: the top class pushed to rank 10 of 1000 keeps 1000/1010.
    assert float(rank_score(10, 1000)) == pytest.approx(1000 / 1010)


@pytest.mark.parametrize(
    ("rank", "n", "score", "match"),
    [
        pytest.param(4, 4, "inverse_rank", r"integers in \[0, 4\)", id="r=N"),
        pytest.param(-1, 4, "inverse_rank", r"integers in \[0, 4\)", id="negative"),
        pytest.param(1.5, 4, "inverse_rank", r"integers in \[0, 4\)", id="fraction"),
        pytest.param(0, 0, "inverse_rank", "'n_classes'", id="no-classes"),
        pytest.param(0, 4, "rank", "Allowed values", id="unknown-score"),
    ],
)
def test_rank_score_errors(rank, n, score, match):
    with pytest.raises(ValueError, match=match):
        rank_score(rank, n, score=score)


def _network():
    """A network on 2 x 3 images: class scores from the red channel's pixels p0..p5 (row-major,
    in [0, 1] after a preprocessing with mean 0 and std 1 that keeps the size):
    class 0 "apple" = p0 + p1, class 1 "boat" = p2 + p5 + 0.1, class 2 "cat" = p3 + p4 + 0.2,
    class 3 "dog" = 0.6."""
    torch = pytest.importorskip("torch")
    from stimuli.models import LoadedModel, Preprocess

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(6, 4)
            weight = torch.zeros(4, 6)
            weight[0, [0, 1]] = 1.0
            weight[1, [2, 5]] = 1.0
            weight[2, [3, 4]] = 1.0
            with torch.no_grad():
                self.linear.weight.copy_(weight)
                self.linear.bias.copy_(torch.tensor([0.0, 0.1, 0.2, 0.6]))

        def forward(self, x):
            return self.linear(x[:, 0].flatten(1))

    preprocess = Preprocess(size=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    return LoadedModel(
        model=Net().eval(), preprocess=preprocess, identifier="net", provenance={"model": "net"}
    )


WHITE = np.full((2, 3, 3), 255, np.uint8)
IMAGES = {"a": WHITE, "b": WHITE.copy(), "c": WHITE.copy()}
LABELS = {"a": "apple", "b": "boat", "c": "Cat "}
CATEGORIES = ["apple", "boat", "cat", "dog"]
# The median of 6 values is the 4th smallest (np.partition at N // 2 = 3): 4 in each map.
# Above it: 6 -> 2 and 5 -> 1, over the peak 2: a mask of 1 and 0.5 on two pixels.
MAPS = {
    "free-viewing": {
        "a": np.array([[6.0, 5, 1], [4, 2, 3]]),  # reveals p0 = 1, p1 = 0.5
        "b": np.array([[1.0, 2, 6], [3, 4, 5]]),  # reveals p2 = 1, p5 = 0.5
        "c": np.array([[1.0, 2, 3], [6, 5, 4]]),  # reveals p3 = 1, p4 = 0.5
    }
}


def test_reverse_test_worked_by_hand():
    """All images are white, so the masked image is the mask (black elsewhere), and

    - mask A: scores (1 + H, 0.1, 0.2, 0.6), mask B: (0, 1.1 + H, 0.2, 0.6),
      mask C: (0, 0.1, 1.2 + H, 0.6), with H = 128/255;
    - correct masks: a with A, b with B, c with C: the label's class is on top, r = 0,
      score 4 / 4 = 1;
    - incorrect masks (the next image's, circularly): a with B: apple's 0 is below 1.6, 0.6
      and 0.2, r = 3, 4/7; b with C: boat's 0.1 is below 1.7 and 0.6, r = 2, 4/6; c with A:
      cat's 0.2 is below 1.5 and 0.6, r = 2, 4/6.

    Mean correct 1, incorrect (4/7 + 2/3 + 2/3) / 3 = 0.634921, difference 0.365079; every
    image's difference is positive, so the bootstrap interval lies above 0.
    """
    result = reverse_test(IMAGES, MAPS, _network(), labels=LABELS, categories=CATEGORIES, rng=0)
    s = result.scores.set_index(["image_id", "mask"])
    assert s.loc[("a", "incorrect"), "mask_image_id"] == "b"
    assert s.loc[("c", "incorrect"), "mask_image_id"] == "a"
    assert s["rank"].to_dict() == {
        ("a", "correct"): 0,
        ("a", "incorrect"): 3,
        ("b", "correct"): 0,
        ("b", "incorrect"): 2,
        ("c", "correct"): 0,
        ("c", "incorrect"): 2,
    }
    assert s.loc[("a", "incorrect"), "score"] == pytest.approx(4 / 7)
    assert s.loc[("c", "correct"), "target_name"] == "cat"
    # Unmasked white: (2, 2.1, 2.2, 0.6), so apple ranks 2, boat 1, cat 0.
    assert s.loc[("a", "correct"), "unmasked_rank"] == 2
    row = result.summary.iloc[0]
    assert row["measure"] == "free-viewing" and row["n_images"] == 3
    assert row["mean_correct"] == pytest.approx(1.0)
    assert row["mean_incorrect"] == pytest.approx((4 / 7 + 4 / 3) / 3)
    assert row["difference"] == pytest.approx(1 - (4 / 7 + 4 / 3) / 3)
    assert 0 < row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert result.n_classes == 4


def test_predicted_target_is_the_top_class_on_the_unmasked_image():
    """Unmasked white scores (2, 2.1, 2.2, 0.6): every image's target is class 2 ("cat").
    Its rank: mask A (1.50, 0.1, 0.2, 0.6) -> 2; B (0, 1.60, 0.2, 0.6) -> 2; C -> 0. So a: 2
    (correct, A) and 2 (incorrect, B); b: 2 (B) and 0 (C); c: 0 (C) and 2 (A). With 1/(r+1):
    correct mean (1/3 + 1/3 + 1) / 3 = 5/9, incorrect the same, difference 0."""
    result = reverse_test(IMAGES, MAPS, _network(), target="predicted", score="1/(r+1)")
    s = result.scores.set_index(["image_id", "mask"])
    assert set(s["target_class"]) == {2}
    assert s["rank"].tolist() == [2, 2, 2, 0, 0, 2]
    assert result.summary.iloc[0]["mean_correct"] == pytest.approx(5 / 9)
    assert result.summary.iloc[0]["difference"] == pytest.approx(0.0)


def test_reverse_test_reads_a_stimulus_set(tmp_path):
    """The same case through a stimulus-set file, with integer class labels and maps of
    another size (4 x 6, resized to the 2 x 3 images by area averaging, which keeps each
    2 x 2 block's value: the same masks)."""
    from stimuli import write_stimulus_set

    path = write_stimulus_set(tmp_path / "set.h5", IMAGES, labels={"a": "0", "b": "1", "c": "2"})
    big = {m: {i: np.kron(v, np.ones((2, 2))) for i, v in maps.items()} for m, maps in MAPS.items()}
    result = reverse_test(path, big, _network(), n_bootstrap=0)
    assert result.scores["rank"].tolist() == [0, 3, 0, 2, 0, 2]
    assert np.isnan(result.summary.iloc[0]["ci_low"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"labels": {"a": "apple", "b": "boat", "c": "zebra"}}, "zebra", id="label"),
        pytest.param({"target": "top"}, "Allowed values", id="target"),
        pytest.param({"categories": ["x"]}, "4 outputs", id="categories"),
    ],
)
def test_reverse_test_errors(kwargs, match):
    options = {"labels": LABELS, "categories": CATEGORIES, **kwargs}
    with pytest.raises(ValueError, match=match):
        reverse_test(IMAGES, MAPS, _network(), **options)


def test_maps_given_without_the_measure_level_are_named():
    with pytest.raises(ValueError, match="measure -> image id -> map"):
        reverse_test(IMAGES, MAPS["free-viewing"], _network(), labels=LABELS)
