"""Fixtures of the API tests: a real JobMaster on the memory backend (manual test kit), the
ASGI app, and httpx clients for each way of authenticating."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

import jobmaster as jm
from jobmaster.api import ApiSettings, AuthConfig, JwtConfig, create_app
from jobmaster.testing import manual

HS_KEY = "k" * 40
ISSUER, AUDIENCE = "https://issuer.test", "jobmaster"
OPERATOR_KEY = "op-key-0123456789abcdef"
VIEWER_KEY = "view-key-0123456789abcdef"
BASE = "http://127.0.0.1"


@jm.job_handler(definition_id="greet", max_retries=0)
async def greet(job: jm.JobContext) -> None:
    """Succeeds."""


@jm.job_handler(definition_id="explode", max_retries=1)
async def explode(job: jm.JobContext) -> None:
    """Always fails (two attempts with tracebacks)."""
    raise RuntimeError("boom <b>bold</b>")


@jm.job_handler(definition_id="slow", lane="emails", max_retries=0)
async def slow(job: jm.JobContext) -> None:
    """Never run in these tests: stays queued."""


HANDLERS = [greet, explode, slow]


def make_jwt(role: str = "viewer", *, key: str = HS_KEY, algorithm: str = "HS256",
             **claims: Any) -> str:
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300,
            "role": role, **claims}
    return jwt.encode(body, key, algorithm=algorithm)


def auth_config() -> AuthConfig:
    auth = AuthConfig(jwt=JwtConfig(key=HS_KEY, issuer=ISSUER, audience=AUDIENCE))
    auth.add_api_key("ops", OPERATOR_KEY, "operator").add_api_key("viewer", VIEWER_KEY)
    auth.add_user("olivia", "operator-pass", "operator").add_user("victor", "viewer-pass")
    return auth


@dataclass
class Cluster:
    """A started app with known jobs."""

    app: Any
    asgi: Any
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)

    def client(self, headers: dict[str, str] | None = None,
               client_addr: tuple[str, int] = ("127.0.0.1", 50000),
               base_url: str = BASE) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.asgi, client=client_addr)
        return httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers or {})


async def seed(app: Any) -> Cluster:
    cluster = Cluster(app=app, asgi=None)
    for i in range(3):
        job = await app.scheduler.once_now(greet, {"n": i, "html": "<script>alert(1)</script>",
                                                   "password": "hunter2"},
                                           metadata={"team": "growth" if i % 2 else "core"})
        cluster.succeeded.append(job.id)
    job = await app.scheduler.once_now(explode, {"n": 99})
    cluster.failed.append(job.id)
    await app.run_due()
    for i in range(2):
        job = await app.scheduler.once_now(slow, {"n": i}, metadata={"team": "growth"})
        cluster.queued.append(job.id)
    return cluster


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """Authentication configured (API keys, JWT, users)."""
    async with manual(handlers=HANDLERS) as app:
        found = await seed(app)
        found.asgi = create_app(app, auth_config(), settings=ApiSettings(min_poll_interval=0))
        yield found


@pytest.fixture
async def open_cluster() -> AsyncIterator[Cluster]:
    """No authentication configured (loopback-only anonymous access)."""
    async with manual(handlers=HANDLERS) as app:
        found = await seed(app)
        found.asgi = create_app(app, settings=ApiSettings(min_poll_interval=0))
        yield found


@pytest.fixture
async def operator(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client({"x-api-key": OPERATOR_KEY}) as client:
        yield client


@pytest.fixture
async def viewer(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client({"x-api-key": VIEWER_KEY}) as client:
        yield client
