"""The official BIDS validator (``bids-validator-deno``), run offline on an exported dataset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BidsValidation", "validate_bids", "validator_program"]

_PROGRAM = "bids-validator-deno"


@dataclass(frozen=True)
class BidsValidation:
    """What the validator said about a dataset.

    Attributes
    ----------
    errors, warnings : tuple of dict
        The issues of severity ``error`` and ``warning``, as the validator's JSON gives
        them (``code``, ``subCode``, ``location``, ``issueMessage``, ...).
    validator_version : str
        The ``bids-validator-deno`` package version.
    schema_version : str or None
        The version of the BIDS schema it checked against.
    """

    errors: tuple[dict[str, Any], ...]
    warnings: tuple[dict[str, Any], ...]
    validator_version: str
    schema_version: str | None

    @property
    def valid(self) -> bool:
        """True when the validator found no error (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        """One line: errors and warnings by code, e.g. ``0 errors; 2 warnings (README...)``."""

        def codes(issues: tuple[dict[str, Any], ...]) -> str:
            names = sorted({_code(i) for i in issues})
            return f" ({', '.join(names)})" if names else ""

        return (
            f"{len(self.errors)} errors{codes(self.errors)}; "
            f"{len(self.warnings)} warnings{codes(self.warnings)}"
        )


def _code(issue: dict[str, Any]) -> str:
    sub = issue.get("subCode")
    return f"{issue.get('code')}/{sub}" if sub else str(issue.get("code"))


def validator_program() -> Path | None:
    """The ``bids-validator-deno`` program: beside this Python's executable, else on the PATH."""
    beside = Path(sys.executable).parent / _PROGRAM
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(_PROGRAM)
    return Path(found) if found else None


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version(_PROGRAM)
    except metadata.PackageNotFoundError:
        return "unknown"


def validate_bids(
    dataset: str | os.PathLike[str],
    *,
    program: str | os.PathLike[str] | None = None,
    timeout_s: float = 600.0,
) -> BidsValidation:
    """Run the BIDS validator on ``dataset`` (``--format json``, every TSV row checked).

    It runs offline: the BIDS schema it checks against ships inside the package.

    Parameters
    ----------
    dataset : path-like
        The dataset's root folder.
    program : path-like, optional
        The validator program (default: :func:`validator_program`).
    timeout_s : float
        Stop it after this many seconds (``subprocess.TimeoutExpired``).

    Raises
    ------
    FileNotFoundError
        No validator is installed (``pip install bids-validator-deno``, part of
        selectivity's ``dev`` extra).
    RuntimeError
        It printed no JSON report (its output is in the message).
    """
    chosen = Path(program) if program is not None else validator_program()
    if chosen is None:
        raise FileNotFoundError(
            f"The BIDS validator ({_PROGRAM}) is not installed: `pip install {_PROGRAM}` "
            "(or selectivity's dev extra, `pip install -e '.[dev]'`)."
        )
    root = Path(dataset).resolve()
    done = subprocess.run(
        [str(chosen), "--format", "json", "--max-rows", "-1", "--no-color", str(root)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=root,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(
            f"{chosen} printed no JSON report for {root} (exit status {done.returncode}): "
            f"{(done.stderr or done.stdout)[-2000:]}"
        ) from None
    issues = report.get("issues", {}).get("issues", [])
    return BidsValidation(
        errors=tuple(i for i in issues if i.get("severity") == "error"),
        warnings=tuple(i for i in issues if i.get("severity") == "warning"),
        validator_version=_version(),
        schema_version=report.get("summary", {}).get("schemaVersion"),
    )
