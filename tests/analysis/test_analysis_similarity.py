"""Tests of analysis.similarity: matrix files, long rating tables and sessions to one matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.similarity import SimilarityMatrix, read_similarity, write_similarity

IDS = ["img1", "img2", "img3"]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _matrix_file(tmp_path: Path, name: str = "sim.tsv", sep: str = "\t") -> Path:
    rows = [
        ["id", "img1", "img2", "img3"],
        ["img1", "", "0.8", "0.1"],
        ["img2", "0.8", "", "0.4"],
        ["img3", "0.1", "0.4", ""],
    ]
    return _write(tmp_path / name, [sep.join(row) for row in rows])


@pytest.mark.parametrize(("name", "sep"), [("sim.tsv", "\t"), ("sim.csv", ","), ("s.txt", "\t")])
def test_matrix_file(tmp_path: Path, name: str, sep: str) -> None:
    matrix = read_similarity(_matrix_file(tmp_path, name, sep))
    assert matrix.ids == tuple(IDS)
    expected = np.array([[np.nan, 0.8, 0.1], [0.8, np.nan, 0.4], [0.1, 0.4, np.nan]])
    np.testing.assert_array_equal(matrix.values, expected)
    assert matrix.complete and matrix.mask.sum() == 6
    np.testing.assert_array_equal(matrix.counts, np.isfinite(expected).astype(int))


def test_matrix_columns_in_another_order_and_triangular(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tri.tsv",
        ["\timg3\timg1\timg2", "img1\t\t\t", "img2\t\t0.8\t", "img3\t\t0.1\t0.4"],
    )
    matrix = read_similarity(path)
    assert matrix.ids == tuple(IDS)
    assert matrix.values[0, 1] == matrix.values[1, 0] == 0.8
    assert matrix.values[2, 1] == matrix.values[1, 2] == 0.4
    assert matrix.values[0, 2] == 0.1


def test_asymmetric_matrix_error_or_average(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "asym.tsv",
        ["id\ta\tb\tc", "a\t\t0.8\t0.1", "b\t0.6\t\t0.4", "c\t0.1\t0.4\t"],
    )
    with pytest.raises(ValueError, match=r"not symmetric: \(a, b\) = 0.8 but \(b, a\) = 0.6"):
        read_similarity(path)
    matrix = read_similarity(path, asymmetric="average")
    assert matrix.values[0, 1] == matrix.values[1, 0] == pytest.approx(0.7)


def _long_file(tmp_path: Path, name: str = "ratings.tsv") -> Path:
    return _write(
        tmp_path / name,
        [
            "participant\ttrial_id\timage_a\timage_b\trating\tresponse_time_s",
            "01\t1\timg1\timg2\t6\t1.2",
            "01\t2\timg2\timg1\t4\t0.9",  # the same pair in the other order: pooled
            "01\t3\timg1\timg3\t1\t1.0",
            "02\t1\timg3\timg2\t3\t1.1",
            "02\t2\timg3\timg1\t2\t1.4",
        ],
    )


def test_long_table_pools_both_orders(tmp_path: Path) -> None:
    matrix = read_similarity(_long_file(tmp_path))
    assert matrix.ids == tuple(IDS)
    assert matrix.values[0, 1] == matrix.values[1, 0] == 5.0
    assert matrix.values[0, 2] == 1.5 and matrix.values[1, 2] == 3.0
    assert matrix.counts[0, 1] == 2 and matrix.counts[1, 2] == 1
    assert np.isnan(np.diag(matrix.values)).all() and (np.diag(matrix.counts) == 0).all()


def test_session_folders_are_pooled(tmp_path: Path) -> None:
    header = "trial_id\timage_a\timage_b\trating"
    first = tmp_path / "sub-01" / "ses-1" / "similarity-rating"
    second = tmp_path / "sub-02" / "ses-1" / "similarity-rating"
    for folder, lines in (
        (first, ["1\timg1\timg2\t6", "2\timg1\timg3\t2", "3\timg2\timg3\t"]),
        (second, ["1\timg2\timg1\t2", "2\timg3\timg2\t5"]),
    ):
        folder.mkdir(parents=True)
        _write(folder / "trials.tsv", [header, *lines])
    with pytest.warns(UserWarning, match="1 rows have no rating"):
        matrix = read_similarity([first, second])
    assert matrix.values[0, 1] == 4.0 and matrix.counts[0, 1] == 2
    assert matrix.values[1, 2] == 5.0 and matrix.counts[1, 2] == 1
    assert str(first / "trials.tsv") in matrix.source


def test_self_pairs_are_dropped_with_a_warning(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "self.tsv",
        ["image_a\timage_b\trating", "a\tb\t1", "a\ta\t7", "b\tc\t2", "a\tc\t3"],
    )
    with pytest.warns(UserWarning, match="1 rows rate an image against itself"):
        matrix = read_similarity(path)
    assert np.isnan(matrix.values[0, 0])


def test_missing_pairs_error_or_mask(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "gaps.tsv",
        ["image_a\timage_b\trating", "a\tb\t1", "b\tc\t2", "c\td\t3", "a\td\t4"],
    )
    with pytest.raises(ValueError, match=r"2 of 6 image pairs have no rating .* \(a, c\)"):
        read_similarity(path)
    matrix = read_similarity(path, missing="mask")
    assert not matrix.complete
    assert not matrix.mask[0, 2] and not matrix.mask[2, 0] and matrix.mask[0, 1]
    assert np.isnan(matrix.values[1, 3])


def test_ids_order_subset_and_unrated_images(tmp_path: Path) -> None:
    path = _long_file(tmp_path)
    with pytest.warns(UserWarning, match=r"1 images not in 'ids' are dropped: \['img2'\]"):
        matrix = read_similarity(path, ids=["img3", "img1", "new"], missing="mask")
    assert matrix.ids == ("img3", "img1", "new")
    assert matrix.values[0, 1] == 1.5
    assert not matrix.mask[2].any()
    with pytest.raises(ValueError, match=r"\(img3, new\)"):
        read_similarity(path, ids=["img3", "img1", "img2", "new"])


def test_dissimilarity_is_negated(tmp_path: Path) -> None:
    plain = read_similarity(_matrix_file(tmp_path))
    negated = read_similarity(_matrix_file(tmp_path), dissimilarity=True)
    np.testing.assert_array_equal(negated.values, -plain.values)


@pytest.mark.parametrize("name", ["round.tsv", "round.csv"])
def test_write_read_round_trip(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 4))
    values = (values + values.T) / 3
    values[0, 3] = values[3, 0] = np.nan
    np.fill_diagonal(values, np.nan)
    ids = ("a b", "x,y", "c", "d")
    original = SimilarityMatrix(ids, values, np.isfinite(values).astype(np.int64), "mem")
    back = read_similarity(write_similarity(tmp_path / name, original), missing="mask")
    assert back.ids == ids
    np.testing.assert_array_equal(back.values, values)


def test_reorder(tmp_path: Path) -> None:
    matrix = read_similarity(_matrix_file(tmp_path))
    again = matrix.reorder(["img2", "img3", "img1"])
    assert again.values[0, 2] == 0.8 and again.values[1, 2] == 0.1
    with pytest.raises(KeyError, match="no image \\['img9'\\]"):
        matrix.reorder(["img9"])


@pytest.mark.parametrize(
    ("lines", "kwargs", "error", "match"),
    [
        pytest.param(
            ["id\ta\tb\tc", "a\t\tx\t1", "b\t1\t\t2", "c\t1\t2\t"],
            {},
            ValueError,
            "the rating in data row 1, column 3 is 'x', not a finite number",
            id="text",
        ),
        pytest.param(
            ["id\ta\tb\tc", "a\t\t1\t1", "b\t1\t\t2", "d\t1\t2\t"],
            {},
            ValueError,
            r"only in rows \['d'\], only in columns \['c'\]",
            id="ids-differ",
        ),
        pytest.param(
            ["id\ta\ta\tc", "a\t\t1\t1", "a\t1\t\t2", "c\t1\t2\t"],
            {},
            ValueError,
            "line 1: the column 'a' is named more than once",  # read_table refuses it
            id="duplicate",
        ),
        pytest.param(
            ["image_a\timage_b\tscore", "a\tb\t1"],
            {"layout": "long"},
            ValueError,
            r"\['rating'\] are missing",
            id="no-rating-column",
        ),
        pytest.param(
            ["image_a\timage_b\trating", "a\tb\tsix"],
            {},
            ValueError,
            "the rating in data row 1 is 'six'",
            id="rating-text",
        ),
        pytest.param(
            ["image_a\timage_b\trating", "a\tb\t1", "b\tc\tinf"],
            {},
            ValueError,
            "data row 2 is 'inf', not a finite number",
            id="rating-inf",
        ),
        pytest.param(
            ["image_a\timage_b\trating", "a\t\t1"],
            {},
            ValueError,
            "data row 1 has an empty image id",
            id="empty-id",
        ),
        pytest.param(
            ["image_a\timage_b\trating", "a\tb\t1"],
            {},
            ValueError,
            "cover 2 images; need 3",
            id="two-images",
        ),
        pytest.param(
            ["id\ta"],
            {"layout": "wide"},
            ValueError,
            "'layout' parameter. Allowed values are 'auto', 'matrix', 'long'",
            id="layout",
        ),
        pytest.param(
            ["id\ta"], {"missing": "drop"}, ValueError, "'missing' parameter", id="missing"
        ),
    ],
)
def test_errors(tmp_path: Path, lines: list[str], kwargs: dict, error: type, match: str) -> None:
    path = _write(tmp_path / "bad.tsv", lines)
    with pytest.raises(error, match=match):
        read_similarity(path, **kwargs)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"No similarity-rating file at .*nope\.tsv"):
        read_similarity(tmp_path / "nope.tsv")
    with pytest.raises(FileNotFoundError, match=r"trials\.tsv"):
        read_similarity(tmp_path)
