"""The execution log of the tests' worker processes: an independent count of what handlers ran.

Each event is a line ``<event> <job id> <attempt> <pid>`` appended to ``<folder>/<pid>.log``
with one unbuffered ``write`` (O_APPEND), so a record survives a SIGKILL right after it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jobmaster as jm

_files: dict[str, int] = {}


def record_event(folder_env: str, event: str, job: jm.JobContext) -> None:
    """Append one event to this process's log in the folder named by ``$folder_env``."""
    fd = _files.get(folder_env)
    if fd is None:
        path = Path(os.environ[folder_env]) / f"{os.getpid()}.log"
        fd = _files[folder_env] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, f"{event} {job.id} {job.attempt} {os.getpid()}\n".encode())
