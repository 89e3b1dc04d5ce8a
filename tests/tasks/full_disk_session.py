"""Run inside a private mount namespace whose data root is a small tmpfs (test_session_faults.py).

``python full_disk_session.py DATA_ROOT OUT K ARGS...``: run ``selectivity ARGS`` (a ``run``
with ``--data DATA_ROOT``) in this process while a thread fills the file system with a
ballast file once trial K is in ``trials.tsv``; copy the session folder to ``OUT/full``;
remove the ballast; run ``selectivity ARGS --resume``; copy the folder to ``OUT/resumed``;
write both runs' exit statuses and stderr to ``OUT/result.json``. One process for both runs
(PsychoPy imported once); the tmpfs vanishes with the namespace, so what the test checks is
copied out.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import threading
import time
from pathlib import Path


def _rows(path: Path) -> int:
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


def _fill(path: Path) -> int:
    """Write zeros to ``path`` until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError:
                break
        while True:  # the last bytes that fit
            try:
                written += f.write(b"\0" * 512)
            except OSError:
                return written


def _watch(data: Path, k: int, ballast: Path, filled: list[int]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(data.glob("sub-*/ses-*/*/trials.tsv"))
        if found and _rows(found[0]) >= k:
            filled.append(_fill(ballast))
            return
        time.sleep(0.002)


def _selectivity(args: list[str]) -> dict[str, object]:
    from selectivity.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(args)
    return {"rc": status, "stderr": err.getvalue()}


def main() -> None:
    data, out, k, args = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    ballast = data / "ballast.bin"
    filled: list[int] = []
    watcher = threading.Thread(target=_watch, args=(data, k, ballast, filled), daemon=True)
    watcher.start()
    first = _selectivity(args)
    watcher.join(timeout=5)
    (folder,) = data.glob("sub-*/ses-*/*")
    shutil.copytree(folder, out / "full")
    ballast.unlink()
    resumed = _selectivity([*args, "--resume"])
    shutil.copytree(folder, out / "resumed")
    result = {"ballast_bytes": filled, "first": first, "resume": resumed, "folder": str(folder)}
    (out / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
