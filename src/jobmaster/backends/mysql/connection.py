"""Connecting to MySQL/MariaDB with asyncmy: version probe, pool, transactions, migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncmy
from asyncmy import converters
from asyncmy.constants.CLIENT import FOUND_ROWS
from asyncmy.cursors import DictCursor

from ...abc import Capabilities, SchemaState
from ...config import BackendSpec
from ...errors import SchemaError
from .._sqlcommon.rows import aware
from .._sqlcommon.store import TRANSACTION_RETRIES, SqlStore, retry_pause
from .dsn import MysqlDsn, parse_dsn

T = TypeVar("T")
Cursor = DictCursor
Work = Callable[[DictCursor], Awaitable[T]]

PACKAGE = "jobmaster.backends.mysql"

#: Errors after which the whole transaction is retried: deadlock, lock wait timeout, and a
#: duplicate key raised by a concurrent insert of the same idempotency key.
RETRY_CODES = frozenset({1213, 1205, 1062})

MYSQL_CAPABILITIES = Capabilities(
    name="mysql",
    listen_notify=False,
    skip_locked=True,
    delayed_delivery=True,
    colocated_sync=False,
    multi_process=True,
    held_jobs=True,
    purge_history=True,
    log_store=True,
    agent_registry=True,
    recurring_schedules=True,
    time_precision=timedelta(microseconds=1),
    transient_errors=(OSError, asyncmy.errors.OperationalError, asyncmy.errors.InterfaceError),
)

POOL_SIZES = {"agent": (1, 10), "master": (1, 6), "leases": (1, 1)}


def error_code(exc: BaseException) -> int:
    """The server error number of an asyncmy error (0 when there is none)."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


#: Seconds a statement waits for a row lock before failing with 1205 (then retried). Lease
#: renewals wait less: a transaction stuck on a row (a hung client) must not keep every other
#: lease of the worker from being renewed before the lease keeper gives up on the round trip.
LOCK_WAIT_SECONDS = {"agent": 10, "master": 10, "leases": 2}


class JsonText:
    """A JSON document passed as a statement parameter (the JSON_TABLE batches). The driver
    quotes a string character by character (2 ms for a batch of 200 results, 40 KB); this is
    quoted by a few C-speed replaces. Valid for sessions without NO_BACKSLASH_ESCAPES, which
    :func:`_session_setup` removes."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonText({len(self.text)} chars)"


#: What a backslash-escaping MySQL literal needs escaped, backslash first.
_LITERAL_ESCAPES = (("\\", "\\\\"), ("'", "\\'"), ("\0", "\\0"), ("\n", "\\n"),
                    ("\r", "\\r"), ("\x1a", "\\Z"))


def quote_json(value: JsonText, mapping: object = None) -> str:
    """The MySQL string literal of ``value`` (an encoder of the driver)."""
    text = value.text
    for char, escaped in _LITERAL_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return "'" + text + "'"


CONVERSIONS = {**converters.conversions, JsonText: quote_json}


def _session_setup(version: str, pool_role: str = "agent") -> str:
    """One statement run on every new connection: UTC session, READ COMMITTED (no gap locks:
    claims under SKIP LOCKED and fenced writes lock only the rows they touch), a bounded lock
    wait, strict mode, and on MariaDB an idle-transaction timeout so a hung client cannot hold
    row locks (faults.md F11)."""
    mariadb = "mariadb" in version.lower()
    isolation = "tx_isolation" if mariadb and _numeric(version) < (11, 1) else "transaction_isolation"
    settings = ["time_zone = '+00:00'", f"{isolation} = 'READ-COMMITTED'",
                f"innodb_lock_wait_timeout = {LOCK_WAIT_SECONDS[pool_role]}", "sql_notes = 0",
                # Too long a value is an error, never silently cut (servers set up lenient);
                # backslashes escape in literals (JsonText relies on it).
                "sql_mode = REPLACE(CONCAT(@@SESSION.sql_mode, ',STRICT_TRANS_TABLES'),"
                " 'NO_BACKSLASH_ESCAPES', '')"]
    if mariadb:
        settings.append("idle_transaction_timeout = 30")
    return "SET SESSION " + ", SESSION ".join(settings)


def _numeric(version: str) -> tuple[int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in version.split("-")[0].split(".")]
    parts += [0, 0]
    return parts[0], parts[1]


def check_version(version: str) -> None:
    """SKIP LOCKED and JSON_TABLE need MariaDB >= 10.6 or MySQL >= 8.0."""
    needed = (10, 6) if "mariadb" in version.lower() else (8, 0)
    if _numeric(version) < needed:
        raise SchemaError(f"server version {version} is too old: jobmaster needs MariaDB >= 10.6 "
                          "or MySQL >= 8.0 (FOR UPDATE SKIP LOCKED, JSON_TABLE)")


#: A rerun of a migration cut short after that statement: the index exists already (1061) or
#: is gone already (1091). MySQL has no ``CREATE INDEX IF NOT EXISTS`` nor ``DROP INDEX IF
#: EXISTS``; tables use ``CREATE TABLE IF NOT EXISTS``.
DDL_ALREADY_DONE = frozenset({1061, 1091})


async def _run_ddl(cur: DictCursor, statement: str) -> None:
    try:
        await cur.execute(statement)
    except asyncmy.errors.Error as exc:
        if error_code(exc) not in DDL_ALREADY_DONE:
            raise


async def _rollback(conn: Any) -> None:
    """Roll back, or drop a connection that cannot say ROLLBACK any more: asyncmy closes a
    connection whose read was cancelled (a timed-out caller), and a failed rollback must not
    replace the error that caused it (least of all a cancellation). The server rolls back the
    transaction of a closed connection itself; the pool discards closed connections."""
    if not conn.connected:
        return
    try:
        await conn.rollback()
    except (asyncmy.errors.Error, OSError):
        conn.close()


class MysqlStore(SqlStore):
    """Pool management, transactions and schema handling shared by the agent and the master."""

    package = PACKAGE

    def __init__(self, spec: BackendSpec, *, pool_role: str) -> None:
        self.dsn: MysqlDsn = parse_dsn(spec.target)
        super().__init__(spec, self.dsn.location)
        self._pool_role = pool_role
        self._pool: Any = None

    async def open(self) -> None:
        if self._pool is not None:
            return
        minsize, maxsize = POOL_SIZES[self._pool_role]
        kwargs = self.dsn.connect_kwargs()
        try:
            probe = await asyncio.wait_for(asyncmy.connect(**kwargs), timeout=15)
            try:
                async with probe.cursor() as cur:
                    await cur.execute("SELECT VERSION()")
                    (version,) = await cur.fetchone()
            finally:
                await probe.ensure_closed()
            check_version(str(version))
            self._pool = await asyncmy.create_pool(
                minsize=minsize, maxsize=maxsize, pool_recycle=3600, autocommit=True,
                cursor_cls=DictCursor, conv=CONVERSIONS, **kwargs,
                # Row counts of UPDATE are the rows matched, also those already holding the
                # new values (rescheduling a job to its own due time did succeed).
                client_flag=FOUND_ROWS,
                init_command=_session_setup(str(version), self._pool_role))
        except (OSError, asyncmy.errors.Error, TimeoutError) as exc:
            raise self.unavailable(exc) from None

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise self.not_open()
        return self._pool

    async def rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one named query outside a transaction and return its rows."""
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            return await self._rows(cur, name, params)

    async def _rows(self, cur: Cursor, name: str,
                    params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one named query in the transaction of ``cur`` and return its rows."""
        return await self._rows_sql(cur, self.q[name], params)

    @staticmethod
    async def _rows_sql(cur: Cursor, sql: str,
                        params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        await cur.execute(sql, params)
        return list(await cur.fetchall())

    async def execute(self, name: str, params: dict[str, Any] | None = None) -> int:
        """Run one named statement in autocommit mode; returns the affected row count."""
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            count: int = await cur.execute(self.q[name], params)
            return count

    async def transaction(self, work: Work[T], *, attempts: int = TRANSACTION_RETRIES) -> T:
        """Run ``work`` in one transaction, tried up to ``attempts`` times on deadlocks and lock
        wait timeouts."""
        for attempt in range(attempts):
            async with self.pool.acquire() as conn:
                await conn.begin()
                try:
                    async with conn.cursor() as cur:
                        result = await work(cur)
                    await conn.commit()
                    return result
                except asyncmy.errors.Error as exc:
                    await _rollback(conn)
                    if error_code(exc) not in RETRY_CODES or attempt == attempts - 1:
                        raise
                except BaseException:
                    await _rollback(conn)
                    raise
            await asyncio.sleep(retry_pause(attempt))
        raise AssertionError("unreachable")

    async def now(self) -> datetime:
        [row] = await self.rows("now")
        return aware(row["now"])

    async def schema_state(self) -> SchemaState:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            return self.schema_state_at(await self._current_version(cur))

    async def _current_version(self, cur: DictCursor) -> int:
        await cur.execute(self.q["schema_table_exists"], {"table": f"{self.prefix}schema_version"})
        if not (await cur.fetchone())["found"]:
            return 0
        await cur.execute(self.q["schema_version"], {"role": self.role})
        row = await cur.fetchone()
        return int(row["version"]) if row else 0

    async def migrate(self) -> list[int]:
        """Serialized by GET_LOCK on the prefix. MySQL commits DDL implicitly, so migrations are
        written to be rerunnable; the version row is written after each file."""
        applied: list[int] = []
        lock = {"name": f"jobmaster:{self.prefix}:{self.dsn.database}"[:64], "timeout": 60}
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.q["migration_lock"], lock)
            if not (await cur.fetchone())["locked"]:
                raise SchemaError(f"timed out waiting for the migration lock at {self.location}")
            try:
                current = await self._current_version(cur)
                for migration in self.pending_migrations(current):
                    for statement in migration.statements(self.prefix):
                        await _run_ddl(cur, statement)
                    await cur.execute(self.q["set_schema_version"],
                                      {"role": self.role, "version": migration.version})
                    applied.append(migration.version)
            finally:
                await cur.execute(self.q["migration_unlock"], lock)
        return applied

    def id_list(self, ids: Collection[str]) -> object:
        """Ids as a tuple (the driver expands it for ``IN %(ids)s``)."""
        return tuple(ids)
