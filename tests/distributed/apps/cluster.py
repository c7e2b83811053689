"""A distributed (or standalone) cluster described by JSON in the environment.

``JM_D_CLUSTER``  the cluster::

    {"id": "dist", "standalone": {"dsn": ..., "prefix": ...} | null,
     "master": {"dsn": ..., "prefix": ...}, "agents": [{"name": ..., "dsn": ..., "prefix": ...}],
     "sync_ms": 100, "rescue_ms": 200, "heartbeat_s": 1}

``JM_D_WORKER``   the worker of this process: ``{"agent": ..., "concurrency": ..., "lease": ...,
                  "batch": ..., "lanes": [...], "grace": ...}`` (absent: a producer)
``JM_D_OUT``      where handlers record what they ran: one file per process, one line per event
                  ``<event> <job id> <attempt> <pid>`` written with one ``O_APPEND`` write.

``app`` is the application ``jobmaster worker tests.distributed.apps.cluster:app`` runs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import jobmaster as jm
from tests.execlog import record_event

ENV_CLUSTER = "JM_D_CLUSTER"
ENV_WORKER = "JM_D_WORKER"
ENV_OUT = "JM_D_OUT"

def _record(event: str, job: jm.JobContext) -> None:
    record_event(ENV_OUT, event, job)


@jm.job_handler(definition_id="dist.record")
async def record(job: jm.JobContext) -> None:
    """Records one execution."""
    _record("run", job)


@jm.job_handler(definition_id="dist.slow")
async def slow(job: jm.JobContext) -> None:
    """Records its start, sleeps ``msg_data["seconds"]``, records its end."""
    _record("start", job)
    await asyncio.sleep(job.msg_data.get_float("seconds"))
    _record("run", job)


HANDLERS = [record, slow]


def build_config(cluster: Mapping[str, Any], worker: Mapping[str, Any] | None = None,
                 *, name: str | None = None) -> jm.ClusterConfig:
    """The cluster described by ``cluster`` (see the module docstring), with ``worker``."""
    options = {
        "sync_interval": timedelta(milliseconds=cluster.get("sync_ms", 100)),
        "rescue_interval": timedelta(milliseconds=cluster.get("rescue_ms", 200)),
        "heartbeat_interval": timedelta(seconds=cluster.get("heartbeat_s", 1)),
        "promote_interval": timedelta(milliseconds=cluster.get("promote_ms", 100)),
    }
    standalone = cluster.get("standalone")
    if standalone:
        config = jm.ClusterConfig.standalone(cluster.get("id", "dist"), **options)
        config.use_postgres(standalone["dsn"], table_prefix=standalone["prefix"])
    else:
        config = jm.ClusterConfig(cluster.get("id", "dist"), **options)
        master = cluster["master"]
        config.use_postgres_for_master(master["dsn"], table_prefix=master["prefix"])
        for agent in cluster["agents"]:
            config.add_agent_connection(agent["name"]).use_postgres_for_agent(
                agent["dsn"], table_prefix=agent["prefix"])
    if worker is not None:
        config.add_worker(
            name=name or f"p{os.getpid()}",
            agent=worker.get("agent"),
            lanes=worker.get("lanes"),
            concurrency=int(worker.get("concurrency", 10)),
            batch_size=int(worker.get("batch", 50)),
            lease=timedelta(seconds=float(worker.get("lease", 10))),
            poll_interval=timedelta(milliseconds=100),
            shutdown_grace=timedelta(seconds=float(worker.get("grace", 30))),
        )
    return config


def build_app(env: Mapping[str, str] | None = None) -> jm.JobMaster:
    """The application of ``env`` (default: this process's environment)."""
    env = os.environ if env is None else env
    worker = json.loads(env[ENV_WORKER]) if env.get(ENV_WORKER) else None
    return jm.JobMaster(build_config(json.loads(env[ENV_CLUSTER]), worker), handlers=HANDLERS)


def app() -> jm.JobMaster:
    """Factory used by ``jobmaster worker tests.distributed.apps.cluster:app``."""
    return build_app()
