"""analysis.ais.run_ais: the AIS study pipeline as a function; its warnings reach the caller."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ais import AISRun, run_ais
from analysis.ais.config import load_ais_config

IDS = ["a1", "b2", "c3", "d4", "e5", "f6"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> object:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def config_path(tmp_path: Path) -> Path:
    """Six images (the set lists them in another order than the ratings), a ResNet-18 file."""
    import torch
    import torchvision

    from stimuli.stimulus_set import write_stimulus_set

    rng = np.random.default_rng(0)
    images = {sid: rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for sid in IDS[::-1]}
    write_stimulus_set(tmp_path / "stimuli.h5", images)
    latent = rng.normal(size=(len(IDS), 2))
    rows = ["participant\timage_a\timage_b\trating"]
    for i in range(len(IDS)):
        for j in range(i + 1, len(IDS)):
            rows.append(f"01\t{IDS[i]}\t{IDS[j]}\t{7 - np.linalg.norm(latent[i] - latent[j]):.6f}")
    rows.append("01\ta1\tb2\t")  # no response: dropped, with a warning
    (tmp_path / "ratings.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pth")
    path = tmp_path / "ais.toml"
    path.write_text(
        '[ais]\nstimulus_set = "stimuli.h5"\nsimilarity = "ratings.tsv"\nmodel = "resnet18"\n'
        'weights = "resnet18.pth"\ninput_size = 64\n[pruning]\nenabled = false\n'
        '[output]\nfolder = "out"\nreport_images = 2\n',
        encoding="utf-8",
    )
    return path


def test_run_ais_returns_what_it_wrote(config_path: Path) -> None:
    config = load_ais_config(config_path)
    lines: list[str] = []
    with pytest.warns(UserWarning, match="1 rows have no rating"):
        run = run_ais(config, progress=lines.append)
    assert isinstance(run, AISRun) and run.pruned is None
    assert run.ids == tuple(IDS[::-1])  # the stimulus set's order
    assert run.similarity.ids == run.ids and run.similarity.counts[0, 1] == 1
    assert run.report == config.folder / "report" / "index.html" and run.report.is_file()
    written = pd.read_csv(run.paths["scores_set"], sep="\t")
    pd.testing.assert_frame_equal(written, run.tables["scores_set"], check_dtype=False)
    assert [h.shape for h in run.heatmaps] == [(40, 48)] * len(IDS)
    assert run.map_source == "ais/resnet18"
    assert any(line.startswith("reading the ratings") for line in lines)


def test_a_nan_heatmap_warns(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-image scores summing to zero leave a heatmap undefined: the caller hears of it."""
    from analysis.ais import _overlap

    original = _overlap.ais_heatmaps

    def zero_first(result, **options):  # type: ignore[no-untyped-def]
        scores = result.image_scores.copy()
        scores[0] = 0.0
        return original(dataclasses.replace(result, image_scores=scores), **options)

    monkeypatch.setattr(_overlap, "ais_heatmaps", zero_first)
    with pytest.warns(UserWarning) as caught:
        run = run_ais(load_ais_config(config_path))
    assert any("Their heatmaps are NaN" in str(w.message) for w in caught)
    assert np.isnan(run.heatmaps[0]).all() and np.isfinite(run.heatmaps[1]).all()
    assert f"heatmap:{run.ids[0]}" not in run.paths
    assert any(f"No heatmap for ['{run.ids[0]}']" in note for note in run.notes)


def test_the_command_passes_the_warnings_on(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from selectivity.cli.analyze import register

    parser = argparse.ArgumentParser(prog="selectivity")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyze", "ais", str(config_path)])
    assert args.handler(args) == 0
    err = capsys.readouterr().err
    assert (
        f"selectivity: warning: {config_path.parent / 'ratings.tsv'}: 1 rows have no rating" in err
    )
