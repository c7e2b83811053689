"""Helpers of the unit tests that run a MySQL/MariaDB agent on the real server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from jobmaster.backends.mysql import MysqlAgent
from jobmaster.config import BackendSpec
from jobmaster.model import Backoff, NewJob


def new_job(*, scheduled_at: datetime | None = None) -> NewJob:
    """A no-op job of the default lane, due now unless ``scheduled_at`` says otherwise."""
    return NewJob(
        id=str(uuid.uuid4()), definition_id="tests.noop", lane="default", priority=3,
        scheduled_at=scheduled_at, msg_data="{}", metadata="{}", max_retries=0,
        timeout_ms=30_000, backoff=json.dumps(Backoff().to_json()), idempotency_key=None,
    )


@asynccontextmanager
async def opened_agent(database: str) -> AsyncIterator[MysqlAgent]:
    """A standalone agent on fresh tables (a new prefix) of ``database``."""
    store = MysqlAgent(BackendSpec("mysql", database, f"t{uuid.uuid4().hex[:8]}_"), "standalone")
    await store.open()
    await store.migrate()
    try:
        yield store
    finally:
        await store.close()
