"""Cluster configuration shared by the test process and the worker processes, from the environment.

``JM_IT_BACKEND``   ``sqlite``, ``postgres`` or ``mysql``
``JM_IT_TARGET``    the SQLite file path or the PostgreSQL DSN
``JM_IT_PREFIX``    table prefix (unique per test)
``JM_IT_OUT``       directory where handlers record what they ran (one file per process)
``JM_IT_LEASE``     worker lease in seconds (default 30)
``JM_IT_RESCUE_MS`` rescuer interval in milliseconds (default 200)
``JM_IT_SYNC_MS``   syncer interval in milliseconds (default 100)
``JM_IT_CONCURRENCY``, ``JM_IT_BATCH``, ``JM_IT_PREFETCH``  worker sizing
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import jobmaster as jm

ENV_BACKEND = "JM_IT_BACKEND"
ENV_TARGET = "JM_IT_TARGET"
ENV_PREFIX = "JM_IT_PREFIX"
ENV_OUT = "JM_IT_OUT"
ENV_LEASE = "JM_IT_LEASE"
ENV_RESCUE_MS = "JM_IT_RESCUE_MS"
ENV_CONCURRENCY = "JM_IT_CONCURRENCY"
ENV_BATCH = "JM_IT_BATCH"
ENV_PREFETCH = "JM_IT_PREFETCH"
ENV_SYNC_MS = "JM_IT_SYNC_MS"


def build_config(env: Mapping[str, str] | None = None, *, with_worker: bool) -> jm.ClusterConfig:
    """The standalone cluster described by ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    backend = env[ENV_BACKEND]
    target = env[ENV_TARGET]
    prefix = env.get(ENV_PREFIX, "jm_")
    config = jm.ClusterConfig.standalone(
        "it-cluster",
        rescue_interval=timedelta(milliseconds=int(env.get(ENV_RESCUE_MS, "200"))),
        sync_interval=timedelta(milliseconds=int(env.get(ENV_SYNC_MS, "100"))),
        heartbeat_interval=timedelta(seconds=1),
    )
    if backend == "sqlite":
        config.use_sqlite(target, table_prefix=prefix)
    elif backend == "postgres":
        config.use_postgres(target, table_prefix=prefix)
    elif backend == "mysql":
        config.use_mysql(target, table_prefix=prefix)
    else:
        raise ValueError(f"{ENV_BACKEND}: unknown backend {backend!r}")
    if with_worker:
        extra: dict[str, Any] = {"poll_interval": timedelta(milliseconds=100)}
        if ENV_PREFETCH in env:
            extra["prefetch"] = int(env[ENV_PREFETCH])
        config.add_worker(
            name=f"p{os.getpid()}",
            concurrency=int(env.get(ENV_CONCURRENCY, "10")),
            batch_size=int(env.get(ENV_BATCH, "50")),
            lease=timedelta(seconds=float(env.get(ENV_LEASE, "30"))),
            **extra,
        )
    return config


def build_app(
    handlers: Iterable[object], env: Mapping[str, str] | None = None, *, with_worker: bool = True
) -> jm.JobMaster:
    """A JobMaster on the cluster of ``env`` with the given handlers."""
    return jm.JobMaster(build_config(env, with_worker=with_worker), handlers=list(handlers))
