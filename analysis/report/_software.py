"""The versions of the software that made a report, from package metadata (nothing imported)."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

#: Distributions always listed ("not installed" when absent).
CORE_PACKAGES = ("numpy", "scipy", "pandas", "h5py", "matplotlib", "statsmodels")
#: Distributions listed only when installed or already imported.
OPTIONAL_PACKAGES = ("torch", "torchvision", "psychopy")


def software_versions() -> dict[str, str]:
    """Versions of selectivity, Python and the packages an analysis depends on.

    Returns
    -------
    dict of str to str
        Name -> version, in this order: ``selectivity``, ``Python``,
        ``platform``, then :data:`CORE_PACKAGES` (``"not installed"`` when
        missing), then those of :data:`OPTIONAL_PACKAGES` (torch,
        torchvision, psychopy) that are installed or already imported.

    Notes
    -----
    Versions come from :mod:`importlib.metadata`, so nothing is imported:
    asking for torch's version does not load torch.
    """
    versions = {
        "selectivity": _installed("selectivity") or "(version unknown)",
        "Python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in CORE_PACKAGES:
        versions[name] = _installed(name) or "not installed"
    for name in OPTIONAL_PACKAGES:
        found = _installed(name)
        if found is None and name in sys.modules:
            found = str(getattr(sys.modules[name], "__version__", "(version unknown)"))
        if found is not None:
            versions[name] = found
    return versions


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
