"""read_asc on sample-line layouts worked out by hand: mixed blocks, optional columns, chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import eyetracking.asc._scan as scan_module
from eyetracking.asc import read_asc

# A monocular block with velocity, a binocular one, a right-eye one with velocity and
# resolution, and a block whose samples carry no flags column.
MIXED = """
** a header line
MSG|50 TRIALID 1
START|100 |LEFT|SAMPLES|EVENTS
SAMPLES|GAZE|LEFT|VEL|RATE|1000.00|TRACKING|CR|FILTER|2
100|  1.0|  2.0|  3.0|  0.5|  -0.5|...
# a comment line, then a blank one

101|  1.1|  2.1|  3.1|  0.6|  -0.6|...
END|102 |SAMPLES|EVENTS
START|200 |LEFT|RIGHT|SAMPLES|EVENTS
SAMPLES|GAZE|LEFT|RIGHT|RATE|1000.00|TRACKING|CR|FILTER|2
200|  10.0|  20.0|  30.0|  11.0|  21.0|  31.0|.....
END|201 |SAMPLES|EVENTS
START|300 |RIGHT|SAMPLES|EVENTS
SAMPLES|HREF|RIGHT|VEL|RES|RATE|1000.00|TRACKING|CR|FILTER|1
300|  5.0|  6.0|  7.0|  1.5|  2.5|  40.0|  41.0|..C
END|301 |SAMPLES|EVENTS
START|400 |LEFT|SAMPLES|EVENTS
SAMPLES|GAZE|LEFT|RATE|1000.00|TRACKING|CR|FILTER|0
400|  8.0|  9.0|  10.0
401|   .|   .|  0.0
END|402 |SAMPLES|EVENTS
"""

EXPECTED = pd.DataFrame(
    {
        "time": [100.0, 101.0, 200.0, 200.0, 300.0, 400.0, 401.0],
        "eye": ["L", "L", "L", "R", "R", "L", "L"],
        "x": [1.0, 1.1, 10.0, 11.0, 5.0, 8.0, np.nan],
        "y": [2.0, 2.1, 20.0, 21.0, 6.0, 9.0, np.nan],
        "pupil": [3.0, 3.1, 30.0, 31.0, 7.0, 10.0, 0.0],
        "block": [0, 0, 1, 1, 2, 3, 3],
        "xv": [0.5, 0.6, np.nan, np.nan, 1.5, np.nan, np.nan],
        "yv": [-0.5, -0.6, np.nan, np.nan, 2.5, np.nan, np.nan],
        "x_res": [np.nan] * 4 + [40.0] + [np.nan] * 2,
        "y_res": [np.nan] * 4 + [41.0] + [np.nan] * 2,
    }
)


@pytest.mark.parametrize("chunk_bytes", [None, 64])
def test_mixed_layouts(write_asc, monkeypatch, chunk_bytes):
    if chunk_bytes:
        monkeypatch.setattr(scan_module, "CHUNK_BYTES", chunk_bytes)
    rec = read_asc(write_asc(MIXED))
    samples = rec.samples.drop(columns="trial_id")
    expected = EXPECTED.astype({"eye": "string"})
    pd.testing.assert_frame_equal(samples[list(expected.columns)], expected)
    assert (rec.samples["trial_id"] == 1).all()
    blocks = rec.blocks
    assert blocks["layout"].tolist() == [
        "time x_L y_L pupil_L xv_L yv_L flags",
        "time x_L y_L pupil_L x_R y_R pupil_R flags",
        "time x_R y_R pupil_R xv_R yv_R x_res y_res flags",
        "time x_L y_L pupil_L",
    ]
    assert blocks["n_samples"].tolist() == [2, 1, 1, 2]
    assert blocks["data_type"].tolist() == ["GAZE", "GAZE", "HREF", "GAZE"]
    assert blocks["filter_level"].tolist() == [2, 2, 1, 0]
    assert rec.eyes == ("L", "R")


def test_optional_columns_only_when_present(write_asc):
    text = "START|100 |LEFT|SAMPLES|EVENTS\n100|  1.0|  2.0|  3.0|...\nEND|101"
    assert list(read_asc(write_asc(text)).samples.columns) == [
        "time",
        "eye",
        "x",
        "y",
        "pupil",
        "trial_id",
        "block",
    ]


def test_a_short_sample_line_is_malformed_not_padded(write_asc):
    # Pandas would fill a short line with NaN; the flags column must close every line.
    text = MIXED.replace("101|  1.1|  2.1|  3.1|  0.6|  -0.6|...", "101|  1.1|  2.1")
    with pytest.warns(
        UserWarning, match=r"Skipped 1 .* line 8 \(malformed sample line\): .101\\t  1.1\\t  2.1."
    ):
        rec = read_asc(write_asc(text))
    assert rec.samples["time"].tolist()[:2] == [100.0, 200.0]
    assert rec.blocks["n_samples"].tolist() == [1, 1, 1, 2]


def test_block_without_samples_and_missing_rate(write_asc):
    text = """
    START|100 |LEFT|EVENTS
    EFIX L   100|120|21|  5.0|  6.0|  7
    END|121 |EVENTS
    START|200 |LEFT|SAMPLES|EVENTS
    200|  1.0|  2.0|  3.0|...
    204|  1.0|  2.0|  3.0|...
    208|  1.0|  2.0|  3.0|...
    """
    with pytest.warns(UserWarning, match="block 1 has no END line"):
        rec = read_asc(write_asc(text))
    assert rec.blocks["n_samples"].tolist() == [0, 3]
    # No RATE given: the rate of the samples' time stamps; END: the last sample.
    assert np.isnan(rec.blocks["sample_rate_hz"][0]) and rec.blocks["sample_rate_hz"][1] == 250.0
    assert rec.blocks["end"].tolist() == [121.0, 208.0]
    assert rec.sample_rate_hz == 250.0


@pytest.mark.parametrize(
    ("declared", "line", "expected"),
    [
        pytest.param(
            "LEFT|RIGHT|HTARGET",
            "100|  1.0|  2.0|  3.0|  4.0|  5.0|  6.0|.....",
            "time x_L y_L pupil_L x_R y_R pupil_R flags",
            id="binocular-no-target",
        ),
        pytest.param(
            "LEFT|HTARGET",
            "100|  1.0|  2.0|  3.0|...",
            "time x_L y_L pupil_L flags",
            id="monocular-no-target",
        ),
        pytest.param(
            "LEFT|VEL|HTARGET",
            "100|  1.0|  2.0|  3.0|  0.5|  -0.5|...",
            "time x_L y_L pupil_L xv_L yv_L flags",
            id="velocity-kept-target-dropped",
        ),
    ],
)
def test_header_declaring_columns_the_lines_lack_reads_the_lines(
    write_asc, declared, line, expected
):
    text = f"""
    START|100 |{declared.replace("|HTARGET", "").replace("|VEL", "")}|SAMPLES|EVENTS
    SAMPLES|GAZE|{declared}|RATE|1000.00|TRACKING|CR|FILTER|2
    {line}
    {line.replace("100|", "101|", 1)}
    END|102 |SAMPLES|EVENTS
    """
    with pytest.warns(
        UserWarning,
        match=r"test\.asc: the SAMPLES line at line 2 .*first sample "
        r"at line 3\): reading the samples as",
    ) as caught:
        rec = read_asc(write_asc(text))
    assert len([w for w in caught if "SAMPLES line" in str(w.message)]) == 1  # once per block
    assert rec.blocks["layout"][0] == expected
    n_eyes = 2 if "RIGHT" in declared else 1
    assert rec.samples["time"].tolist() == [100.0] * n_eyes + [101.0] * n_eyes
    assert rec.samples["x"].tolist()[:n_eyes] == [1.0, 4.0][:n_eyes]
    assert rec.samples["pupil"].tolist()[:n_eyes] == [3.0, 6.0][:n_eyes]
    if "VEL" in declared:
        assert rec.samples["xv"].tolist() == [0.5, 0.5]


def test_header_and_lines_that_agree_do_not_warn(write_asc):
    text = """
    START|100 |LEFT|SAMPLES|EVENTS
    SAMPLES|GAZE|LEFT|HTARGET|RATE|1000.00|TRACKING|CR|FILTER|2
    100|  1.0|  2.0|  3.0|.... |  7.0|  8.0|  575.3 .............
    END|102 |SAMPLES|EVENTS
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_asc(write_asc(text))
    assert rec.samples[["target_x", "target_y", "target_distance"]].values.tolist() == [
        [7.0, 8.0, 575.3]
    ]
