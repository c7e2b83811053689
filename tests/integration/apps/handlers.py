"""Handlers of the integration tests. Each one records what it does, independently of JobMaster,
as a line ``<event> <job id> <attempt> <pid>`` appended to ``$JM_IT_OUT/<pid>.log`` with one
unbuffered ``write`` (O_APPEND), so the record survives a SIGKILL of the process right after.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import jobmaster as jm
from tests.execlog import record_event

from .common import ENV_OUT

RELEASE_FLAG = "release.flag"
def _record(event: str, job: jm.JobContext) -> None:
    record_event(ENV_OUT, event, job)


@jm.job_handler(definition_id="it.record")
async def record(job: jm.JobContext) -> None:
    """Records one execution."""
    _record("run", job)


@jm.job_handler(definition_id="it.block")
async def block(job: jm.JobContext) -> None:
    """Records its start, then blocks until ``$JM_IT_OUT/release.flag`` exists."""
    _record("start", job)
    flag = Path(os.environ[ENV_OUT]) / RELEASE_FLAG
    while not flag.exists():  # noqa: ASYNC110 - a flag set by another process
        await asyncio.sleep(0.02)
    _record("done", job)


@jm.job_handler(definition_id="it.slow")
async def slow(job: jm.JobContext) -> None:
    """Takes ``msg_data["seconds"]`` seconds."""
    _record("start", job)
    await asyncio.sleep(job.msg_data.get_float("seconds"))
    _record("done", job)


@jm.job_handler(definition_id="it.crash")
def crash(job: jm.JobContext) -> None:
    """A poison job: kills its worker process, like a segfault or the OOM killer (F16)."""
    _record("start", job)
    os._exit(137)


@jm.job_handler(definition_id="it.late")
async def late(job: jm.JobContext) -> None:
    """Known only by the ``full`` app, not by ``limited`` (F19)."""
    _record("run", job)


ALL_HANDLERS = [record, block, slow, crash, late]
