"""Fixtures of the distributed tests: PostgreSQL instances the tests own (stopped and started
by the test, on a free loopback port, in a temporary directory), databases on the shared
PostgreSQL service, and real ``jobmaster worker`` processes of :mod:`tests.distributed.apps`.

Everything started here is stopped in teardown whatever happened: worker processes are killed,
owned PostgreSQL instances stopped (``immediate``) and their directories removed, databases
created on the shared service dropped. The shared service itself is never stopped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import IN_CI, PG_HOST, PG_PORT, free_port, pg_dsn, require_service, service_up
from tests.distributed.apps.cluster import ENV_CLUSTER, ENV_OUT, ENV_WORKER

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("JOBMASTER_PG_BIN", "/usr/lib/postgresql/15/bin"))
READY_LINE = "jobmaster worker started"


# -- polling ------------------------------------------------------------------------------------
async def wait_until(
    predicate: Callable[[], object | Awaitable[object]],
    within: float,
    message: str | Callable[[], str],
    *,
    interval: float = 0.05,
) -> object:
    """Poll ``predicate`` (sync or async) until it is truthy and return its value; fail the test
    with ``message`` after ``within`` seconds."""
    start = time.monotonic()
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() - start >= within:
            text = message() if callable(message) else message
            pytest.fail(f"timed out after {time.monotonic() - start:.1f}s waiting for: {text}")
        await asyncio.sleep(interval)


# -- PostgreSQL instances owned by a test -------------------------------------------------------
class OwnedPostgres:
    """A PostgreSQL 15 instance in a temporary directory owned by the ``postgres`` user, on a
    free loopback port (``listen_addresses=127.0.0.1``, socket in the directory)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = free_port()

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, *args: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", "postgres", "--", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): "
                               f"{result.stdout}{result.stderr}\n{self.tail()}")

    def init(self) -> OwnedPostgres:
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "--no-sync")
        return self

    def start(self) -> float:
        """Start (waits until it accepts connections); returns the seconds it took."""
        started = time.monotonic()
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                 str(self.log), "-w", "start")
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast|immediate`` (immediate: like a crash, no checkpoint)."""
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and service_up("127.0.0.1", self.port)

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _require_owned_postgres() -> None:
    missing = [p for p in (PG_BIN / "initdb", PG_BIN / "pg_ctl") if not p.exists()]
    if missing or shutil.which("runuser") is None or os.geteuid() != 0:
        message = ("owned PostgreSQL instances need root, runuser and PostgreSQL 15 binaries in "
                   f"{PG_BIN} (JOBMASTER_PG_BIN)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def owned_pg() -> Iterator[Callable[[], OwnedPostgres]]:
    """A factory of PostgreSQL instances owned by the test: each is initialised and started;
    all are stopped and deleted in teardown."""
    _require_owned_postgres()
    instances: list[OwnedPostgres] = []

    def make() -> OwnedPostgres:
        base = Path(tempfile.mkdtemp(prefix="jmpg"))  # short: the socket path is limited
        shutil.chown(base, "postgres", "postgres")
        instance = OwnedPostgres(base)
        instances.append(instance)
        instance.init().start()
        return instance

    yield make
    for instance in instances:
        try:
            if (instance.data / "postmaster.pid").exists():
                instance.stop("immediate")
        except Exception as exc:  # pragma: no cover - best effort
            print(f"stopping owned PostgreSQL on {instance.port} failed: {exc}")
        shutil.rmtree(instance.base, ignore_errors=True)


# -- databases on the shared service ------------------------------------------------------------
def _admin(dsn: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # In a thread: fixtures may be set up from inside a running event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def shared_databases() -> Iterator[Callable[[], str]]:
    """A factory of fresh databases on the shared PostgreSQL service; dropped in teardown."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    names: list[str] = []

    def make() -> str:
        name = f"jm_dist_{uuid.uuid4().hex[:10]}"
        _admin(pg_dsn("postgres"), f'CREATE DATABASE "{name}"')
        names.append(name)
        return pg_dsn(name)

    yield make
    for name in names:
        _admin(pg_dsn("postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prefix(role: str) -> str:
    """A table prefix unique to this test run."""
    return f"{role}{uuid.uuid4().hex[:6]}_"


# -- what handlers recorded ---------------------------------------------------------------------
def read_runs(out: Path, event: str = "run") -> Counter[str]:
    """How many times each job id was recorded with ``event`` by any process."""
    runs: Counter[str] = Counter()
    for path in out.glob("*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == event:
                runs[parts[1]] += 1
    return runs


# -- worker processes ---------------------------------------------------------------------------
@dataclass
class WorkerProcess:
    """A ``python -m jobmaster worker tests.distributed.apps.cluster:app`` process."""

    label: str
    agent: str | None
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def worker_prefix(self) -> str:
        """Worker ids of this process start with this (the app names its worker ``p<pid>``)."""
        return f"p{self.pid}-"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def ready(self) -> bool:
        if self.popen.poll() is not None:
            pytest.fail(f"worker {self.label} exited with {self.popen.returncode} before it was "
                        f"ready:\n{self.log()[-4000:]}")
        return READY_LINE in self.log()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM: a graceful stop (drain)."""
        self.popen.send_signal(signal.SIGTERM)


@dataclass
class DistributedCluster:
    """A cluster description shared by the test process and its worker processes."""

    spec: dict[str, Any]
    out: Path
    log_dir: Path
    processes: list[WorkerProcess] = field(default_factory=list)

    def env(self, worker: dict[str, Any] | None = None) -> dict[str, str]:
        pythonpath = os.pathsep.join(
            p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p)
        env = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1",
               ENV_CLUSTER: json.dumps(self.spec), ENV_OUT: str(self.out)}
        if worker is not None:
            env[ENV_WORKER] = json.dumps(worker)
        return env

    def start_worker(self, agent: str | None, **worker: Any) -> WorkerProcess:
        label = f"{agent or 'standalone'}-{len(self.processes) + 1}"
        log_path = self.log_dir / f"worker-{label}.log"
        with open(log_path, "wb") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", "jobmaster", "worker",
                 "tests.distributed.apps.cluster:app"],
                cwd=REPO_ROOT, env=self.env({"agent": agent, **worker}),
                stdout=log_file, stderr=subprocess.STDOUT)
        process = WorkerProcess(label, agent, popen, log_path)
        self.processes.append(process)
        return process

    async def start_ready(self, agent: str | None, count: int = 1,
                          **worker: Any) -> list[WorkerProcess]:
        """Start ``count`` worker processes on ``agent`` and wait until each is ready."""
        started = [self.start_worker(agent, **worker) for _ in range(count)]
        await wait_until(lambda: all(p.ready() for p in started), 45,
                         lambda: f"workers {[p.label for p in started]} ready\n" + self.logs())
        return started

    def runs(self, event: str = "run") -> Counter[str]:
        return read_runs(self.out, event)

    def all_ran(self, ids: list[str]) -> bool:
        """True when every job of ``ids`` was recorded as run (at least once)."""
        runs = self.runs()
        return all(runs[i] for i in ids)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.label} (pid {p.pid}, rc {p.popen.poll()}) ---\n{p.log()[-3000:]}"
            for p in self.processes)

    def kill_all(self) -> None:
        for process in self.processes:
            if process.alive():
                process.popen.send_signal(signal.SIGKILL)
        for process in self.processes:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
                pass


@pytest.fixture
async def make_cluster(request: pytest.FixtureRequest, tmp_path: Path
                       ) -> AsyncIterator[Callable[[dict[str, Any]], DistributedCluster]]:
    """A factory of :class:`DistributedCluster`; its worker processes are killed in teardown
    (their logs are printed when the test failed)."""
    clusters: list[DistributedCluster] = []

    def make(spec: dict[str, Any]) -> DistributedCluster:
        out = tmp_path / f"executions-{len(clusters)}"
        out.mkdir()
        cluster = DistributedCluster(spec, out, tmp_path)
        clusters.append(cluster)
        return cluster

    yield make
    report = getattr(request.node, "rep_call", None)
    for cluster in clusters:
        if report is not None and report.failed:
            print(cluster.logs())
        cluster.kill_all()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep the call-phase report on the item so fixtures can see whether the test failed."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


# -- reading a store directly -------------------------------------------------------------------
async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    """One value from a fresh connection (None when the server cannot be reached)."""
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
