"""User errors reach the user as one line (exit status 2); a bug keeps its traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selectivity.cli import main

_REPO = Path(__file__).resolve().parents[1]


def _command(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(_REPO)}
    return subprocess.run(
        [sys.executable, "-m", "selectivity", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def _ais_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "ais.toml"
    path.write_text(f'[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\n{extra}', "utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["run", "free-viewing", "--config", "{dir}/fv.toml", "--participant", "01"],
            "{dir}/fv.toml: [display]: unknown key 'refresh'",
            id="task-config",
        ),
        pytest.param(
            ["analyze", "ais", "{dir}/ais.toml"],
            "{dir}/ais.toml: [ais]: unknown key 'modle'",
            id="ais-config",
        ),
    ],
)
def test_a_wrong_key_is_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    (tmp_path / "fv.toml").write_text('[task]\nname = "free-viewing"\n[display]\nrefresh = 60\n')
    _ais_config(tmp_path, 'modle = "vgg16"\n')
    done = _command(*(a.format(dir=tmp_path) for a in argv), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("selectivity: error: ")
    assert message.format(dir=tmp_path) in lines[0]
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_a_stimulus_set_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.h5").write_text("not HDF5")
    assert main(["analyze", "ais", str(_ais_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"selectivity: error: {tmp_path / 's.h5'} is not an HDF5 file, so not a stimulus-set "
        "file.\n"
    )


def _bug(*args: object, **kwargs: object) -> None:
    raise KeyError("an injected bug")


def test_a_bug_in_the_ais_pipeline_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.ais

    monkeypatch.setattr(analysis.ais, "run_ais", _bug)
    with pytest.raises(KeyError, match="an injected bug"):
        main(["analyze", "ais", str(_ais_config(tmp_path))])


def test_a_bug_in_a_task_keeps_its_traceback(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks

    monkeypatch.setattr(tasks, "run_task", _bug)
    config = repo_root / "configs" / "free_viewing_simulated.toml"
    with pytest.raises(KeyError, match="an injected bug"):
        main(["run", "free-viewing", "--config", str(config), "--participant", "01"])


def test_a_bug_in_the_stimulus_build_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stimuli.build

    def value_bug(*args: object, **kwargs: object) -> None:
        raise ValueError("an injected bug")

    monkeypatch.setattr(stimuli.build, "build_stimulus_set", value_bug)
    argv = ["stimuli", "maps", str(tmp_path), "--model", "resnet18", "--out", "s.h5"]
    with pytest.raises(ValueError, match="an injected bug"):
        main([*argv, "--method", "gradient"])


def test_demo_refuses_a_missing_weights_file(tmp_path: Path) -> None:
    done = _command(
        "demo", "--out", "out", "--weights", "no-such-weights.pth", "--images", "1", cwd=tmp_path
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("selectivity: error: "), done.stderr
    assert "no-such-weights.pth" in lines[0]
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--method", "gradcam", "--layer", "no.such.layer"],
            "[methods][0] layer: the model 'resnet18' has no module 'no.such.layer'",
            id="layer",
        ),
        pytest.param(
            ["--method", "gradient"],
            "No images in empty: expected files ending in",
            id="no-images",
        ),
    ],
)
def test_a_wrong_build_input_is_one_error_line(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    pytest.importorskip("torchvision")
    images = tmp_path / ("empty" if "gradient" in argv else "images")
    images.mkdir()
    if "gradcam" in argv:
        import cv2
        import numpy as np

        cv2.imwrite(str(images / "a.png"), np.zeros((20, 24, 3), np.uint8))
    done = _command(
        "stimuli", "maps", images.name, "--model", "resnet18", "--weights", "none",
        "--out", "s.h5", *argv, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("selectivity: error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.h5").exists()
