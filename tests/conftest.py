"""Shared fixtures: service discovery for the real databases.

A test that needs a service that is down is skipped locally and fails in CI (CI=true).
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import uuid

import pytest

PG_HOST = os.environ.get("JOBMASTER_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("JOBMASTER_PG_PORT", "5432"))
PG_USER = os.environ.get("JOBMASTER_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if service_up(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service fails the run)")
    pytest.skip(message)


def pg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A PostgreSQL database created for this test session and dropped at its end."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import asyncio

    import asyncpg

    name = f"jm_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_dsn("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def run(sql: str) -> None:
        # In a thread: the fixture may be requested from inside a running event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f'CREATE DATABASE "{name}"')
    yield pg_dsn(name)
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


MYSQL_HOST = os.environ.get("JOBMASTER_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("JOBMASTER_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("JOBMASTER_MYSQL_USER", "root")


def mysql_dsn(database: str) -> str:
    return f"mysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{database}"


@pytest.fixture(scope="session")
def mysql_database() -> str:
    """A MariaDB/MySQL database created for this test session and dropped at its end."""
    require_service("MariaDB", MYSQL_HOST, MYSQL_PORT)
    import asyncio

    import asyncmy

    name = f"jm_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER)
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql)
        finally:
            await conn.ensure_closed()

    def run(sql: str) -> None:
        # In a thread: the fixture may be requested from inside a running event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield mysql_dsn(name)
    run(f"DROP DATABASE IF EXISTS `{name}`")
