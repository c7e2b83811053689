"""Connecting to PostgreSQL with asyncpg: pools, session settings, errors, migrations."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from ...abc import Capabilities, SchemaState
from ...config import BackendSpec
from ...errors import BackendUnavailableError, SchemaError
from ..sql import Queries, load_migrations, required_version

PACKAGE = "jobmaster.backends.postgres"

# Worker sessions must never hold row locks forever when a client hangs or is partitioned
# (reference/faults.md F11): idle transactions and dead clients are cut by the server.
SESSION_SETTINGS = {
    "idle_in_transaction_session_timeout": "30000",
    "client_connection_check_interval": "1000",
    "jit": "off",
    "application_name": "jobmaster",
}

POSTGRES_CAPABILITIES = Capabilities(
    name="postgres",
    listen_notify=True,
    skip_locked=True,
    delayed_delivery=True,
    colocated_sync=False,
    multi_process=True,
    held_jobs=True,
    purge_history=True,
    log_store=True,
    agent_registry=True,
    recurring_schedules=True,
    transient_errors=(
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.SerializationError,
        asyncpg.DeadlockDetectedError,
        asyncpg.CannotConnectNowError,
    ),
)

POOL_SIZES = {"agent": (2, 10), "master": (1, 6), "leases": (1, 1)}

# The agent's hot table churns fast; its statistics are often stale (a fresh table, a burst of
# inserts). A stale plan turns the claim into "bitmap scan + sort of every ready row" (72 ms
# instead of 2 ms measured with 65k ready rows), so agent sessions never use bitmap scans: the
# claim then always walks the ready index in claim order.
AGENT_SESSION_SETTINGS = {**SESSION_SETTINGS, "enable_bitmapscan": "off"}


def describe_dsn(dsn: str) -> str:
    """host:port/database of a DSN, without credentials (for error messages)."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        database = parts.path.lstrip("/") or "(default)"
        return f"{host}:{port}/{database}"
    except ValueError:
        return "(unparsable DSN)"


class PostgresStore:
    """Pool management and schema handling shared by the agent and the master."""

    role = "agent"
    session_settings = SESSION_SETTINGS
    #: Open a second pool without synchronous commit for writes that tolerate loss.
    fast_writes = False

    def __init__(self, spec: BackendSpec, *, pool_role: str) -> None:
        self.spec = spec
        self.location = describe_dsn(spec.target)
        self.prefix = spec.table_prefix
        self.q = Queries(PACKAGE, spec.table_prefix)
        self._pool_role = pool_role
        self._pool: asyncpg.Pool | None = None
        self._fast_pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """Connections whose commits are durable (synchronous_commit on)."""
        if self._pool is None:
            raise RuntimeError(f"the {self.role} store at {self.location} is not open")
        return self._pool

    @property
    def fast_pool(self) -> asyncpg.Pool:
        """Connections for writes that may be lost in a server crash without harm (claims, lease
        renewals, completions: a lost claim leaves the job queued, a lost completion lets the
        job run again after its lease): they commit without waiting for the WAL flush."""
        return self._fast_pool or self.pool

    async def open(self) -> None:
        if self._pool is not None:
            return
        min_size, max_size = POOL_SIZES[self._pool_role]
        try:
            if self._pool_role != "leases":
                self._pool = await self._create_pool(min_size, max_size, self.session_settings)
            if self.fast_writes:
                fast = {**self.session_settings, "synchronous_commit": "off"}
                self._fast_pool = await self._create_pool(1 if self._pool_role == "leases"
                                                          else 2, max_size, fast)
                self._pool = self._pool or self._fast_pool
        except (OSError, asyncpg.PostgresError, TimeoutError, ValueError) as exc:
            await self.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendUnavailableError(self.role, self.location, reason) from None

    async def _create_pool(self, min_size: int, max_size: int,
                           settings: dict[str, str]) -> asyncpg.Pool:
        return await asyncio.wait_for(
            asyncpg.create_pool(self.spec.target, min_size=min_size, max_size=max_size,
                                server_settings=settings, command_timeout=60),
            timeout=15,
        )

    async def close(self) -> None:
        pools = {id(p): p for p in (self._pool, self._fast_pool) if p is not None}
        self._pool = self._fast_pool = None
        for pool in pools.values():
            await pool.close()

    async def now(self) -> datetime:
        value: datetime = await self.pool.fetchval(self.q["now"])
        return value

    async def schema_state(self) -> SchemaState:
        required = required_version(PACKAGE, self.role)
        async with self.pool.acquire() as conn:
            return SchemaState(await self._current_version(conn), required)

    async def _current_version(self, conn: Any) -> int:
        if not await conn.fetchval(self.q["schema_table_exists"], f"{self.prefix}schema_version"):
            return 0
        version = await conn.fetchval(self.q["schema_version"], self.role)
        return int(version or 0)

    async def migrate(self) -> list[int]:
        required = required_version(PACKAGE, self.role)
        applied: list[int] = []
        async with self.pool.acquire() as conn, conn.transaction():
            # One migrator at a time, cluster-wide for this prefix.
            await conn.execute(self.q["migration_lock"], f"jobmaster:{self.prefix}")
            current = await self._current_version(conn)
            if current > required:
                raise SchemaError(
                    f"the {self.role} schema at {self.location} is version {current}, newer "
                    f"than this code ({required})"
                )
            for migration in load_migrations(PACKAGE, self.role):
                if migration.version <= current:
                    continue
                for statement in migration.statements(self.prefix):
                    await conn.execute(statement)
                await conn.execute(self.q["set_schema_version"], self.role, migration.version)
                applied.append(migration.version)
        return applied
