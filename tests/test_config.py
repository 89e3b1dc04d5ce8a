"""The one configuration loader (``selectivity.config``): conversions, paths and error messages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pytest

from selectivity.config import (
    ConfigError,
    Location,
    from_table,
    is_file_reference,
    load_toml,
    setting,
)


@dataclasses.dataclass(frozen=True)
class Inner:
    size: tuple[int, int] = dataclasses.field(default=(2, 3), metadata=setting(gt=0))
    folder: Path = Path("inner")


@dataclasses.dataclass(frozen=True)
class Item:
    name: str
    weight: float = dataclasses.field(default=1.0, metadata=setting(ge=0, le=10))


def _upper(value: str) -> str:
    return value.upper()


@dataclasses.dataclass(frozen=True)
class Schema:
    """Every kind of field the loader reads."""

    flag: bool = False
    count: int = dataclasses.field(default=1, metadata=setting(ge=1))
    ratio: float = 0.5
    label: str = "x"
    where: Path = Path("default-folder")
    mode: Literal["fast", "slow"] = "fast"
    rate: int = dataclasses.field(default=500, metadata=setting(choices=(250, 500)))
    pair: tuple[int, int] = (0, 0)
    seeds: tuple[int, ...] = dataclasses.field(default=(1,), metadata=setting(min_items=1))
    files: tuple[Path, ...] = dataclasses.field(default=(), metadata=setting(single=True))
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    limit: float | None = None
    target: int | None = dataclasses.field(default=None, metadata=setting(none="predicted"))
    size: Literal["auto"] | int | tuple[int, int] = "auto"
    extra: Any = None
    weights: str = dataclasses.field(default="default", metadata=setting(path_if=is_file_reference))
    shout: str = dataclasses.field(default="a", metadata=setting(convert=_upper))
    inner: Inner = dataclasses.field(default_factory=Inner)
    items: tuple[Item, ...] = ()
    device: str = dataclasses.field(default="cpu", metadata=setting(section="run"))
    batch: int = dataclasses.field(default=8, metadata=setting(section="run", key="batch_size"))
    path: Path | None = dataclasses.field(default=None, metadata=setting(file=True))

    def validate(self, at: Location) -> None:
        if self.mode == "slow" and self.count > 5:
            raise at.error("count", f"at most 5 in slow mode, got {self.count}")


def _load(tmp_path: Path, text: str, name: str = "c.toml") -> Schema:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_toml(path, Schema)


def test_defaults_and_the_file_path(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert config.path == tmp_path / "c.toml"
    assert (config.flag, config.count, config.mode, config.seeds) == (False, 1, "fast", (1,))
    assert config.inner == Inner(size=(2, 3), folder=tmp_path / "inner")
    # A relative default is relative to the file, as a value written there would be.
    assert config.where == tmp_path / "default-folder"
    assert (config.device, config.batch) == ("cpu", 8)


def test_every_conversion(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "flag = true\ncount = 3\nratio = 2\nlabel = 'y'\nwhere = 'out/here'\nmode = 'slow'\n"
        "rate = 250\npair = [4, 5]\nseeds = [7, 8, 9]\nfiles = 'one.tsv'\n"
        "options = { a = 1, b = [1, 2] }\nlimit = 99.5\ntarget = 'predicted'\nsize = [6, 7]\n"
        "extra = { anything = true }\nweights = 'w/net.pth'\nshout = 'hey'\n"
        "[inner]\nsize = [10, 20]\nfolder = '/abs/inner'\n"
        "[[items]]\nname = 'a'\n[[items]]\nname = 'b'\nweight = 3\n"
        "[run]\ndevice = 'cuda'\nbatch_size = 2\n",
    )
    assert config.flag is True and config.count == 3
    assert config.ratio == 2.0 and isinstance(config.ratio, float)
    assert config.label == "y" and config.mode == "slow" and config.rate == 250
    assert config.where == tmp_path / "out" / "here"
    assert config.pair == (4, 5) and config.seeds == (7, 8, 9)
    assert config.files == (tmp_path / "one.tsv",)
    assert dict(config.options) == {"a": 1, "b": [1, 2]}
    with pytest.raises(TypeError):
        config.options["a"] = 2  # type: ignore[index]
    assert config.limit == 99.5 and config.target is None and config.size == (6, 7)
    assert config.extra == {"anything": True}
    assert config.weights == str(tmp_path / "w" / "net.pth")
    assert config.shout == "HEY"
    assert config.inner == Inner(size=(10, 20), folder=Path("/abs/inner"))
    assert config.items == (Item("a"), Item("b", 3.0))
    assert (config.device, config.batch) == ("cuda", 2)


@pytest.mark.parametrize(
    ("text", "size", "target"),
    [
        pytest.param("size = 'auto'", "auto", None, id="literal-member"),
        pytest.param("size = 32\ntarget = 4", 32, 4, id="int-member"),
    ],
)
def test_union_members_in_order(tmp_path: Path, text: str, size: Any, target: Any) -> None:
    config = _load(tmp_path, text + "\n")
    assert (config.size, config.target) == (size, target)


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = _load(tmp_path, "where = '~/data'\nfiles = ['~/a.tsv', 'b.tsv']\nweights = '~/w'\n")
    assert config.where == tmp_path / "home" / "data"
    assert config.files == (tmp_path / "home" / "a.tsv", tmp_path / "b.tsv")
    assert config.weights == str(tmp_path / "home" / "w")


@pytest.mark.parametrize(
    ("value", "is_file"),
    [
        pytest.param("default", False, id="default"),
        pytest.param("none", False, id="none"),
        pytest.param("IMAGENET1K_V1", False, id="weights-name"),
        pytest.param("ResNet18_Weights.IMAGENET1K_V1", False, id="enum-name"),
        pytest.param("net.pth", True, id="pth"),
        pytest.param("net.PT", True, id="pt"),
        pytest.param("weights/net", True, id="slash"),
        pytest.param("~/net", True, id="home"),
    ],
)
def test_is_file_reference(value: str, is_file: bool) -> None:
    assert is_file_reference(value) is is_file


def test_weights_name_stays_a_name(tmp_path: Path) -> None:
    # Even when a file of that name lies beside the configuration: the rule, not the disk, decides.
    (tmp_path / "IMAGENET1K_V1").write_text("", encoding="utf-8")
    assert _load(tmp_path, "weights = 'IMAGENET1K_V1'\n").weights == "IMAGENET1K_V1"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param(
            "colour = 1\n",
            r": unknown key 'colour'\. Allowed keys are \['count', 'extra', 'files', ",
            id="unknown-key",
        ),
        pytest.param(
            "[colour]\n",
            r": unknown section \[colour\]\. Allowed keys and sections are \['count', 'extra', ",
            id="unknown-section",
        ),
        pytest.param(
            "[inner]\nsise = 3\n",
            r": \[inner\]: unknown key 'sise'\. Allowed keys are \['folder', 'size'\]\.",
            id="unknown-nested-key",
        ),
        pytest.param(
            "[run]\nbatch = 3\n",
            r": \[run\]: unknown key 'batch'\. Allowed keys are \['batch_size', 'device'\]\.",
            id="unknown-flat-section-key",
        ),
        pytest.param("flag = 1\n", r": flag: expected true or false, got 1$", id="bool"),
        pytest.param("count = true\n", r": count: expected an integer, got True$", id="int-bool"),
        pytest.param("count = 1.5\n", r": count: expected an integer, got 1\.5$", id="int"),
        pytest.param("ratio = '1'\n", r": ratio: expected a number, got '1'$", id="float"),
        pytest.param("ratio = nan\n", r": ratio: expected a number, got nan$", id="nan"),
        pytest.param("label = 3\n", r": label: expected a string, got 3$", id="str"),
        pytest.param("where = ''\n", r": where: expected a path, got ''$", id="empty-path"),
        pytest.param(
            "mode = 'quick'\n",
            r": mode: invalid value\. Allowed values are \['fast', 'slow'\], but got 'quick' "
            r"instead\.$",
            id="literal",
        ),
        pytest.param(
            "rate = 300\n",
            r": rate: invalid value\. Allowed values are \[250, 500\], but got 300 instead\.$",
            id="choices",
        ),
        pytest.param(
            "count = 0\n",
            r": count: invalid value\. Allowed values are integers >= 1, but got 0 instead\.$",
            id="range-low",
        ),
        pytest.param(
            "[[items]]\nname = 'a'\nweight = 11\n",
            r": \[items\]\[0\] weight: invalid value\. Allowed values are numbers in \[0, 10\], "
            r"but got 11 instead\.$",
            id="range-both",
        ),
        pytest.param(
            "[inner]\nsize = [3, 0]\n",
            r": \[inner\] size: invalid value\. Allowed values are integers > 0, but got \[3, 0\] "
            r"instead\.$",
            id="range-items",
        ),
        pytest.param(
            "pair = [1, 2, 3]\n",
            r": pair: expected a list of 2 integers, got \[1, 2, 3\]$",
            id="tuple-length",
        ),
        pytest.param(
            "seeds = [1, 'a']\n",
            r": seeds: expected a list of integers, got \[1, 'a'\]$",
            id="list",
        ),
        pytest.param("seeds = []\n", r": seeds: expected a non-empty list, got \[\]$", id="empty"),
        pytest.param("options = 3\n", r": options: expected a table, got 3$", id="mapping"),
        pytest.param(
            "target = 'best'\n",
            r": target: expected 'predicted' or an integer, got 'best'$",
            id="none",
        ),
        pytest.param(
            "size = 'big'\n",
            r": size: expected 'auto', an integer or a list of 2 integers, got 'big'$",
            id="union",
        ),
        pytest.param("inner = 3\n", r": \[inner\]: expected a table, got 3$", id="section-type"),
        pytest.param("run = 3\n", r": run: expected a table \[run\], got 3$", id="flat-section"),
        pytest.param(
            "items = 3\n", r": items: expected an array of tables \[\[items\]\], got 3$", id="array"
        ),
        pytest.param(
            "[[items]]\nweight = 1\n", r": \[items\]\[0\]: missing key 'name'$", id="missing"
        ),
        pytest.param(
            "mode = 'slow'\ncount = 6\n", r": count: at most 5 in slow mode, got 6$", id="validate"
        ),
    ],
)
def test_errors_name_file_key_allowed_and_given(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="^" + re.escape(str(path)) + match):
        load_toml(path, Schema)


def test_missing_file_and_invalid_toml(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(
        ConfigError, match=f"^{re.escape(str(missing))}: configuration file not found$"
    ):
        load_toml(missing, Schema)
    bad = tmp_path / "bad.toml"
    bad.write_text("[inner\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(bad))}: not valid TOML: "):
        load_toml(bad, Schema)


def test_from_table_without_a_file_keeps_relative_paths() -> None:
    config = from_table(Schema, {"where": "rel"}, at=Location("Schema"))
    assert config.where == Path("rel") and config.path == Path("Schema")
    with pytest.raises(ConfigError, match=r"^Schema: \[inner\]: expected a table, got 1$"):
        from_table(Schema, {"inner": 1}, at=Location("Schema"))


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_lab_file_named_by_a_task_file_resolves_against_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import load_config

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "labs").mkdir(parents=True)
    (tmp_path / "home" / "labs" / "room.toml").write_text(
        "[data]\nroot = 'sessions'\n", encoding="utf-8"
    )
    studies = tmp_path / "studies"
    studies.mkdir()
    task = studies / "fv.toml"
    task.write_text(
        "lab = '~/labs/room.toml'\n[task]\nname = 'free-viewing'\nstimulus_set = 'set.h5'\n",
        encoding="utf-8",
    )
    config = load_config(task)
    assert config.lab.path == tmp_path / "home" / "labs" / "room.toml"
    assert config.lab.data.root == tmp_path / "home" / "labs" / "sessions"
    assert config.task.stimulus_set == studies / "set.h5"
    # Inline lab sections belong to the task file: their paths are relative to it.
    task.write_text("[data]\nroot = '../data'\n[task]\nname = 'free-viewing'\n", encoding="utf-8")
    assert load_config(task).lab.data.root == studies / "../data"


def test_every_shipped_config_loads(repo_root: Path) -> None:
    from analysis.ais.config import load_ais_config
    from analysis.study import load_study_config
    from tasks import load_config, load_lab_config

    loaders = {
        "ais.toml": load_ais_config,
        "study.toml": load_study_config,
        "dot_discrimination.toml": load_config,
        "dot_discrimination_simulated.toml": load_config,
        "free_viewing.toml": load_config,
        "free_viewing_simulated.toml": load_config,
        "lab.toml": load_lab_config,
        "lab_simulated.toml": load_lab_config,
        "masked_recognition.toml": load_config,
        "masked_recognition_simulated.toml": load_config,
        "object_search.toml": load_config,
        "object_search_simulated.toml": load_config,
        "patch_rating.toml": load_config,
        "patch_rating_simulated.toml": load_config,
        "saliency_search.toml": load_config,
        "saliency_search_simulated.toml": load_config,
        "serial_reproduction.toml": load_config,
        "serial_reproduction_simulated.toml": load_config,
        "similarity_rating.toml": load_config,
        "similarity_rating_simulated.toml": load_config,
    }
    names = sorted(p.name for p in (repo_root / "configs").glob("*.toml"))
    assert set(names) - {"stimuli_build.toml"} == set(loaders), "a new file needs its loader here"
    for name, loader in loaders.items():
        loaded: Any = loader(repo_root / "configs" / name)
        assert loaded.path == repo_root / "configs" / name
    if "stimuli_build.toml" in names:
        pytest.importorskip("torch")  # the build checks name torchvision's models
        from stimuli import load_build_config

        assert load_build_config(repo_root / "configs" / "stimuli_build.toml").models


def test_one_error_class_for_every_configuration() -> None:
    import analysis.ais
    import stimuli
    import stimuli.build
    import tasks

    assert tasks.ConfigError is ConfigError
    assert stimuli.BuildConfigError is ConfigError and stimuli.build.BuildConfigError is ConfigError
    assert analysis.ais.AISConfigError is ConfigError


_PACKAGES = ("selectivity", "tasks", "stimuli", "analysis", "eyetracking")


def _sources(repo_root: Path) -> list[Path]:
    return [p for package in _PACKAGES for p in sorted((repo_root / package).rglob("*.py"))]


def test_one_loader_reads_toml(repo_root: Path) -> None:
    loader = repo_root / "selectivity" / "config.py"
    readers = [
        str(p.relative_to(repo_root))
        for p in _sources(repo_root)
        if p != loader and re.search(r"\btoml(lib|i)\b", p.read_text())
    ]
    assert readers == []
    assert re.search(r"tomllib\.loads?\(", loader.read_text())


def test_no_other_config_error_class(repo_root: Path) -> None:
    pattern = re.compile(r"^class \w*ConfigError\b", re.MULTILINE)
    defined = [
        str(p.relative_to(repo_root)) for p in _sources(repo_root) if pattern.search(p.read_text())
    ]
    assert defined == ["selectivity/config.py"]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param("default", "default", id="default"),
        pytest.param("IMAGENET1K_V1", "IMAGENET1K_V1", id="name-beside-a-file-of-that-name"),
        pytest.param("w/net.pth", "{folder}/w/net.pth", id="missing-file-still-a-file"),
    ],
)
def test_ais_weights_follow_the_rule(tmp_path: Path, weights: str, expected: str) -> None:
    from analysis.ais.config import load_ais_config

    (tmp_path / "IMAGENET1K_V1").write_text("", encoding="utf-8")
    path = tmp_path / "ais.toml"
    path.write_text(
        f"[ais]\nstimulus_set = 's.h5'\nsimilarity = ['a.tsv', 'b']\nweights = '{weights}'\n",
        encoding="utf-8",
    )
    config = load_ais_config(path)
    assert config.weights == expected.format(folder=tmp_path)
    assert config.similarity == (tmp_path / "a.tsv", tmp_path / "b")
    assert config.folder == tmp_path / "ais-output" and config.seeds[0] == 111
