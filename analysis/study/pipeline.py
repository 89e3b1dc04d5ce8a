"""The study analysis as functions: maps, comparison, recognition, reverse test, AIS, report.

Each step reads what it needs (the sessions, the stimulus set, the tables of earlier steps)
and writes its tables into the output folder, so the command line can run one step at a
time (``selectivity analyze maps|compare|recognition|reverse|report``) or all of them
(``selectivity analyze study``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._load import Study, load_study
from ._run import HUMAN_PREFIX, SHARED_SOURCE, StudyAnalysisError, StudyRun, ann_sources
from .config import StudyConfig

if TYPE_CHECKING:
    import pandas as pd

    from ..human_maps import HumanMaps
    from ..shared import SharedComponent

__all__ = [
    "HUMAN_PREFIX",
    "SHARED_SOURCE",
    "StudyAnalysisError",
    "StudyRun",
    "ann_sources",
    "run_study",
    "study_comparison",
    "study_maps",
    "study_recognition",
    "study_reverse",
]

Log = Callable[[str], None]


def _say(log: Log | None, line: str) -> None:
    if log is not None:
        log(line)


def _write(folder: Path, name: str, table: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> None:
    from selectivity.tsv import write_table

    folder.mkdir(parents=True, exist_ok=True)
    write_table(table, folder / f"{name}.tsv")
    tables[name] = table


def read_study(config: StudyConfig, *, progress: bool | None = None) -> Study:
    """The sessions of ``config``'s data root, with its exclusion rules."""
    return load_study(
        config.data.root,
        stimulus_set=config.data.stimulus_set,
        rules=config.exclusions,
        progress=progress,
    )


def _set_path(study: Study) -> Path:
    if study.stimulus_set is None:
        raise StudyAnalysisError(
            f"The sessions under {study.root} name no stimulus set; give it as [data] stimulus_set."
        )
    return study.stimulus_set


def _estimate_all(
    study: Study, config: StudyConfig, participants: tuple[str, ...] | None = None
) -> dict[str, HumanMaps]:
    """Every task's human maps (tasks without an estimator, or without trials, left out)."""
    from ..human_maps import ESTIMATORS, HumanMapsError, estimate_human_maps

    out = {}
    for task in study.tasks:
        if task not in ESTIMATORS:
            continue
        trials = study.trials[task]
        if participants is not None:
            trials = trials[trials["participant"].isin(participants)]
            if not len(trials):
                continue
        fixations = study.fixations[study.fixations["task"] == task]
        if participants is not None:
            fixations = fixations[fixations["participant"].isin(participants)]
        try:
            out[task] = estimate_human_maps(
                task, trials, fixations, study.image_shapes, config.maps, participants=participants
            )
        except HumanMapsError as err:  # e.g. chains not yet past [maps] from_generation
            warnings.warn(f"No human map of {task}: {err}", stacklevel=3)
    return out


def _shared(maps: Mapping[str, HumanMaps], config: StudyConfig) -> SharedComponent | None:
    from ..shared import shared_component

    if len(maps) < config.shared.min_measures:
        return None
    common = set.intersection(*(set(m.maps) for m in maps.values()))
    ids = sorted(common)
    if not ids:
        return None
    return shared_component(
        {task: {i: m.maps[i] for i in ids} for task, m in maps.items()},
        size=config.shared.size,
        n_components=1,
        normalize=config.shared.normalize,
    )


def study_maps(
    config: StudyConfig, *, study: Study | None = None, log: Log | None = print
) -> StudyRun:
    """Estimate each task's human maps and their shared component; write them into the set.

    Writes ``human/<task>`` and ``human/shared`` into the stimulus set (replacing an
    earlier analysis's when ``[output] overwrite_maps``), and into the output folder
    ``sessions.tsv`` (data quality), ``exclusions.tsv``, ``maps.tsv`` (per task: images,
    participants, data points, rows left out by reason, the parameters with the bandwidth
    chosen) and ``shared.tsv`` (loadings, explained variance). Each map's provenance in the
    set names its participants, counts, parameters, the data root and the sessions the
    exclusion rules left out.
    """
    import pandas as pd

    from stimuli import add_maps

    study = study if study is not None else read_study(config)
    folder = config.folder
    tables: dict[str, pd.DataFrame] = {}
    _write(folder, "sessions", study.sessions, tables)
    _write(folder, "exclusions", study.exclusions, tables)
    set_path = _set_path(study)
    _say(log, f"maps: estimating {', '.join(study.tasks)}")
    maps = _estimate_all(study, config)
    if not maps:
        raise StudyAnalysisError(
            f"No session under {study.root} gives a human map (tasks found: "
            f"{list(study.tasks) or 'none'})."
        )
    rows = []
    for task, human in maps.items():
        excluded = study.sessions[(study.sessions["task"] == task) & study.sessions["excluded"]]
        provenance = {
            **human.provenance(),
            "data_root": str(study.root),
            "sessions_excluded": [
                {"participant": p, "session": s, "reasons": r}
                for p, s, r in zip(
                    excluded["participant"], excluded["session"], excluded["reasons"], strict=True
                )
            ],
        }
        add_maps(
            set_path,
            human.source,
            human.maps,
            provenance=provenance,
            overwrite=config.overwrite_maps,
        )
        scalars = {
            k: v
            for k, v in human.parameters.items()
            if isinstance(v, (str, int, float, bool)) and k != "settings"
        }
        rows.append(
            {
                "measure": task,
                "images": len(human.maps),
                "participants": len(human.participants),
                "n": int(sum(human.counts.values())),
                "excluded": _compact(dict(human.excluded)),
                "parameters": _compact(scalars),
            }
        )
        _say(log, f"maps: {human.source} ({len(human.maps)} images)")
    _write(folder, "maps", pd.DataFrame(rows), tables)
    shared = _shared(maps, config)
    if shared is not None:
        component = shared.component(0)
        shapes = study.image_shapes
        from selectivity.resample import resample

        add_maps(
            set_path,
            SHARED_SOURCE,
            {str(i): resample(m, shapes[str(i)]) for i, m in component.items()},
            provenance={
                "method": "first principal component of the human maps (analysis.shared_component)",
                "measures": list(shared.measures),
                "loadings": [float(v) for v in shared.loadings[:, 0]],
                "explained_variance_ratio": float(shared.explained_variance_ratio[0]),
                "normalize": shared.normalize,
                "size": list(shared.size),
            },
            overwrite=config.overwrite_maps,
        )
        _write(
            folder,
            "shared",
            pd.DataFrame(
                {
                    "measure": list(shared.measures),
                    "loading": shared.loadings[:, 0],
                    "explained_variance_ratio": float(shared.explained_variance_ratio[0]),
                }
            ),
            tables,
        )
        _say(
            log,
            f"maps: {SHARED_SOURCE} explains {shared.explained_variance_ratio[0]:.1%} of the "
            "pooled variance",
        )
    return StudyRun(folder=folder, study=study, maps=maps, shared=shared, tables=tables)


def _compact(parameters: Mapping[str, Any]) -> str:
    import json

    return json.dumps(parameters, sort_keys=True, default=str)


def _ceilings(
    study: Study,
    config: StudyConfig,
    maps: Mapping[str, HumanMaps],
    shared: SharedComponent | None,
) -> pd.DataFrame:
    """Split-half noise ceilings over participants, per measure and image (CC, Spearman-Brown).

    Each task's: :func:`analysis.human_maps.split_half_reliability` (the participants
    split at random into halves ``ceiling_splits`` times, each half's maps made with the
    whole group's bandwidth, the halves' CC per image averaged over splits, then
    ``2 r / (1 + r)``). The shared component's: the same splits of the participants of
    the study, each half's maps of every task projected on the loadings fitted on
    everyone, the two projections correlated (after resampling to the comparison size).
    """
    import pandas as pd

    from selectivity.resample import resample

    from ..ceilings import spearman_brown
    from ..human_maps import split_half_reliability
    from ..metrics import cc

    columns = ["measure", "image_id", "n_splits", "split_half_cc", "ceiling"]
    rows = []
    splits = config.comparison.ceiling_splits
    for task in maps:
        fixations = study.fixations[study.fixations["task"] == task]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the halves' empty images are not news
            reliability = split_half_reliability(
                task,
                study.trials[task],
                fixations,
                study.image_shapes,
                config.maps,
                n_splits=splits,
                rng=config.seed,
            )
        for image_id, raw, corrected in zip(
            reliability.image_ids,
            reliability.ceiling.per_image,
            reliability.ceiling.per_image_corrected
            if reliability.ceiling.per_image_corrected is not None
            else reliability.ceiling.per_image,
            strict=True,
        ):
            rows.append([task, str(image_id), splits, float(raw), float(corrected)])
    people = study.participants()
    if shared is not None and len(people) >= 2:
        rng = np.random.default_rng(config.seed)
        size = config.comparison.size
        values: dict[str, list[float]] = {}
        for _ in range(splits):
            order = rng.permutation(len(people))
            halves = (
                tuple(people[i] for i in order[: len(people) // 2]),
                tuple(people[i] for i in order[len(people) // 2 :]),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a, b = (_estimate_all(study, config, participants=h) for h in halves)
            if not all(t in a and t in b for t in shared.measures):
                continue
            ids = [str(i) for i in shared.image_ids]
            try:
                left, right = (
                    shared.project(
                        {t: {i: half[t].maps[i] for i in ids} for t in shared.measures}
                    ).component(0)
                    for half in (a, b)
                )
            except (KeyError, ValueError):  # a half without some image, or a constant map
                continue
            for image_id in ids:
                x, y = resample(left[image_id], size), resample(right[image_id], size)
                if np.ptp(x) > 0 and np.ptp(y) > 0:
                    values.setdefault(image_id, []).append(float(cc(x, y)))
        for image_id, rs in sorted(values.items()):
            r = float(np.mean(rs))
            rows.append(["shared", image_id, len(rs), r, float(spearman_brown(np.array([r]))[0])])
    return pd.DataFrame(rows, columns=columns)


def study_comparison(
    config: StudyConfig, *, run: StudyRun | None = None, log: Log | None = print
) -> StudyRun:
    """Every ANN map of the set against every human map and the shared component.

    Reads the human maps from the stimulus set (run :func:`study_maps` first, or pass
    its ``run``), compares them with :func:`analysis.compare_maps` (smoothing of the ANN
    maps chosen by cross-validation over images on ``[comparison] smoothing_sigmas_deg``,
    bootstrap intervals over images, permutation p-values), adds split-half noise
    ceilings over participants and the share of the agreement's variance explained by
    attribution method, architecture and training set. Writes ``comparison.tsv`` (one
    row per source x measure x metric, with ``ceiling`` and ``normalized`` = mean /
    ceiling), ``comparison_images.tsv``, ``ceilings.tsv`` and ``variance_share.tsv``.
    """
    import pandas as pd

    from stimuli import read_stimulus_set

    from ..comparison import ann_source_factors, compare_maps, variance_share

    if run is None:
        run = study_maps(config, log=log)
    study = run.study
    stimuli = read_stimulus_set(_set_path(study))
    sources = ann_sources(stimuli, config.comparison.sources)
    measures = [s for s in stimuli.map_sources if s.startswith(HUMAN_PREFIX)]
    if not sources or not measures:
        raise StudyAnalysisError(
            f"{stimuli.path} has {len(sources)} ANN map sources and {len(measures)} human maps "
            "(human/*): the comparison needs both (run `selectivity analyze maps` first)."
        )
    ids = [i for i in stimuli.ids if all(i in stimuli.map_ids(m) for m in measures + sources)]
    size = config.comparison.size
    px_per_deg = _comparison_px_per_deg(study, ids)  # of the maps as stored: native pixels
    _say(
        log, f"compare: {len(sources)} ANN sources x {len(measures)} human maps, {len(ids)} images"
    )
    comparison = compare_maps(
        {s: {i: stimuli.map(s, i) for i in ids} for s in sources},
        {m.removeprefix(HUMAN_PREFIX): {i: stimuli.map(m, i) for i in ids} for m in measures},
        metrics=config.comparison.metrics,
        smoothing_sigmas_deg=config.comparison.smoothing_sigmas_deg,
        px_per_deg=px_per_deg,
        cv_folds=min(config.comparison.cv_folds, len(ids)),
        n_bootstrap=config.comparison.n_bootstrap,
        n_permutations=config.comparison.n_permutations,
        size=size,
        rng=config.seed,
    )
    tables = dict(run.tables)
    ceilings = _ceilings(study, config, run.maps, run.shared)
    _write(config.folder, "ceilings", ceilings, tables)
    ceiling = ceilings.groupby("measure")["ceiling"].mean()
    summary = comparison.summary.copy()
    summary["ceiling"] = summary["measure"].map(ceiling).where(summary["metric"] == "cc")
    summary["normalized"] = summary["mean"] / summary["ceiling"]
    summary = summary.sort_values(["measure", "metric", "mean"], ascending=[True, True, False])
    _write(config.folder, "comparison", summary.reset_index(drop=True), tables)
    _write(config.folder, "comparison_images", comparison.scores, tables)
    factors = ann_source_factors({s: stimuli.provenance(s) for s in sources})
    scores = comparison.scores.merge(factors, on="source", how="left")
    shares: list[pd.DataFrame] = []
    said: set[str] = set()
    for (measure, metric), group in scores.groupby(["measure", "metric"], sort=True):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                part = variance_share(group, factors=config.comparison.factors)
            news = {str(w.message) for w in caught} - said
        except ValueError as err:  # one source, or factors that do not cross
            news = {f"no variance share of {measure} ({err})"}
            part = None
        for line in sorted(news):  # the same remark for every measure is said once
            _say(log, f"compare: {line}")
        said |= news
        if part is not None:
            shares.append(part.assign(measure=str(measure), metric=str(metric)))
    share = (
        pd.concat(shares, ignore_index=True)[
            ["measure", "metric", *[c for c in shares[0].columns if c not in ("measure", "metric")]]
        ]
        if shares
        else pd.DataFrame(columns=["measure", "metric", "factor", "eta_sq_pct"])
    )
    _write(config.folder, "variance_share", share, tables)
    return dataclasses.replace(run, tables=tables)


def _comparison_px_per_deg(study: Study, ids: list[str]) -> dict[str, float]:
    """Native image pixels per degree of each image (median over the trials that showed it)."""
    import pandas as pd

    frames = [t[["image_id", "px_per_deg_img"]] for t in study.trials.values() if "image_id" in t]
    scale: Any = pd.concat(frames).groupby("image_id")["px_per_deg_img"].median() if frames else {}
    missing = [i for i in ids if i not in scale]
    if missing:
        raise StudyAnalysisError(
            f"No trial showed the images {missing[:5]}: their size in degrees is unknown."
        )
    return {image_id: float(scale[image_id]) for image_id in ids}


def study_recognition(
    config: StudyConfig, *, study: Study | None = None, log: Log | None = print
) -> dict[str, pd.DataFrame]:
    """Masked-recognition accuracy and d' per condition, with the mixed-effects model.

    Writes ``recognition.tsv`` (per mask source x correct/incorrect mask: accuracy, d',
    bootstrap intervals over participants, flagged trials excluded and counted),
    ``recognition_effects.tsv`` (correct minus incorrect masks), ``recognition_participants.tsv``
    and, with ``[recognition] mixed_model``, ``recognition_model.tsv``.
    """
    from ..recognition import recognition_model, recognition_summary

    study = study if study is not None else read_study(config)
    trials = study.trials.get("masked-recognition")
    if trials is None or not len(trials):
        raise StudyAnalysisError(f"No masked-recognition session under {study.root}.")
    tables: dict[str, pd.DataFrame] = {}
    summary = recognition_summary(
        trials, n_bootstrap=config.recognition.n_bootstrap, rng=config.seed
    )
    _write(config.folder, "recognition", summary.conditions, tables)
    _write(config.folder, "recognition_effects", summary.differences, tables)
    _write(config.folder, "recognition_participants", summary.participants, tables)
    if config.recognition.mixed_model:
        _say(log, "recognition: mixed-effects logistic model")
        model = recognition_model(trials)
        _write(config.folder, "recognition_model", model.fixed, tables)
        _write(config.folder, "recognition_variance", model.variance, tables)
    return tables


def study_reverse(
    config: StudyConfig, *, study: Study | None = None, log: Log | None = print
) -> dict[str, pd.DataFrame]:
    """The ANN's recognition of the images masked by each human map (correct vs incorrect).

    Writes ``reverse.tsv`` (per human map, image and mask: rank and score) and
    ``reverse_summary.tsv``. Needs ``[reverse] model``.
    """
    from stimuli import read_stimulus_set

    from ..recognition import reverse_test

    if not config.reverse.model:
        raise StudyAnalysisError(
            'The reverse test needs a network: set [reverse] model (e.g. "resnet50").'
        )
    study = study if study is not None else read_study(config)
    stimuli = read_stimulus_set(_set_path(study))
    measures = [s for s in stimuli.map_sources if s.startswith(HUMAN_PREFIX)]
    if not measures:
        raise StudyAnalysisError(
            f"{stimuli.path} has no human maps (human/*): run `selectivity analyze maps` first."
        )
    _say(log, f"reverse: {config.reverse.model} on {len(measures)} human maps")
    weights: str | None = config.reverse.weights
    if weights == "none":
        weights = None  # a random network: seeded, so that the test repeats
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        result = reverse_test(
            stimuli.path,
            {
                m.removeprefix(HUMAN_PREFIX): {i: stimuli.map(m, i) for i in stimuli.map_ids(m)}
                for m in measures
            },
            config.reverse.model,
            weights=weights,
            target=config.reverse.target,
            score=config.reverse.score,
            device=config.reverse.device,
            rng=config.seed,
        )
    tables: dict[str, pd.DataFrame] = {}
    _write(config.folder, "reverse", result.scores, tables)
    _write(config.folder, "reverse_summary", result.summary, tables)
    return tables


def study_ais(config: StudyConfig, *, study: Study, log: Log | None = print) -> Any:
    """Alignment importance from the study's similarity-rating sessions (``[ais] model``)."""
    from ..ais import run_ais
    from ..ais.config import AISConfig

    ais = AISConfig(
        path=config.path,
        stimulus_set=_set_path(study),
        similarity=(study.root,),
        model=config.ais.model,
        weights=config.ais.weights,
        device=config.ais.device,
        pruning=config.ais.pruning,
        folder=config.folder / "ais",
        overwrite_maps=True,
    )
    return run_ais(ais, progress=None if log is None else (lambda line: log(f"ais: {line}")))


def run_study(config: StudyConfig, *, log: Log | None = print) -> StudyRun:
    """Every step that the study's sessions allow, then the report.

    Maps and the comparison always; masked recognition when its sessions exist; the
    reverse test with ``[reverse] model``; AIS with ``[ais] model`` and similarity
    sessions. Returns the run with every table and the report's path.
    """
    from .report import write_study_report

    run = study_maps(config, log=log)
    run = study_comparison(config, run=run, log=log)
    tables = dict(run.tables)
    if "masked-recognition" in run.study.tasks:
        tables.update(study_recognition(config, study=run.study, log=log))
    if config.reverse.model:
        tables.update(study_reverse(config, study=run.study, log=log))
    ais = None
    if config.ais.model and "similarity-rating" in run.study.tasks:
        ais = study_ais(config, study=run.study, log=log)
    run = dataclasses.replace(run, tables=tables)
    report = write_study_report(config, run=run, ais=ais)
    _say(log, f"report: {report}")
    return dataclasses.replace(run, report=report)
