"""The simulated participant's response model, checked statistically against its documented form.

Every test draws with fixed seeds, so it passes or fails the same way on every run;
the bounds are four standard errors of the statistic under the documented model
(worked out in each test's docstring), so a model that departs from the
documentation by more than that fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from eyetracking.protocol import ImagePlacement
from tasks.runtime.participant import SimulatedParticipant
from tasks.runtime.responses import ResponseRequest, make_response, to_image_pixel

N = 4000


def _participant(**kwargs: float) -> SimulatedParticipant:
    planted = np.zeros((20, 30))
    planted[2:6, 20:28] = 1.0
    return SimulatedParticipant({"img": planted}, seed=7, **kwargs)


def _answers(sim: SimulatedParticipant, request: ResponseRequest, n: int = N) -> list:
    out = []
    for _i in range(n):
        sim.begin(request, 10.0)
        answer = sim.poll(math.inf)
        assert answer is not None and sim.poll(math.inf) is None  # one answer per request
        out.append(answer)
    return out


@pytest.mark.parametrize(("m", "e"), [(2, 0.0), (4, 0.5), (5, 0.9), (3, 1.0)])
def test_choice_accuracy_is_chance_plus_evidence(m: int, e: float) -> None:
    """P(right) = 1/m + (1 - 1/m) e; its estimate from N draws has SE sqrt(p (1-p) / N)
    (<= 0.0079 at N = 4000): bound 4 SE. Wrong answers are uniform: each (1 - p)/(m - 1)."""
    sim = _participant()
    request = ResponseRequest(
        "choice", options=tuple("abcdef"[:m]), correct=1, evidence=e, purpose="categorise"
    )
    values = np.array([make_response(request, a, 10.0, None).value for a in _answers(sim, request)])
    p = 1 / m + (1 - 1 / m) * e
    se = math.sqrt(p * (1 - p) / N)
    assert abs(np.mean(values == 1) - p) <= 4 * se + 1e-12
    for wrong in set(range(m)) - {1}:
        q = (1 - p) / (m - 1)
        assert abs(np.mean(values == wrong) - q) <= 4 * math.sqrt(q * (1 - q) / N) + 1e-12


def test_keys_follow_the_same_accuracy_and_the_right_key() -> None:
    """Keys: m = 2 keys, e = 0.6 -> p = 0.8 (SE 0.0063 at N = 4000)."""
    sim = _participant()
    request = ResponseRequest("keys", keys=("left", "right"), correct="right", evidence=0.6)
    keys = np.array([a.key for a in _answers(sim, request)])
    assert abs(np.mean(keys == "right") - 0.8) <= 4 * math.sqrt(0.8 * 0.2 / N)


@pytest.mark.parametrize(("n", "e"), [(5, 0.75), (7, 0.0), (4, 1.0), (9, 0.4)])
def test_rating_mean_follows_the_evidence(n: int, e: float) -> None:
    """Rating = clip(round(1 + (n-1) e + 0.6 Z), 1, n). Its exact mean is
    sum_k k P(k) with P(k) from the normal CDF at k +- 0.5 (the ends take the tails);
    the SD of one rating is at most 0.6 + 0.5 here, so the mean of N has SE <= 1.1 / sqrt(N)."""
    sim = _participant()
    labels = tuple(str(i) for i in range(n))
    request = ResponseRequest("rating", options=labels, evidence=e)
    ratings = np.array(
        [make_response(request, a, 10.0, None).value + 1 for a in _answers(sim, request)]
    )
    mu, sd = 1 + (n - 1) * e, 0.6
    edges = np.array([-np.inf, *np.arange(1.5, n, 1.0), np.inf])
    probs = np.diff(stats.norm.cdf(edges, loc=mu, scale=sd))
    expected = float(np.sum(np.arange(1, n + 1) * probs))
    assert ratings.min() >= 1 and ratings.max() <= n
    assert abs(ratings.mean() - expected) <= 4 * 1.1 / math.sqrt(N)


def test_reaction_times_are_log_normal_with_the_documented_median() -> None:
    """log RT ~ N(log 0.8, 0.35): the sample median of log RT has SE 1.2533 * 0.35 / sqrt(N)
    (0.0069 at N = 4000); the log-SD estimate has SE 0.35 / sqrt(2 N). Floor: 0.15 s."""
    sim = _participant()
    request = ResponseRequest("keys", keys=("space",))
    rts = np.array([a.time_s - 10.0 for a in _answers(sim, request)])
    assert rts.min() >= 0.15
    logs = np.log(rts)
    assert abs(np.median(logs) - math.log(0.8)) <= 4 * 1.2533 * 0.35 / math.sqrt(N)
    assert abs(np.std(logs) - 0.35) <= 4 * 0.35 / math.sqrt(2 * N)
    continued = _answers(sim, ResponseRequest("keys", keys=("space",), purpose="continue"), 3)
    assert [a.time_s for a in continued] == [10.4] * 3


def test_rt_floor() -> None:
    sim = _participant(rt_median_s=0.1, rt_sigma=0.01)
    rts = [a.time_s - 10.0 for a in _answers(sim, ResponseRequest("keys", keys=("x",)), 50)]
    assert rts == [pytest.approx(0.15)] * 50


def test_clicks_follow_the_target_map_to_the_pixel() -> None:
    """Without motor noise every click maps back to a pixel of the map's support, drawn
    in proportion to the map: a 3:1 weighted pair of regions gets P(A) = 0.75 (SE 0.0068)."""
    sim = _participant(click_sd_deg=0.0)
    target = np.zeros((20, 30))
    target[10:12, 3:5] = 3.0  # region A, 4 pixels of weight 3
    target[0:2, 25:27] = 1.0  # region B, 4 pixels of weight 1
    place = ImagePlacement.centered((400, 300), (30, 20), scale=3.0)
    request = ResponseRequest("click", placement=place, target=target, purpose="locate")
    pixels = [to_image_pixel(place, a.x_px, a.y_px, (30, 20)) for a in _answers(sim, request)]
    assert all(p is not None and target[p[1], p[0]] > 0 for p in pixels)
    in_a = np.mean([target[p[1], p[0]] == 3.0 for p in pixels])
    assert abs(in_a - 0.75) <= 4 * math.sqrt(0.75 * 0.25 / N)
    # every one of the 8 pixels is drawn about as often as its weight says (1/8 of 4 draws each)
    counts = np.zeros_like(target)
    for x, y in pixels:
        counts[y, x] += 1
    probs = target[target > 0] / target.sum()
    assert np.all(np.abs(counts[target > 0] / N - probs) <= 4 * np.sqrt(probs * (1 - probs) / N))


def test_clicks_default_to_the_planted_map_with_motor_noise() -> None:
    """With 0.3 deg of noise at 30 px/deg (SD 9 px = 3 image px at scale 3) the clicks' mean
    lies at the planted region's centre (SE of the mean < 1 image px / sqrt(N) * 4)."""
    sim = _participant()
    place = ImagePlacement.centered((400, 300), (30, 20), scale=3.0)
    request = ResponseRequest("click", placement=place, image_id="img")
    answers = _answers(sim, request)
    # planted region: rows 2..5, columns 20..27 -> centre (23.5, 3.5) in image pixels,
    # screen x = left + (u + 0.5) * 3 - 0.5
    centre_x = place.left_px + (23.5 + 0.5) * 3 - 0.5
    centre_y = place.top_px + (3.5 + 0.5) * 3 - 0.5
    xs, ys = np.array([a.x_px for a in answers]), np.array([a.y_px for a in answers])
    # per-axis SD: within-region spread (8 px wide * 3 / sqrt(12) = 6.9 px) and noise 9 px
    se = math.hypot(9.0, 8 * 3 / math.sqrt(12)) / math.sqrt(N)
    assert abs(xs.mean() - centre_x) <= 4 * se
    assert abs(ys.mean() - centre_y) <= 4 * math.hypot(9.0, 4 * 3 / math.sqrt(12)) / math.sqrt(N)
    assert abs(np.std(ys) - math.hypot(9.0, 4 * 3 / math.sqrt(12))) < 1.0


def test_choice_with_boxes_is_a_click_on_the_chosen_box() -> None:
    sim = _participant()
    boxes = ((0.0, 0.0, 10.0, 10.0), (10.0, 0.0, 10.0, 10.0))
    request = ResponseRequest("choice", options=("a", "b"), boxes=boxes, correct=1, evidence=1.0)
    (answer,) = _answers(sim, request, 1)
    assert (answer.x_px, answer.y_px) == (15.0, 5.0) and answer.key is None


def test_reseed_makes_a_resumed_session_answer_alike() -> None:
    """Trial 5's answers depend on the seed and the trial only, not on the trials before."""
    request = ResponseRequest("choice", options=("a", "b", "c"), correct=0, evidence=0.2)

    def trial(sim: SimulatedParticipant, tid: int) -> list:
        sim.reseed(tid)
        return [(a.time_s, a.key) for a in _answers(sim, request, 20)]

    full = _participant()
    for tid in range(1, 5):
        trial(full, tid)
    resumed = _participant()
    assert trial(full, 5) == trial(resumed, 5)
    assert trial(resumed, 5) != trial(resumed, 6)
    other = SimulatedParticipant({"img": np.ones((2, 2))}, seed=8)
    assert trial(other, 5) != trial(resumed, 5)


def test_reseed_stream_differs_from_the_trials_own_stream() -> None:
    """The runtime seeds a trial's ``ctx.rng`` with (seed, trial_id): the participant must
    not draw the same numbers (its choices would copy the task's random placements)."""
    sim = _participant()
    sim.reseed(3)
    assert not np.array_equal(sim._rng.random(5), np.random.default_rng((7, 3)).random(5))
    fresh = _participant()
    assert not np.array_equal(fresh._rng.random(5), np.random.default_rng(7).random(5))


def test_reseed_drops_a_pending_answer() -> None:
    sim = _participant()
    sim.begin(ResponseRequest("keys", keys=("space",)), 0.0)
    sim.reseed(2)
    assert sim.poll(math.inf) is None
