"""``selectivity analyze ais``: configuration errors and a whole run on a tiny stimulus set."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from selectivity.cli.analyze import register


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> object:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="selectivity")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _run(["analyze", "ais", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: selectivity analyze ais" in out and "configs/ais.toml" in out


def test_main_dispatches_analyze(capsys: pytest.CaptureFixture[str]) -> None:
    from selectivity import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "analyze" in commands.choices
    with pytest.raises(SystemExit) as info:
        cli.main(["analyze", "ais", "--help"])
    assert info.value.code == 0 and "alignment importance" in capsys.readouterr().out.lower()


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ais.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "match"),
    [
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\nmodle = "vgg16"\n',
            r"\[ais\]: unknown key 'modle'",
            id="unknown-key",
        ),
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\nmethod = "fast"\n',
            r"\[ais\] method: invalid value. Allowed values are \['auto'",
            id="choice",
        ),
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\n',
            r"ais\.toml: \[ais\]: missing key 'similarity'",
            id="required",
        ),
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\ninput_size = "224"\n',
            r"\[ais\] input_size: expected an integer",
            id="type",
        ),
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\n[pruning]\nseeds = []\n',
            r"\[pruning\] seeds: expected a non-empty list",
            id="seeds",
        ),
        pytest.param('[model]\nname = "x"\n', r"unknown section \[model\]", id="section"),
        pytest.param("[ais\n", "not valid TOML", id="toml"),
        pytest.param(
            '[ais]\nstimulus_set = "s.h5"\nsimilarity = "r.tsv"\n',
            r"No stimulus-set file at .*s\.h5",
            id="no-stimulus-set",
        ),
    ],
)
def test_config_errors(
    tmp_path: Path, body: str, match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, body)
    assert _run(["analyze", "ais", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selectivity: error: ")
    assert re.search(match, err), err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["analyze", "ais", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: configuration file not found" in capsys.readouterr().err


IDS = ["a1", "b2", "c3", "d4", "e5", "f6"]


@pytest.fixture()
def study(tmp_path: Path) -> dict:
    """A six-image stimulus set, long-format ratings and saved random ResNet-18 weights."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from stimuli.stimulus_set import write_stimulus_set

    rng = np.random.default_rng(0)
    images = {sid: rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for sid in IDS}
    set_path = write_stimulus_set(tmp_path / "stimuli.h5", images)
    latent = rng.normal(size=(len(IDS), 2))
    rows = ["participant\timage_a\timage_b\trating"]
    for i in range(len(IDS)):
        for j in range(i + 1, len(IDS)):
            rating = 7 - np.linalg.norm(latent[i] - latent[j])
            rows.append(f"01\t{IDS[j]}\t{IDS[i]}\t{rating:.6f}")
    (tmp_path / "ratings.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    weights = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    body = (
        '[ais]\nstimulus_set = "stimuli.h5"\nsimilarity = "ratings.tsv"\nmodel = "resnet18"\n'
        f'weights = "{weights.name}"\ninput_size = 64\n'
        "[pruning]\nn_folds = 2\nseeds = [1, 2]\n"
        '[output]\nfolder = "out"\nreport_images = 2\n'
    )
    return {
        "config": _config(tmp_path, body),
        "set": set_path,
        "images": images,
        "weights": weights,
        "out": tmp_path / "out",
    }


def test_whole_run(study: dict, capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.ais import alignment_importance
    from analysis.similarity import read_similarity
    from stimuli.models import load_model
    from stimuli.stimulus_set import read_stimulus_set

    assert _run(["analyze", "ais", str(study["config"])]) == 0
    out = study["out"]
    assert f"Report: {(out / 'report' / 'index.html').resolve()}" in capsys.readouterr().out
    for name in ("scores_set", "scores_image", "pruning_table", "pruning_folds", "pruning_summary"):
        assert (out / f"{name}.tsv").is_file(), name
    scores = pd.read_csv(out / "scores_set.tsv", sep="\t")
    assert len(scores) == 512 and list(scores.columns) == ["map", "ais", "ablated_fit", "rank"]
    assert len(pd.read_csv(out / "pruning_table.tsv", sep="\t")) == 4 * 512
    assert sorted(p.name for p in (out / "heatmaps").iterdir()) == [f"{i}.png" for i in IDS]
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert page.count("figures/chart") == 2 and "randomly initialised" not in page

    # The scores are those of the Python API on the same inputs.
    loaded = load_model("resnet18", weights=study["weights"], input_size=64)
    similarity = read_similarity(study["config"].parent / "ratings.tsv")
    result = alignment_importance(loaded, [study["images"][i] for i in IDS], similarity)
    np.testing.assert_allclose(scores["ais"], result.set_scores, rtol=1e-6, atol=1e-12)

    stimulus_set = read_stimulus_set(study["set"])
    assert "ais/resnet18" in stimulus_set.map_sources
    provenance = stimulus_set.provenance("ais/resnet18")
    assert provenance["method"] == "ais" and provenance["parameters"]["layer"] == "layer4"
    assert provenance["weights_sha256"] == loaded.provenance["weights_sha256"]
    # Heatmaps are upsampled to each image's size (40 x 48), not the 64 px network input.
    assert stimulus_set.map("ais/resnet18", "a1").shape == (40, 48)
    from matplotlib.image import imread

    assert imread(out / "heatmaps" / "a1.png").shape[:2] == (40, 48)

    # A second run refuses to replace the maps unless told to.
    assert _run(["analyze", "ais", str(study["config"]), "--out", str(out / "again")]) == 2
    assert "already has maps from source 'ais/resnet18'" in capsys.readouterr().err


def test_ratings_of_images_outside_the_set(study: dict, capsys: pytest.CaptureFixture[str]) -> None:
    ratings = study["config"].parent / "ratings.tsv"
    ratings.write_text(ratings.read_text(encoding="utf-8") + "01\ta1\tzz9\t3\n", encoding="utf-8")
    assert _run(["analyze", "ais", str(study["config"]), "--device", "cpu"]) == 2
    assert "not in" in capsys.readouterr().err


@pytest.mark.parametrize("step", ["study", "maps", "compare", "recognition", "reverse", "report"])
def test_study_steps_have_help(step: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _run(["analyze", step, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: selectivity analyze {step}" in out and "configs/study.toml" in out
    assert "--data" in out and "--stimulus-set" in out and "--out" in out


def test_study_step_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "study.toml"
    config.write_text('[data]\nroot = "nowhere"\n', encoding="utf-8")
    assert _run(["analyze", "maps", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"selectivity: error: No data root at {tmp_path / 'nowhere'}."]
    config.write_text("[data]\nroots = 1\n", encoding="utf-8")
    assert _run(["analyze", "compare", str(config)]) == 2
    assert "roots" in capsys.readouterr().err


def test_recognition_without_its_sessions_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    folder = tmp_path / "data" / "sub-01" / "ses-1" / "free-viewing"
    folder.mkdir(parents=True)
    (folder / "trials.tsv").write_text("trial_id\tpractice\n1\t0\n", encoding="utf-8")
    info = {"task": "free-viewing", "status": "completed", "screen": {"px_per_deg": 30.0}}
    (folder / "session.json").write_text(json.dumps(info), encoding="utf-8")
    config = tmp_path / "study.toml"
    config.write_text('[data]\nroot = "data"\n', encoding="utf-8")
    assert _run(["analyze", "recognition", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"No masked-recognition session under {tmp_path / 'data'}" in err
