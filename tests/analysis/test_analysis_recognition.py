"""Masked recognition: d' against published tables and hand arithmetic, the summary, the model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis import dprime, dprime_mafc, recognition_model, recognition_summary
from analysis.recognition import corrected_rate, proportion_correct_mafc

SQRT2 = math.sqrt(2.0)


# --- yes/no d' -------------------------------------------------------------------------


def test_dprime_without_correction_matches_the_z_table():
    """H = .8, F = .2: z(.80) = 0.8416 in the standard normal table (Macmillan & Creelman
    2005, Table A5.1), so d' = 0.8416 - (-0.8416) = 1.6832."""
    assert dprime(8, 10, 2, 10, correction="none") == pytest.approx(1.6832, abs=1e-4)


def test_loglinear_correction_worked_by_hand():
    """Hautus (1995): add 0.5 to each count, 1 to each total.

    20 hits of 25, 5 false alarms of 25: H = 20.5 / 26 = 0.788462, F = 5.5 / 26 = 1 - H.
    From the normal table, Phi(0.80) = 0.78814 and Phi(0.81) = 0.79103, so
    z(H) = 0.80 + 0.01 (0.788462 - 0.78814) / 0.00289 = 0.80111 and d' = 2 z(H) = 1.6022.
    A perfect observer, 10 of 10 hits and 0 of 10 false alarms: H = 10.5 / 11 = 0.954545;
    Phi(1.69) = 0.95449, Phi(1.70) = 0.95543, z(H) = 1.69 + 0.01 (0.000055 / 0.00094)
    = 1.69059, d' = 3.3812 (finite, where the uncorrected rates give infinity).
    """
    assert dprime(20, 25, 5, 25) == pytest.approx(1.6022, abs=2e-4)
    assert dprime(10, 10, 0, 10) == pytest.approx(3.3812, abs=2e-4)
    assert dprime(10, 10, 0, 10, correction="none") == math.inf


def test_half_count_correction_replaces_only_extreme_rates():
    """Macmillan & Kaplan (1985): 10/10 -> 1 - 1/20 = 0.95, 0/10 -> 0.05; z(.95) = 1.6449,
    d' = 3.2897. A non-extreme rate stays k / n: 8/10 and 2/10 give 1.6832 as uncorrected."""
    assert dprime(10, 10, 0, 10, correction="1/2n") == pytest.approx(3.2897, abs=1e-4)
    assert dprime(8, 10, 2, 10, correction="1/2n") == pytest.approx(1.6832, abs=1e-4)


def test_dprime_is_vectorised():
    hits = np.array([[8, 20], [10, 5]])
    out = dprime(hits, [10, 25], 2, [10, 25], correction="none")
    assert out.shape == (2, 2)
    assert out[0, 0] == pytest.approx(1.6832, abs=1e-4)
    assert out[1, 1] == pytest.approx(stats.norm.ppf(0.2) - stats.norm.ppf(2 / 25))


def test_corrected_rate_loglinear_is_k_plus_half_over_n_plus_one():
    assert corrected_rate([0, 3, 10], 10).tolist() == pytest.approx([0.5 / 11, 3.5 / 11, 10.5 / 11])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: dprime(11, 10, 0, 10), r"'hits' parameter must lie", id="hits>n"),
        pytest.param(lambda: dprime(1, 0, 0, 10), r"'n_signal' parameter must be", id="n=0"),
        pytest.param(lambda: dprime(1, 10, 0, 10, correction="x"), "Allowed values", id="corr"),
        pytest.param(lambda: dprime_mafc(1.2, 2), r"proportions in \[0, 1\]", id="p>1"),
        pytest.param(lambda: dprime_mafc(0.7, 1), "integer >= 2", id="m=1"),
        pytest.param(lambda: dprime_mafc(0.7, 2.5), "integer >= 2", id="m=2.5"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- m-alternative forced choice -------------------------------------------------------


def test_mafc_proportion_correct_matches_palamedes_table():
    """Palamedes toolbox (Prins & Kingdom), ``PAL_SDT_DPtoPCacrossM_Demo.m``: at d' = 2 an
    unbiased observer's Pc for M = 3..8 standard M-AFC is 0.8658, 0.8228, 0.7878, 0.7585,
    0.7332, 0.7110 (printed to 4 decimals); M = 2 is Phi(2 / sqrt 2) = Phi(1.4142) = 0.9214."""
    pc = proportion_correct_mafc(2.0, np.arange(2, 9))
    expected = [0.9214, 0.8658, 0.8228, 0.7878, 0.7585, 0.7332, 0.7110]
    assert pc == pytest.approx(expected, abs=6e-5)


def test_mafc_dprime_matches_palamedes_inverse():
    """Palamedes ``PAL_SDT_MAFC_PCtoDP([.1 .3 .5 .7 .9], 10)`` = [0, 0.8680, 1.4748, 2.0872,
    2.9829]; its Nelder-Mead search stops at a tolerance of 1e-4, hence 2e-4 here."""
    d = dprime_mafc([0.1, 0.3, 0.5, 0.7, 0.9], 10)
    assert d == pytest.approx([0.0, 0.8680, 1.4748, 2.0872, 2.9829], abs=2e-4)


def test_two_alternatives_is_sqrt2_z():
    """Palamedes ``PAL_SDT_DPtoPCcomparison_Demo``: 2AFC d' of Pc .9, .925, .95, .975 is
    1.8124, 2.0358, 2.3262, 2.7718, i.e. sqrt(2) z(Pc)."""
    p = np.array([0.9, 0.925, 0.95, 0.975])
    assert dprime_mafc(p, 2) == pytest.approx([1.8124, 2.0358, 2.3262, 2.7718], abs=1e-4)
    assert dprime_mafc(p, 2) == pytest.approx(SQRT2 * stats.norm.ppf(p), rel=1e-12)
    assert proportion_correct_mafc([0.25, 1.0], 2) == pytest.approx([0.5702, 0.7602], abs=1e-4)


def test_mafc_against_independent_quadrature():
    """The integral of phi(x - d') Phi(x)^(m - 1) by scipy's adaptive quadrature."""
    for m, d in ((3, 0.4), (4, 1.3), (8, 2.7), (26, 3.1)):
        reference, _ = integrate.quad(
            lambda x, m=m, d=d: stats.norm.pdf(x - d) * stats.norm.cdf(x) ** (m - 1),
            -np.inf,
            np.inf,
        )
        assert proportion_correct_mafc(d, m) == pytest.approx(reference, abs=1e-10)
        assert dprime_mafc(reference, m) == pytest.approx(d, abs=1e-8)


def test_mafc_edges_chance_and_below():
    assert dprime_mafc(0.25, 4) == 0.0
    assert dprime_mafc([0.0, 1.0], 3).tolist() == [-math.inf, math.inf]
    below = dprime_mafc(0.2, 4)
    assert below < 0
    assert proportion_correct_mafc(below, 4) == pytest.approx(0.2, abs=1e-12)
    assert math.isnan(dprime_mafc(float("nan"), 4))
    # The log-linear correction of a perfect 2AFC score of 20 trials: Pc = 20.5 / 21.
    assert dprime_mafc(corrected_rate(20, 20), 2) == pytest.approx(
        SQRT2 * stats.norm.ppf(20.5 / 21)
    )


# --- the summary -----------------------------------------------------------------------


def _trial(participant, correct_mask, correct, **extra):
    row = {
        "participant": participant,
        "session": "1",
        "image_id": "im1",
        "mask_source": "human/free-viewing",
        "mask_image_id": "im1" if correct_mask else "im2",
        "correct_mask": correct_mask,
        "response": "x",
        "correct": correct,
        "rt_s": 0.7,
        "flagged": 0,
        "repeat_of": None,
        "descriptors": "dog|cat",
        "target_frames_planned": 3,
        "target_frames_shown": 3,
        "mask_frames_planned": 12,
        "mask_frames_shown": 12,
    }
    row.update(extra)
    return row


def _hand_table(descriptors="dog|cat"):
    """P01, own mask: 1, 1, 0, a flagged 1 and its repeat 1 -> 4 kept, 3 correct.
    P01, other mask: 1, 0, and a 1 whose target ran 4 frames of 3 -> 2 kept, 1 correct.
    P02, own mask: 1 -> 1 of 1. P02, other mask: 0, 0 -> 0 of 2."""
    rows = [
        _trial("01", 1, 1),
        _trial("01", 1, 1),
        _trial("01", 1, 0),
        _trial("01", 1, 1, flagged=1),
        _trial("01", 1, 1, repeat_of=4),
        _trial("01", 0, 1),
        _trial("01", 0, 0),
        _trial("01", 0, 1, target_frames_shown=4),
        _trial("02", 1, 1),
        _trial("02", 0, 0),
        _trial("02", 0, 0),
    ]
    table = pd.DataFrame(rows)
    table["descriptors"] = descriptors
    return table


def test_summary_worked_by_hand():
    """Own mask: 4 + 1 = 5 trials, 3 + 1 = 4 correct, accuracy 0.8; log-linear Pc = 4.5 / 6
    = 0.75, 2AFC d' = sqrt(2) z(.75) = 1.41421 x 0.67449 = 0.95387. Other mask: 2 + 2 = 4
    trials, 1 correct, accuracy 0.25; Pc = 1.5 / 5 = 0.3, d' = 1.41421 x -0.52440 = -0.74161.
    Difference: accuracy 0.55, d' 1.69548."""
    result = recognition_summary(_hand_table(), n_bootstrap=2000, rng=0)
    c = result.conditions.set_index("correct_mask")
    assert c.loc[1, "n_trials"] == 5 and c.loc[0, "n_trials"] == 4
    assert c.loc[1, "n_flagged_excluded"] == 1 and c.loc[0, "n_flagged_excluded"] == 1
    assert c.loc[1, "n_repeats"] == 1 and c.loc[0, "n_repeats"] == 0
    assert c.loc[1, "n_participants"] == 2
    assert c.loc[1, "accuracy"] == pytest.approx(0.8)
    assert c.loc[0, "accuracy"] == pytest.approx(0.25)
    assert c.loc[1, "dprime"] == pytest.approx(0.95387, abs=1e-5)
    assert c.loc[0, "dprime"] == pytest.approx(-0.74161, abs=1e-5)
    d = result.differences.iloc[0]
    assert d["mask_source"] == "human/free-viewing"
    assert d["accuracy_difference"] == pytest.approx(0.55)
    assert d["dprime_difference"] == pytest.approx(0.95387 + 0.74161, abs=2e-5)


def test_participant_table_worked_by_hand():
    """P01 own mask: 3 of 4, Pc = 3.5 / 5 = 0.7, d' = sqrt(2) z(.7) = 0.74161.
    P02 other mask: 0 of 2, Pc = 0.5 / 3, d' = sqrt(2) z(1/6) = 1.41421 x -0.96742 = -1.36814."""
    per = recognition_summary(_hand_table(), n_bootstrap=0).participants
    per = per.set_index(["participant", "correct_mask"])
    assert per.loc[("01", 1), "accuracy"] == pytest.approx(0.75)
    assert per.loc[("01", 1), "dprime"] == pytest.approx(0.74161, abs=1e-5)
    assert per.loc[("02", 0), "dprime"] == pytest.approx(-1.36814, abs=1e-5)
    assert per.loc[("01", 0), "n_flagged_excluded"] == 1


def test_bootstrap_resamples_participants():
    """Two participants: a resample holds P01 twice (1/4 of resamples), both (1/2) or P02
    twice (1/4). The own-mask accuracy is then 6/8 = 0.75, 4/5 = 0.8 or 2/2 = 1, so the
    95 % interval's ends are 0.75 and 1 (each end has 25 % of the resamples)."""
    c = recognition_summary(_hand_table(), rng=1).conditions.set_index("correct_mask")
    assert c.loc[1, "accuracy_ci_low"] == pytest.approx(0.75)
    assert c.loc[1, "accuracy_ci_high"] == pytest.approx(1.0)
    none = recognition_summary(_hand_table(), n_bootstrap=0).conditions
    assert none[["accuracy_ci_low", "dprime_ci_high"]].isna().all().all()


def test_four_options_use_the_four_alternative_dprime():
    c = recognition_summary(_hand_table("a|b|c|d"), n_bootstrap=0).conditions
    own = c.set_index("correct_mask").loc[1]
    assert own["n_options"] == 4
    assert own["dprime"] == pytest.approx(dprime_mafc(0.75, 4))


def test_mixed_option_counts_in_a_condition_are_refused():
    table = _hand_table()
    table.loc[0, "descriptors"] = "a|b|c"
    with pytest.raises(ValueError, match="different numbers of options"):
        recognition_summary(table, n_bootstrap=0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(lambda t: t.drop(columns="correct"), "lacks the columns", id="no-correct"),
        pytest.param(lambda t: t.assign(correct=2), "must be 0 or 1", id="correct=2"),
        pytest.param(lambda t: t.drop(columns="descriptors"), "n_options=", id="no-m"),
    ],
)
def test_summary_errors(change, match):
    with pytest.raises(ValueError, match=match):
        recognition_summary(change(_hand_table()), n_bootstrap=0)


# --- the mixed-effects model -----------------------------------------------------------


def _simulated(seed, effect_a=1.5, effect_b=0.0):
    """20 participants x 10 images x 2 sources x 2 masks x 2 repetitions (1600 trials):
    logit P(correct) = 0.2 + effect_s * correct_mask + u_p + v_i, u, v ~ N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(0, 0.5, 20), rng.normal(0, 0.5, 10)
    rows = []
    for p in range(20):
        for i in range(10):
            for source, effect in (("A", effect_a), ("B", effect_b)):
                for own in (0, 1):
                    for _ in range(2):
                        eta = 0.2 + effect * own + u[p] + v[i]
                        rows.append(
                            _trial(
                                f"{p:02d}",
                                own,
                                int(rng.random() < 1 / (1 + math.exp(-eta))),
                                image_id=f"im{i}",
                                mask_source=source,
                            )
                        )
    return pd.DataFrame(rows)


def test_model_recovers_a_large_effect_and_covers_a_null_one():
    """With ~400 trials per source and mask, the posterior sd of an effect is about 0.13
    log-odds: source A's true 1.5 must be recovered within 0.45 (3.5 sd); source B's true 0
    must lie in its 95 % interval. The participant sd (true 0.5) lands in (0.2, 1)."""
    table = _simulated(0)
    table.loc[0, "flagged"] = 1
    fit = recognition_model(table)
    fixed = fit.fixed.set_index(["kind", "mask_source"])
    a = fixed.loc[("correct_mask", "A")]
    b = fixed.loc[("correct_mask", "B")]
    assert abs(a["mean"] - 1.5) < 0.45
    assert a["ci_low"] > 0
    assert a["odds_ratio"] == pytest.approx(math.exp(a["mean"]))
    assert b["ci_low"] < 0 < b["ci_high"]
    sd = fit.variance.set_index("effect").loc["participant", "sd"]
    assert 0.2 < sd < 1.0
    assert fit.n_trials == len(table) - 1 and fit.n_flagged_excluded == 1
    assert fit.n_participants == 20 and fit.n_images == 10
