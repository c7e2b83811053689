"""The ``jobmaster`` command (also ``python -m jobmaster``)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .app import JobMaster
from .errors import JobMasterError
from .model import JobInfo, JobStatus

log = logging.getLogger("jobmaster.cli")


def load_app(reference: str) -> JobMaster:
    """Import ``module:attribute`` and return the JobMaster it names (or that a factory returns)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"jobmaster: expected module:app, got {reference!r}")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"jobmaster: cannot import {module_name!r}: {exc}") from None
    target = getattr(module, attribute, None)
    if callable(target) and not isinstance(target, JobMaster):
        target = target()
    if not isinstance(target, JobMaster):
        raise SystemExit(f"jobmaster: {reference!r} is not a JobMaster application")
    return target


# -- worker -------------------------------------------------------------------------------------
async def _run_worker(app: JobMaster) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    names = ", ".join(w.worker_id for w in app.workers) or "none (producer only)"
    log.info("jobmaster worker started: %s", names)
    await stop.wait()
    log.info("stopping: no new claims; waiting for running jobs (grace period)")
    await app.stop()
    log.info("stopped")


def cmd_worker(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    if not app.config.workers:
        app.config.add_worker(concurrency=args.concurrency)
    _run(_run_worker(app))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    applied = _run(app.migrate())
    for store, versions in applied.items():
        print(f"{store}: {'applied ' + ', '.join(map(str, versions)) if versions else 'up to date'}")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the HTTP API and dashboard; the app runs as a producer (no workers)."""
    try:
        import uvicorn

        from .api import create_app
    except ImportError as exc:
        raise SystemExit(
            f"jobmaster: the API needs its extra: pip install 'jobmaster[api]' ({exc})"
        ) from None
    app = load_app(args.app)
    auth = _load_optional(args.auth) if args.auth else None
    if auth is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without --auth: every request will get 401", args.host)
    asgi = create_app(app, auth, manage_lifecycle=True, listen_host=args.host)
    uvicorn.run(asgi, host=args.host, port=args.port, log_level="info",
                proxy_headers=False, server_header=False)
    return 0


def _load_optional(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    sys.path.insert(0, os.getcwd())
    target = getattr(importlib.import_module(module_name), attribute)
    return target() if callable(target) else target


# -- jobs -----------------------------------------------------------------------------------------
async def _with_app(app: JobMaster, action: Any) -> Any:
    await app.start(run_workers=False)
    try:
        return await action(app)
    finally:
        await app.stop()


def cmd_jobs(args: argparse.Namespace) -> int:
    app = load_app(args.app)

    async def ls(app: JobMaster) -> int:
        status = JobStatus(args.status) if args.status else None
        page = await app.list_jobs(status=status, definition=args.definition, lane=args.lane,
                                   limit=args.limit, cursor=args.cursor)
        _print_table(["id", "status", "definition", "lane", "attempts", "created"],
                     [[j.id, j.status.value, j.definition_id, j.lane, str(j.attempt_count),
                       _time(j.created_at)] for j in page.items])
        if page.next_cursor:
            print(f"next page: --cursor {page.next_cursor}")
        return 0

    async def show(app: JobMaster) -> int:
        job = await app.get_job(args.job_id)
        if job is None:
            print(f"job {args.job_id} not found", file=sys.stderr)
            return 1
        _print_job(job)
        return 0

    async def cancel(app: JobMaster) -> int:
        done = await app.scheduler.cancel(args.job_id)
        print("cancelled" if done else "not cancelled: unknown or already finished")
        return 0 if done else 1

    async def retry(app: JobMaster) -> int:
        done = await app.scheduler.retry_now(args.job_id)
        print("due now" if done else "not retried: the job is not waiting")
        return 0 if done else 1

    action = {"ls": ls, "show": show, "cancel": cancel, "retry": retry}[args.jobs_command]
    result: int = _run(_with_app(app, action))
    return result


def _print_job(job: JobInfo) -> None:
    fields = [("id", job.id), ("status", job.status.value), ("definition", job.definition_id),
              ("lane", job.lane), ("priority", str(job.priority)),
              ("scheduled", _time(job.scheduled_at)), ("created", _time(job.created_at)),
              ("agent", job.agent or ""), ("attempts", f"{job.attempt_count} of "
                                                       f"{job.max_retries + 1}"),
              ("last error", job.last_error or ""), ("data", repr(job.msg_data.to_dict()))]
    for name, value in fields:
        print(f"{name:>11}: {value}")
    for attempt in job.attempts:
        print(f"  #{attempt.number} {attempt.outcome.value:<9} {_time(attempt.started_at)} -> "
              f"{_time(attempt.finished_at)} on {attempt.worker_id} {attempt.error or ''}")


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if value else "-"


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


# -- plumbing -----------------------------------------------------------------------------------
def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobmaster", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a demo cluster on an embedded SQLite file")
    demo.add_argument("--db", default=None, help="SQLite file (default: a temporary file)")
    demo.add_argument("--jobs", type=int, default=300, help="number of jobs (default 300)")

    worker = sub.add_parser("worker", help="run the workers of an app (SIGTERM = graceful stop)")
    worker.add_argument("app", help="module:attribute of a JobMaster")
    worker.add_argument("--concurrency", type=int, default=10,
                        help="when the app declares no worker, add one with this concurrency")

    migrate = sub.add_parser("migrate", help="create or upgrade the master and agent schemas")
    migrate.add_argument("app", help="module:attribute of a JobMaster")

    api = sub.add_parser("api", help="serve the HTTP API and dashboard (producer mode)")
    api.add_argument("app", help="module:attribute of a JobMaster")
    api.add_argument("--host", default="127.0.0.1",
                     help="bind address (default 127.0.0.1; any other requires --auth)")
    api.add_argument("--port", type=int, default=8080)
    api.add_argument("--auth", default=None,
                     help="module:attribute of a jobmaster.api.AuthConfig (or a factory of one)")

    jobs = sub.add_parser("jobs", help="list, show, cancel or retry jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    ls = jobs_sub.add_parser("ls", help="list jobs, newest first")
    ls.add_argument("--status", choices=[s.value for s in JobStatus])
    ls.add_argument("--definition")
    ls.add_argument("--lane")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--cursor")
    for name in ("show", "cancel", "retry"):
        one = jobs_sub.add_parser(name, help=f"{name} one job")
        one.add_argument("job_id")
    for command in (ls, *[jobs_sub.choices[n] for n in ("show", "cancel", "retry")]):
        command.add_argument("--app", default=os.environ.get("JOBMASTER_APP"), required=
                             "JOBMASTER_APP" not in os.environ,
                             help="module:attribute of a JobMaster (or $JOBMASTER_APP)")

    from .cli_schedules import add_schedules_parser

    add_schedules_parser(sub)

    from .benchmark import add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command != "worker":
        logging.getLogger("jobmaster").setLevel(logging.WARNING if not args.verbose
                                                else logging.DEBUG)
    try:
        if args.command == "demo":
            from .demo import run_demo

            code: int = _run(run_demo(args.db, args.jobs))
            return code
        if args.command == "bench":
            from .benchmark import run_bench

            return run_bench(args)
        from .cli_schedules import cmd_schedules

        handler = {"worker": cmd_worker, "migrate": cmd_migrate, "jobs": cmd_jobs,
                   "api": cmd_api, "schedules": cmd_schedules}[args.command]
        return handler(args)
    except JobMasterError as exc:
        # One line, no stack trace: configuration, connection and schema errors are for humans.
        print(f"jobmaster: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
