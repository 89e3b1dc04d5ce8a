"""Where a network and its weights come from: torchvision's cache, a state-dict file, user code."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

__all__ = [
    "build_torchvision",
    "file_sha256",
    "load_callable",
    "load_state_file",
    "named_weights",
    "state_sha256",
]

# torchvision's "<name>-<sha256 prefix>.pth"; a prefix with a letter, so that a date stamp
# such as "finetuned-20240312.pth" is not taken for one.
_HASH_IN_NAME = re.compile(r"-(?=[0-9]*[a-f])([a-f0-9]{8,})\.")
# torchvision's DenseNet files keep pre-0.3 key names ("norm.1"); its builder renames them.
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
_AUX_PREFIXES = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_sha256(model: nn.Module) -> str:
    """Hex sha256 over a model's state dict: names, dtypes, shapes and values, in order."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def named_weights(name: str, weights: str) -> Any | None:
    """The torchvision weights enum member called ``weights`` (or "default"), else None."""
    enum = torchvision.models.get_model_weights(name)
    if weights == "default":
        return enum.DEFAULT
    short = weights.split(".", 1)[1] if weights.startswith(enum.__name__ + ".") else weights
    return enum.__members__.get(short)


def _check_name_hash(path: Path, checksum: str, record: dict[str, Any], stacklevel: int) -> None:
    """Warn when a file named ``<stem>-<sha256 prefix>.<ext>`` does not match its prefix."""
    match = _HASH_IN_NAME.search(path.name)
    if match and not checksum.startswith(match.group(1)):
        message = (
            f"The weights file {path} does not match the checksum in its name "
            f"(sha256 {checksum[:12]}..., name says {match.group(1)}...). If the name follows "
            "torchvision's <name>-<sha256 prefix> convention, the file may be truncated or a "
            "different one: compare it with the original."
        )
        warnings.warn(message, stacklevel=stacklevel)
        record["warning"] = message
    elif match:
        record["weights_name_checksum"] = "verified"


def _builder_options(name: str, source: str, model_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Builder options that make every weight source give the same network."""
    options = dict(model_kwargs)
    if name in _AUX_PREFIXES:
        # As torchvision's pretrained configuration: the released Google weights expect inputs
        # in [-1, 1], which the model makes itself from ImageNet-normalised input.
        options.setdefault("transform_input", True)
        # The auxiliary heads only run in training mode; leaving them out keeps eval models lean.
        options.setdefault("aux_logits", False)
        if source == "random":
            options.setdefault("init_weights", True)  # torchvision's behaviour, without its warning
    return options


def build_torchvision(
    name: str, *, source: str, weights: Any, model_kwargs: Mapping[str, Any], image_size: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """Build torchvision model ``name`` for a weight source ("named", "random").

    Returns the model and the effective builder options.
    """
    options = _builder_options(name, source, model_kwargs)
    if name.startswith("vit_") and source == "random" and image_size is not None:
        options.setdefault("image_size", image_size)
    builder = dict(options)
    drop_aux = source == "named" and name in _AUX_PREFIXES and not builder["aux_logits"]
    if drop_aux:
        # torchvision's builders load the released heads and refuse aux_logits=False.
        del builder["aux_logits"]
    model = torchvision.models.get_model(name, weights=weights, **builder)
    if drop_aux:
        _drop_aux_heads(name, model)
    return model, options


def cached_weights(name: str, weights: Any) -> tuple[Path, dict[str, Any]]:
    """The cache file of torchvision weights ``weights``, checked; never downloads."""
    filename = os.path.basename(urlparse(weights.url).path)
    path = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"No cached weights for model '{name}' ({weights}): expected the file {path}. "
            "Nothing is downloaded at run time. On a machine with internet access, download "
            f"{weights.url} and copy it to that path (the folder is torch.hub.get_dir() + "
            "'/checkpoints'; set TORCH_HOME to move it), or pass weights=<path to a state-dict "
            "file>, or weights=None for random weights."
        )
    checksum = file_sha256(path)
    record: dict[str, Any] = {
        "weights": str(weights),
        "weights_file": str(path),
        "weights_url": weights.url,
        "weights_sha256": checksum,
    }
    # Called by load_model through _load_torchvision: stacklevel 5 is load_model's caller.
    _check_name_hash(path, checksum, record, stacklevel=5)
    return path, record


def _unwrap_state(state: Any, path: Path, notes: list[str]) -> Any:
    """A plain state dict from common checkpoint layouts (wrapped, DataParallel)."""
    if isinstance(state, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = state.get(key)
            if (
                not all(isinstance(v, torch.Tensor) for v in state.values())
                and isinstance(inner, Mapping)
                and inner
                and all(isinstance(v, torch.Tensor) for v in inner.values())
            ):
                notes.append(f"state dict read from the checkpoint's {key!r} entry")
                state = inner
                break
        if state and all(str(k).startswith("module.") for k in state):
            notes.append("'module.' prefix (DataParallel) removed from the keys")
            state = {str(k)[len("module.") :]: v for k, v in state.items()}
    if not isinstance(state, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        keys = list(state)[:5] if isinstance(state, Mapping) else type(state).__name__
        raise ValueError(
            f"The weights file {path} does not hold a state dict (parameter name -> tensor); "
            f"found {keys!r}. Save model.state_dict() (e.g. checkpoint['state_dict'])."
        )
    return state


def read_state_file(path: Path, *, what: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a state-dict file with ``torch.load(weights_only=True)``; its record for provenance."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Invalid value for the 'weights' parameter: {str(path)!r} is neither {what} nor an "
            "existing state-dict file."
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"Could not read the weights file {path}: {error}") from error
    notes: list[str] = []
    state = dict(_unwrap_state(loaded, path, notes))
    checksum = file_sha256(path)
    record: dict[str, Any] = {
        "weights": str(path),
        "weights_file": str(path),
        "weights_sha256": checksum,
    }
    if notes:
        record["weights_note"] = "; ".join(notes)
    # Called by load_model through _load_torchvision or _load_user and one more helper.
    _check_name_hash(path, checksum, record, stacklevel=6)
    return state, record


def _load_strict(
    model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, what: str
) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"The weights file {path} does not fit {what}: {error}") from error


def load_state_file(
    name: str, path: Path, *, model_kwargs: Mapping[str, Any], image_size: Any
) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Torchvision model ``name`` with the state dict in ``path``.

    Returns the model, its weights record and the effective builder options.
    """
    state, record = read_state_file(
        path, what=f"'default', None, a torchvision weights name for '{name}'"
    )
    if name.startswith("densenet"):
        state = {
            (f"{m.group(1)}{m.group(2)}" if (m := _DENSENET_OLD_KEY.match(key)) else key): value
            for key, value in state.items()
        }
    options = _builder_options(name, "file", model_kwargs)
    drop_aux = False
    if name in _AUX_PREFIXES:
        options.setdefault("init_weights", False)  # the file overwrites every parameter
        has_aux = any(key.startswith(_AUX_PREFIXES[name]) for key in state)
        if has_aux and not model_kwargs.get("aux_logits", False):
            drop_aux, options["aux_logits"] = True, True
    if name.startswith("vit_") and "image_size" not in model_kwargs and image_size is not None:
        options["image_size"] = image_size
    model = torchvision.models.get_model(name, weights=None, **options)
    _load_strict(model, state, path, f"model '{name}' (model options {dict(model_kwargs)!r})")
    if drop_aux:
        _drop_aux_heads(name, model)
        options["aux_logits"] = False
    return model, record, options


def _drop_aux_heads(name: str, model: Any) -> None:
    """Remove googlenet's / inception_v3's auxiliary classifiers, as torchvision's builder does."""
    model.aux_logits = False
    if name == "googlenet":
        model.aux1 = None
        model.aux2 = None
    else:
        model.AuxLogits = None


def _import_target(module_name: str) -> tuple[Any, Path | None]:
    if module_name.endswith(".py"):
        path = Path(module_name).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(
                f"Invalid value for the 'name' parameter: the module file {str(path)!r} does not "
                "exist."
            )
        unique = "_selectivity_user_model_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"Cannot import {path} as a Python module.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(unique, None)
            raise
        return module, path
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(
            f"Invalid value for the 'name' parameter: cannot import module {module_name!r} "
            f"({error}). Give 'package.module:callable' importable from sys.path, or "
            "'path/to/file.py:callable'."
        ) from error
    file = getattr(module, "__file__", None)
    return module, Path(file) if file else None


def load_callable(spec: str, model_kwargs: Mapping[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """Call ``module:callable`` (``callable`` may be dotted) and return its module and record."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise ValueError(
            "Invalid value for the 'name' parameter: a user model is given as "
            f"'module:callable' or 'file.py:callable', but got {spec!r} instead."
        )
    module, file = _import_target(module_name)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise AttributeError(
                f"Invalid value for the 'name' parameter: {module_name!r} has no attribute "
                f"{attribute!r}."
            )
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec!r} is not callable (it is a {type(target).__name__}).")
    model = target(**model_kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{spec!r} must return a torch.nn.Module, but returned a {type(model).__name__}."
        )
    record: dict[str, Any] = {
        "model_source": "callable",
        "callable": spec,
        "module_file": str(file) if file else None,
        "module_sha256": file_sha256(file) if file and file.is_file() else None,
    }
    return model, record


def load_into(model: nn.Module, path: Path, *, spec: str) -> dict[str, Any]:
    """Load the state-dict file ``path`` into a user's model; the weights record."""
    state, record = read_state_file(path, what="'default' or None")
    _load_strict(model, state, path, f"the model from {spec!r}")
    return record
