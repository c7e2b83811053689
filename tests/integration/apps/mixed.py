"""The mixed cluster of test_mixed_cluster: MariaDB master, PostgreSQL and MariaDB agents.

Environment: JM_MIX_MYSQL / JM_MIX_PG (DSNs), JM_MIX_RUN (table prefix), JM_IT_OUT (execution
log folder), JM_MIX_WORKER (the agent this process's worker serves; unset: producer)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

import jobmaster as jm


@jm.job_handler(definition_id="it.mixed-record")
async def record(job: jm.JobContext) -> None:
    """Append "done <job id>" to this process's log: an execution count kept outside JobMaster."""
    path = os.path.join(os.environ["JM_IT_OUT"], f"{os.getpid()}.log")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"done {job.id}\n".encode())
    finally:
        os.close(fd)


def build(env: Mapping[str, str], worker_on: str | None) -> jm.JobMaster:
    run = env["JM_MIX_RUN"]
    config = jm.ClusterConfig("mixed", sync_interval=timedelta(milliseconds=100),
                              heartbeat_interval=timedelta(seconds=1))
    config.use_mysql_for_master(env["JM_MIX_MYSQL"], table_prefix=f"m{run}_")
    config.add_agent_connection("pg-1").use_postgres_for_agent(env["JM_MIX_PG"],
                                                               table_prefix=f"a{run}_")
    config.add_agent_connection("my-1").use_mysql_for_agent(env["JM_MIX_MYSQL"],
                                                            table_prefix=f"a{run}_")
    if worker_on is not None:
        config.add_worker(agent=worker_on, concurrency=20, name=f"{worker_on}-{os.getpid()}")
    return jm.JobMaster(config, handlers=[record])


app = build(os.environ, os.environ.get("JM_MIX_WORKER")) if "JM_MIX_RUN" in os.environ else None
