"""Fixtures of the integration tests: a standalone cluster on SQLite or PostgreSQL shared by the
test process (a producer-only JobMaster) and real ``jobmaster worker`` processes.

Every test using :func:`cluster` runs once per backend. Worker processes are killed in teardown
whatever happened; their logs are attached to failure messages.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import jobmaster as jm
from tests.integration.apps import common
from tests.integration.apps.handlers import ALL_HANDLERS, RELEASE_FLAG

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "jobmaster worker started"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "mysql"]


# -- polling ------------------------------------------------------------------------------------
async def wait_until(
    predicate: Callable[[], object | Awaitable[object]],
    within: float,
    message: str | Callable[[], str],
    *,
    interval: float = 0.05,
) -> object:
    """Poll ``predicate`` (sync or async) every ``interval`` s until it returns a truthy value,
    which is returned. Fails the test with ``message`` (and the time waited) after ``within``
    seconds."""
    start = time.monotonic()
    deadline = start + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            pytest.fail(f"timed out after {time.monotonic() - start:.1f}s waiting for: {text}")
        await asyncio.sleep(interval)


# -- what handlers recorded ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Execution:
    """One line written by a test handler (see tests/integration/apps/handlers.py)."""

    event: str  # run | start | done
    job_id: str
    attempt: int
    pid: int


def read_executions(out: Path) -> list[Execution]:
    """Every complete line recorded so far by every process."""
    records: list[Execution] = []
    for path in sorted(out.glob("*.log")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4:
                records.append(Execution(parts[0], parts[1], int(parts[2]), int(parts[3])))
    return records


# -- worker processes ---------------------------------------------------------------------------
@dataclass
class WorkerProcess:
    """A ``python -m jobmaster worker tests.integration.apps.<app>:app`` process."""

    label: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def ready(self) -> bool:
        if self.popen.poll() is not None:
            pytest.fail(
                f"worker {self.label} exited with {self.popen.returncode} before it was ready:\n"
                + self.log()[-4000:]
            )
        return READY_LINE in self.log()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def worker_prefix(self) -> str:
        """The start of the worker ids of this process (apps name their worker ``p<pid>``)."""
        return f"p{self.pid}-"

    def owns(self, worker_id: str | None) -> bool:
        """True when ``worker_id`` (from an attempt) is a worker of this process."""
        return worker_id is not None and worker_id.startswith(self.worker_prefix())


@dataclass
class Workers:
    """Starts worker processes on a cluster and always kills them in teardown."""

    env: dict[str, str]
    log_dir: Path
    processes: list[WorkerProcess] = field(default_factory=list)

    def start(self, app: str = "full", **overrides: str) -> WorkerProcess:
        label = f"{app}-{len(self.processes) + 1}"
        env = {**self.env, **overrides}
        log_path = self.log_dir / f"worker-{label}.log"
        with open(log_path, "wb") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", "jobmaster", "worker", f"tests.integration.apps.{app}:app"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        process = WorkerProcess(label, popen, log_path)
        self.processes.append(process)
        return process

    async def start_ready(
        self,
        app: str = "full",
        count: int = 1,
        **overrides: str,
    ) -> list[WorkerProcess]:
        """Start ``count`` processes at once and wait until each has started its workers."""
        started = [self.start(app, **overrides) for _ in range(count)]
        await wait_until(
            lambda: all(p.ready() for p in started),
            30,
            lambda: f"workers {[p.label for p in started]} ready\n" + self.logs(),
        )
        return started

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.label} (pid {p.pid}, rc {p.popen.poll()}) ---\n{p.log()[-3000:]}"
            for p in self.processes
        )

    def kill_all(self) -> None:
        for process in self.processes:
            if process.alive():
                process.popen.send_signal(signal.SIGKILL)
        for process in self.processes:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
                pass


# -- the cluster --------------------------------------------------------------------------------
@dataclass
class Cluster:
    """A standalone cluster: environment for the worker processes, a producer in this process,
    and the directory where handlers record their executions."""

    backend: str
    env: dict[str, str]
    out: Path
    producer: jm.JobMaster
    workers: Workers

    def executions(self) -> list[Execution]:
        return read_executions(self.out)

    def release_blocked(self) -> None:
        """Let every ``it.block`` job finish."""
        (self.out / RELEASE_FLAG).touch()

    async def history(self, status: jm.JobStatus | None = None) -> list[jm.JobInfo]:
        """Every job of the master's history (with that status), after a sync."""
        await self.producer.sync_now()
        jobs: list[jm.JobInfo] = []
        cursor = None
        while True:
            page = await self.producer.list_jobs(status=status, limit=1000, cursor=cursor)
            jobs.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return jobs

    async def job(self, job_id: str) -> jm.JobInfo:
        """``get_job`` after a sync. A job that left its agent after the sync and before the
        read is briefly invisible (see test_visibility.py), so a miss is retried once."""
        for _ in range(2):
            await self.producer.sync_now()
            info = await self.producer.get_job(job_id)
            if info is not None:
                return info
        pytest.fail(f"job {job_id} not found")

    async def wait_status(self, job_id: str, status: jm.JobStatus, within: float) -> jm.JobInfo:
        last: list[jm.JobInfo] = []

        async def reached() -> bool:
            info = await self.job(job_id)
            last[:] = [info]
            return info.status is status

        await wait_until(
            reached,
            within,
            lambda: (
                f"job {job_id} to be {status.value}, it is "
                f"{last[0].status.value if last else '?'}\n" + self.workers.logs()
            ),
        )
        return last[0]


def _cluster_env(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, out: Path
) -> dict[str, str]:
    prefix = f"it{uuid.uuid4().hex[:8]}_"
    if backend == "sqlite":
        target = str(tmp_path / "cluster.db")
    elif backend == "mysql":
        target = request.getfixturevalue("mysql_database")
    else:
        target = request.getfixturevalue("pg_database")
    pythonpath = os.pathsep.join(p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "PYTHONUNBUFFERED": "1",
        common.ENV_BACKEND: backend,
        common.ENV_TARGET: target,
        common.ENV_PREFIX: prefix,
        common.ENV_OUT: str(out),
    }


@pytest.fixture(params=BACKENDS)
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    backend = request.param
    out = tmp_path / "executions"
    out.mkdir()
    env = _cluster_env(backend, request, tmp_path, out)
    # The producer starts first: it creates the schemas before any worker process opens them.
    producer = common.build_app(ALL_HANDLERS, env, with_worker=False)
    await producer.start()
    workers = Workers(env, tmp_path)
    try:
        yield Cluster(backend, env, out, producer, workers)
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(workers.logs())  # shown with the failure, under "Captured stdout teardown"
        workers.kill_all()
        await producer.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call-phase report on the item so fixtures can see whether the test failed."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
