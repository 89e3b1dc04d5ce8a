"""``selectivity export bids``: its help text and its errors as one line (exit status 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from selectivity.cli import main


def test_export_bids_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", "bids", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: selectivity export bids")
    for text in ("DATA_ROOT", "OUT", "--overwrite", "--validate", "physioevents", "freeviewing"):
        assert text in out, text


def test_export_bids_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data root without sessions is a user error: one line naming it, status 2, and
    no output folder left behind."""
    (tmp_path / "data").mkdir()
    code = main(["export", "bids", str(tmp_path / "data"), str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("selectivity: error: No session folders in ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
