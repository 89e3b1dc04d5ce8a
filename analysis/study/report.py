"""The study report: one self-contained HTML file from the tables of the study analysis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import StudyConfig

if TYPE_CHECKING:
    import pandas as pd

    from ._run import StudyRun

__all__ = ["write_study_report"]

#: Tables of the output folder the report reads, by file stem.
_TABLES = (
    "sessions",
    "exclusions",
    "maps",
    "shared",
    "comparison",
    "ceilings",
    "variance_share",
    "recognition",
    "recognition_effects",
    "recognition_model",
    "reverse_summary",
)
_SESSION_COLUMNS = [
    "participant",
    "session",
    "task",
    "status",
    "n_trials",
    "validation_error_deg",
    "samples_lost",
    "dropped_frame_trials",
    "catch_rating",
    "n_flagged",
    "excluded",
    "reasons",
]


def _read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    from selectivity.tsv import read_table

    tables = {}
    for name in _TABLES:
        path = folder / f"{name}.tsv"
        if path.is_file() and path.stat().st_size:
            try:
                tables[name] = read_table(path)
            except ValueError:  # an empty table (header only, or nothing)
                continue
    return tables


def _bar_chart(table: pd.DataFrame, label: str, title: str, *, ceiling: str | None = None) -> Any:
    """Horizontal bars of ``mean`` with their ``ci_low``-``ci_high`` interval (and a ceiling)."""
    from ..report import Chart

    rows = table.reset_index(drop=True)
    reference = None
    if ceiling is not None and ceiling in rows and rows[ceiling].notna().any():
        reference = rows[ceiling].to_numpy(dtype=float)
    return Chart.bars(
        title,
        [str(v) for v in rows[label]],
        rows["mean"].to_numpy(dtype=float),
        ci_low=rows["ci_low"].to_numpy(dtype=float),
        ci_high=rows["ci_high"].to_numpy(dtype=float),
        reference=reference,
        reference_label="noise ceiling",
        value_label="mean (95% bootstrap interval)",
        horizontal=True,
        size_inches=(6.0, max(2.0, 0.3 * len(rows) + 1.0)),
    )


def _image_rows(stimuli: Any, ids: list[str], measures: list[str]) -> list[Any]:
    from ..report import Panel, ReportRow

    rows = []
    for image_id in ids:
        image = stimuli.image(image_id, verify=False)
        panels = [Panel("image", image, kind="image")]
        for source in measures:
            if image_id in stimuli.map_ids(source):
                panels.append(
                    Panel(source, stimuli.map(source, image_id), kind="heatmap", overlay=image)
                )
        rows.append(ReportRow(image_id, panels))
    return rows


def _recovery(stimuli: Any, measures: list[str]) -> pd.DataFrame | None:
    """CC of each human map with the planted map, per measure (simulated studies)."""
    import pandas as pd

    from selectivity.resample import resample

    from ..metrics import cc

    truth = "simulation/truth"
    if truth not in stimuli.map_sources:
        return None
    rows = []
    for source in measures:
        values = []
        for image_id in stimuli.map_ids(source):
            if image_id in stimuli.map_ids(truth):
                human = stimuli.map(source, image_id)
                planted = resample(stimuli.map(truth, image_id), human.shape)
                values.append(float(cc(human, planted)))
        if values:
            rows.append(
                {
                    "measure": source,
                    "n_images": len(values),
                    "cc_with_planted": float(np.mean(values)),
                    "min": float(np.min(values)),
                }
            )
    return pd.DataFrame(rows)


def write_study_report(
    config: StudyConfig,
    *,
    run: StudyRun | None = None,
    ais: Any = None,
    max_images: int = 12,
) -> Path:
    """Write the study report, ``<output folder>/report/index.html``, one self-contained file.

    Sections: the data (sessions, their quality, exclusions with counts); the human maps
    and their shared component image by image (and, for a simulated study, the
    recovery of the planted map); the ranking of the ANN maps against each human map
    with noise ceilings; the variance share by method, architecture and training set;
    masked recognition (accuracy and d' with intervals, the mixed model); the reverse
    test; AIS (when it ran); software versions. A section whose tables do not exist
    says which step makes them.

    Parameters
    ----------
    config : StudyConfig
        The study configuration (output folder, stimulus set).
    run : StudyRun, optional
        A run of :func:`analysis.study.run_study`; by default the tables are read from
        the output folder.
    ais : AISRun, optional
        The AIS run, for its summary.
    max_images : int
        Images shown with their maps (the first ones of the stimulus set).

    Returns
    -------
    Path
        The report's ``index.html``.
    """
    import pandas as pd

    from stimuli import read_stimulus_set

    from ..report import ReportTable, Section, write_report
    from ._run import HUMAN_PREFIX, SHARED_SOURCE, StudyAnalysisError

    folder = config.folder
    tables = dict(run.tables) if run is not None else _read_tables(folder)
    set_path = run.study.stimulus_set if run is not None else config.data.stimulus_set
    if set_path is None and "sessions" in tables:
        set_path = _set_from_sessions(tables["sessions"])
    if set_path is None:
        raise StudyAnalysisError(
            "The report needs the stimulus set: give [data] stimulus_set (or run the maps step)."
        )
    stimuli = read_stimulus_set(set_path)
    measures = [s for s in stimuli.map_sources if s.startswith(HUMAN_PREFIX)]
    measures.sort(key=lambda s: (s == SHARED_SOURCE, s))
    sections = []
    alerts = _warnings(stimuli, tables)

    missing = "not computed: run `selectivity analyze {}` (or `analyze study`)"
    data = Section("Data and exclusions")
    if "sessions" in tables:
        sessions = tables["sessions"]
        kept = sessions[~sessions["excluded"].astype(bool)]
        data = Section(
            "Data and exclusions",
            paragraphs=[
                f"{len(sessions)} sessions of {sessions['participant'].nunique()} participants "
                f"under {config.data.root}; {len(kept)} kept. Validation error: mean of the last "
                "accepted validation (worse eye, degrees); samples lost: share of samples "
                "without a position or missing from the file; dropped-frame trials: share of "
                "trials with at least one dropped frame (frames.tsv)."
            ],
            tables=[
                ("Sessions and their data quality", sessions[_present(sessions, _SESSION_COLUMNS)]),
                (
                    "Exclusions (sessions, trials and fixations removed, by rule)",
                    tables.get("exclusions", pd.DataFrame()),
                ),
            ],
        )
    else:
        data = Section("Data and exclusions", paragraphs=[missing.format("maps")])
    sections.append(data)

    ids = list(stimuli.ids)[:max_images]
    map_section_tables = []
    recovery = _recovery(stimuli, measures)
    if recovery is not None and len(recovery):
        map_section_tables.append(
            (
                "Planted-map recovery (simulated participants): CC of each human map with "
                "simulation/truth",
                recovery,
            )
        )
    if "shared" in tables:
        map_section_tables.append(
            ("Shared component: loadings of the human maps", tables["shared"])
        )
    if "maps" in tables:
        map_section_tables.append(
            (
                "What went into each map (n: fixations, trials, nodes or patches; excluded rows by "
                "reason; parameters, with the bandwidth chosen)",
                tables["maps"],
            )
        )
    sections.append(
        Section(
            "Human maps",
            paragraphs=[
                "Per image: the photograph and each task's map (human/<task>), then the "
                "component they share (human/shared, first principal component of the maps "
                "standardised with normalize='pooled')."
                if measures
                else missing.format("maps")
            ],
            tables=map_section_tables,
            rows=_image_rows(stimuli, ids, measures) if measures else [],
        )
    )

    if "comparison" in tables:
        comparison = tables["comparison"]
        charts = []
        for (measure, metric), group in comparison.groupby(["measure", "metric"], sort=True):
            charts.append(
                _bar_chart(
                    group.sort_values("mean", ascending=False),
                    "source",
                    f"ANN maps vs human/{measure} ({metric})",
                    ceiling="ceiling",
                )
            )
        comparison_tables: list[Any] = [
            ReportTable(
                "Ranking of the ANN maps", comparison, max_rows=60, full_table="comparison.tsv"
            )
        ]
        if "ceilings" in tables:
            ceilings = tables["ceilings"].groupby("measure")[["split_half_cc", "ceiling"]].mean()
            comparison_tables.append(
                (
                    "Split-half noise ceilings over participants (CC, Spearman-Brown corrected)",
                    ceilings.reset_index(),
                )
            )
        if "variance_share" in tables:
            comparison_tables.append(
                (
                    "Share of the agreement's variance (per image scores) explained by each factor "
                    "(Langlois et al. 2021: method 42.8 %, architecture 15.9 %, training set "
                    "1.0 %)",
                    tables["variance_share"],
                )
            )
        sections.append(
            Section(
                "ANN maps against human maps",
                paragraphs=[
                    "Each ANN map source against each human map: held-out mean over images "
                    "with the ANN maps' smoothing chosen on the other folds' images, 95% "
                    "bootstrap interval over images, permutation p-value (other images' "
                    "maps), the noise ceiling (split halves of the participants) and the "
                    "mean as a share of the ceiling."
                ],
                charts=charts,
                tables=comparison_tables,
            )
        )
    else:
        sections.append(
            Section("ANN maps against human maps", paragraphs=[missing.format("compare")])
        )

    if "recognition" in tables:
        recognition = tables["recognition"]
        label = recognition["mask_source"].astype(str) + np.where(
            recognition["correct_mask"].astype(int) == 1, " (correct mask)", " (incorrect mask)"
        )
        acc = recognition.assign(
            label=label,
            mean=recognition["accuracy"],
            ci_low=recognition["accuracy_ci_low"],
            ci_high=recognition["accuracy_ci_high"],
        )
        dp = recognition.assign(
            label=label,
            mean=recognition["dprime"],
            ci_low=recognition["dprime_ci_low"],
            ci_high=recognition["dprime_ci_high"],
        )
        rec_tables: list[tuple[str, Any]] = [("Accuracy and d' per condition", recognition)]
        if "recognition_effects" in tables:
            rec_tables.append(("Correct minus incorrect masks", tables["recognition_effects"]))
        if "recognition_model" in tables:
            rec_tables.append(
                (
                    "Mixed-effects logistic model (participant and image random intercepts; "
                    "variational Bayes posterior)",
                    tables["recognition_model"],
                )
            )
        sections.append(
            Section(
                "Masked recognition",
                paragraphs=[
                    "Recognition of images seen through masks made from each map source "
                    "(the image's own mask, or another image's): accuracy and m-alternative "
                    "d' (log-linear correction), 95% bootstrap intervals over participants; "
                    "trials whose target or mask frames differed from the plan excluded."
                ],
                charts=[
                    _bar_chart(acc, "label", "Accuracy"),
                    _bar_chart(dp, "label", "d' (m-alternative)"),
                ],
                tables=rec_tables,
            )
        )
    if "reverse_summary" in tables:
        reverse = tables["reverse_summary"]
        paragraphs = [
            f"{config.reverse.model or 'The network'} sees each image masked by each "
            "human map (kept above the map's median, the rest blended to black), with "
            "its own map (correct) or another image's (incorrect); the score is the "
            "inverse rank of the image's class."
        ]
        means = reverse[["mean_correct", "mean_incorrect"]].to_numpy(dtype=float)
        if len(means) and np.allclose(means, 1.0):
            paragraphs.append(
                "Every masked image kept the network's class at rank 0, with either mask: "
                "here the test cannot tell the masks apart (a randomly initialised network "
                "often gives one class for every input)."
            )
        sections.append(
            Section(
                "Reverse test: the network recognising images masked by human maps",
                paragraphs=paragraphs,
                tables=[("Mean score per human map", tables["reverse_summary"])],
            )
        )
    ais_table = ais.tables.get("scores_set") if ais is not None else None
    ais_path = folder / "ais" / "scores_set.tsv"
    if ais_table is None and ais_path.is_file():
        from selectivity.tsv import read_table

        ais_table = read_table(ais_path)
    if ais_table is not None:
        sections.append(
            Section(
                "Alignment importance (similarity ratings)",
                paragraphs=[
                    f"Alignment importance of {config.ais.model or 'the network'}'s feature maps "
                    "for its agreement with the similarity-rating sessions (Truong, Pesenti & "
                    "Hasson 2024); per-image heatmaps are in the stimulus set as ais/<model>, "
                    f"the full AIS report in {folder / 'ais' / 'report' / 'index.html'}."
                ],
                tables=[
                    ReportTable(
                        "Set-level scores", ais_table, max_rows=20, full_table="ais/scores_set.tsv"
                    )
                ],
            )
        )
    provenance = {
        "data root": str(config.data.root),
        "stimulus set": str(stimuli.path),
        "configuration": str(config.path),
        "output folder": str(folder),
    }
    return write_report(
        folder / "report",
        title="Study report: human selectivity and ANN maps",
        sections=sections,
        warnings=alerts,
        provenance=provenance,
        embed=True,
    )


def _present(table: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in table.columns]


def _set_from_sessions(sessions: pd.DataFrame) -> Path | None:
    import json

    for folder in sessions["folder"]:
        path = Path(str(folder)) / "session.json"
        if path.is_file():
            named = json.loads(path.read_text(encoding="utf-8")).get("stimulus_set")
            if named:
                return Path(named)
    return None


def _warnings(stimuli: Any, tables: dict[str, pd.DataFrame]) -> list[str]:
    alerts = []
    random = [
        s
        for s in stimuli.map_sources
        if not s.startswith(("human/", "simulation/", "target/"))
        and stimuli.provenance(s).get("weights") == "random"
    ]
    if random:
        alerts.append(
            "WARNING: the ANN maps of " + ", ".join(random) + " come from randomly "
            "initialised networks, not trained ones."
        )
    sessions = tables.get("sessions")
    if sessions is not None and sessions["simulated"].astype(bool).any():
        n = int(sessions["simulated"].astype(bool).sum())
        alerts.append(
            f"{n} of {len(sessions)} sessions were run by SIMULATED participants: "
            "these are not human data."
        )
    if sessions is not None and sessions["excluded"].astype(bool).any():
        n = int(sessions["excluded"].astype(bool).sum())
        alerts.append(f"{n} sessions were excluded (see Data and exclusions).")
    return alerts
