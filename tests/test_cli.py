"""The ``selectivity`` command: help texts and error reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

from selectivity.cli import main


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["run", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: selectivity")
    if argv[0] == "run":
        assert "--resume" in out and "free-viewing" in out


def test_unknown_task_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "free-veiwing", "--config", "x.toml", "--participant", "01"])
    assert info.value.code == 2
    assert "invalid choice: 'free-veiwing'" in capsys.readouterr().err


def test_config_errors_are_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[task]\nname = "free-viewing"\n[display]\nrefresh = 60\n')
    code = main(["run", "free-viewing", "--config", str(config), "--participant", "01"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{config}: [display]: unknown key 'refresh'" in err


def test_missing_stimulus_set_is_named(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fv.toml"
    config.write_text(
        f'lab = "{repo_root / "configs" / "lab_simulated.toml"}"\n'
        '[task]\nname = "free-viewing"\nstimulus_set = "missing.h5"\n'
    )
    code = main(
        [
            "run",
            "free-viewing",
            "--config",
            str(config),
            "--participant",
            "01",
            "--data",
            str(tmp_path / "data"),
        ]
    )
    assert code == 2
    assert "missing.h5" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # nothing was created for a session that never ran
