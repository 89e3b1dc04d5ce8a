"""The EDF transfer at the end of a session meets a full disk: the file stays on the Host PC,
no cut copy passes for it, and the message says where it is and what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from eyetracking.trackers._eyelink_setup import receive_edf_retrying


class _FullDiskHost:
    """A Host PC connection whose copy stops half way: the local disk is full."""

    def __init__(self) -> None:
        self.calls = 0

    def receiveDataFile(self, host: str, local: str) -> int:
        self.calls += 1
        Path(local).write_bytes(b"EDF half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), local)


def test_full_disk_during_the_edf_transfer_keeps_the_file_on_the_host(tmp_path: Path) -> None:
    """Fault: ENOSPC while ``receiveDataFile`` writes the local copy (twice). Catches a cut
    copy left as ``<stem>.edf`` (taken for the data later), an exception out of the close,
    and a message that does not say the disk is full or where the file is."""
    host = _FullDiskHost()
    local, failure = receive_edf_retrying(host, "S01.EDF", tmp_path, attempts=2, pause_s=0.0,
                                          address="100.1.1.1", sleep=lambda s: None)  # fmt: skip
    assert local is None and failure is not None and host.calls == 2
    assert not (tmp_path / "S01.edf").exists()
    assert (tmp_path / "S01.edf.partial").read_bytes() == b"EDF half"
    message = failure["message"]
    assert f"The disk holding {tmp_path} is full: free space on it first" in message
    assert "S01.EDF is still on the EyeLink Host PC (100.1.1.1)" in message
    assert "receiveDataFile('S01.EDF'" in failure["fetch_command"]
