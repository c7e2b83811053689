"""The application object: :class:`JobMaster` wires configuration, handlers, stores and loops."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from .abc import AgentTransport, MasterStore
from .backends._common import merge_pages
from .backends.factory import make_agent, make_master
from .config import ClusterConfig, WorkerConfig
from .errors import BackendUnavailableError, NotStartedError, SchemaError
from .handlers import HandlerRegistry, Services
from .model import (
    AgentRecord,
    CancelOutcome,
    EnqueueResult,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    NewJob,
    WorkerRecord,
)
from .recurring.declare import StaticKeepAlive, upsert_static
from .recurring.service import RecurringService
from .recurring.static import StaticDeclaration, collect
from .runtime.cleaner import HistoryCleaner
from .runtime.logship import LogShipper, MasterLogHandler
from .runtime.planner import Planner, PlannerConfig
from .runtime.promoter import Promoter
from .runtime.rescuer import Rescuer
from .runtime.routing import Router
from .runtime.syncer import Syncer
from .runtime.topology import TopologyHeartbeat
from .runtime.worker import Worker
from .scheduler import Scheduler, SyncScheduler

log = logging.getLogger("jobmaster")

_IN_FLIGHT = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
T = TypeVar("T")


class JobMaster:
    """A JobMaster application: schedule jobs and, if the configuration declares workers, run them.

    Use it as an async context manager (``async with app:``) or call :meth:`start` and
    :meth:`stop`. A process without workers is a producer: it schedules and queries only.
    """

    def __init__(
        self,
        config: ClusterConfig,
        handlers: Iterable[object] = (),
        services: Services = None,
        static_profiles: Iterable[object] = (),
    ) -> None:
        self.config = config
        self._handlers = list(handlers)
        self._services = services
        self.static_profiles = list(static_profiles)
        self.registry = HandlerRegistry([], services)
        self.scheduler = Scheduler(self)
        self.scheduler_sync = SyncScheduler(self.scheduler, self._require_loop)
        self.master: MasterStore | None = None
        self.agents: dict[str, AgentTransport] = {}
        self.workers: list[Worker] = []
        self.syncer: Syncer | None = None
        self.rescuers: list[Rescuer] = []
        self.topology: TopologyHeartbeat | None = None
        self.promoter: Promoter | None = None
        self.cleaner: HistoryCleaner | None = None
        self.log_shipper: LogShipper | None = None
        self._log_handler: MasterLogHandler | None = None
        self._router: Router | None = None
        self._offline: set[str] = set()
        self._drains: set[asyncio.Future[None]] = set()
        self._reconnector: asyncio.Task[None] | None = None
        self.recurring = RecurringService(self)
        self._planner: Planner | None = None
        self.static_keepalive: StaticKeepAlive | None = None
        self._declarations: list[StaticDeclaration] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> JobMaster:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, *, run_workers: bool = True) -> None:
        """Validate the configuration, resolve handlers, connect, check or migrate the schemas,
        then start the background loops and the workers."""
        if self._started:
            return
        self.config.validate()
        self._declarations = collect(self.static_profiles)
        declared = [d.handler for d in self._declarations]
        extra = [h for i, h in enumerate(declared) if h not in self._handlers
                 and h not in declared[:i]]
        self.registry = HandlerRegistry([*self._handlers, *extra], self._services)
        self._loop = asyncio.get_running_loop()
        await self._open_stores()
        try:
            await self._check_schemas()
        except BaseException:
            await self._close_stores()
            raise
        self._started = True
        self._start_log_shipping()
        if self.master is not None and self.master.capabilities.agent_registry:
            try:
                await self.master.register_agents(self._agent_records())
            except Exception as exc:  # the topology is informative: never block a start
                log.warning("could not record the agent connections on the master: %s", exc)
        try:
            static_ids = await upsert_static(self, self._declarations)
            if run_workers:
                await self._start_loops(static_ids)
        except BaseException:
            await self.stop()
            raise
        if self._offline:
            self._reconnector = asyncio.create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        while self._offline:
            await asyncio.sleep(5)
            await self.reconnect_agents()

    async def stop(self, grace: timedelta | None = None) -> None:
        """Graceful stop: workers stop claiming, release prefetched jobs and finish running ones
        within their grace period; outboxes are synced one last time; connections close."""
        if not self._started:
            return
        self._started = False
        if self._reconnector is not None:
            self._reconnector.cancel()
            self._reconnector = None
        await asyncio.gather(*(w.stop(grace) for w in self.workers), return_exceptions=True)
        for worker in self.workers:
            if self.master is not None:
                try:
                    await self.master.set_worker_status(worker.worker_id, "stopped")
                except Exception as exc:
                    log.warning("could not mark worker %s stopped: %s", worker.worker_id, exc)
        for loop in (self._planner, self.static_keepalive):
            if loop is not None:
                await loop.stop()  # the planner also hands its lease over
        self._planner, self.static_keepalive = None, None
        if self.topology is not None:
            await self.topology.stop()
        if self.promoter is not None:
            await self.promoter.stop()
        if self.cleaner is not None:
            await self.cleaner.stop()
        for rescuer in self.rescuers:
            await rescuer.stop()
        if self.syncer is not None:
            await self.syncer.stop()
            try:
                await self.syncer.drain()
            except Exception as exc:
                log.warning("final sync failed (%s); events stay in the agent outbox", exc)
        await self._stop_log_shipping()
        await self._close_stores()
        self.workers, self.rescuers, self.syncer, self.topology = [], [], None, None
        self.promoter, self.cleaner, self._router = None, None, None

    def start_in_background(self, *, run_workers: bool = True, timeout: float = 60) -> None:
        """Run the application on an event loop in a daemon thread, for synchronous programs
        (Django, Flask, scripts) that use :attr:`scheduler_sync`. Stop with
        :meth:`stop_background`."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start(run_workers=run_workers))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=main, name="jobmaster", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        if failure:
            raise failure[0]

    def stop_background(self) -> None:
        """Stop an application started with :meth:`start_in_background`."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=120)
        self._thread = None

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._started:
            raise NotStartedError(
                "JobMaster is not started: use `async with app:` or app.start_in_background()"
            )
        return self._loop

    def _require_started(self) -> MasterStore:
        if not self._started or self.master is None:
            raise NotStartedError("JobMaster is not started: use `async with app:` first")
        return self.master

    async def _open_stores(self) -> None:
        config = self.config
        assert config.master is not None
        self.master = make_master(config.master)
        for name, connection in config.agents.items():
            assert connection.backend is not None
            colocated = connection.backend == config.master
            self.agents[name] = make_agent(connection.backend, name, colocated_master=colocated)
        self._router = Router(self.master, self.agents, horizon=config.options.agent_horizon,
                              standalone=config.standalone_mode)
        try:
            await self.master.open()
            for name, agent in self.agents.items():
                await self._open_agent(name, agent)
        except BackendUnavailableError:
            await self._close_stores()
            raise

    async def _open_agent(self, name: str, agent: AgentTransport) -> None:
        """Open an agent. In a distributed cluster an agent that no worker of this process
        needs may be down: the process starts without it, routes around it and reconnects."""
        try:
            await agent.open()
        except BackendUnavailableError as exc:
            needed = any(self.config.resolve_agent(w) == name for w in self.config.workers)
            if self.config.standalone_mode or needed:
                raise
            log.warning("%s; starting without it (jobs route to the other agents)", exc)
            self._offline.add(name)
            self._require_router().set_offline(name, True)

    async def reconnect_agents(self) -> list[str]:
        """Try to open the agents that were down; returns those now back (loop: every 5 s)."""
        back = []
        for name in sorted(self._offline):
            agent = self.agents[name]
            try:
                await agent.open()
                await self._check_store(f"agent {name!r}", agent)
            except Exception as exc:
                log.debug("agent %r still unavailable: %s", name, exc)
                continue
            self._offline.discard(name)
            self._require_router().set_offline(name, False)
            log.info("agent %r is back", name)
            back.append(name)
        return back

    def _online(self) -> list[AgentTransport]:
        return [agent for name, agent in self.agents.items() if name not in self._offline]

    async def _close_stores(self) -> None:
        for store in [*self.agents.values(), self.master]:
            if store is not None:
                try:
                    await store.close()
                except Exception as exc:
                    log.warning("closing %s failed: %s", store.location, exc)
        self.agents, self.master = {}, None
        self._offline = set()

    async def _check_schemas(self) -> None:
        assert self.master is not None
        await self._check_store("master", self.master)
        for name, agent in self.agents.items():
            if name not in self._offline:
                await self._check_store(f"agent {name!r}", agent)

    async def _check_store(self, role: str, store: MasterStore | AgentTransport) -> None:
        state = await store.schema_state()
        if state.current > state.required:
            raise SchemaError(
                f"the {role} schema at {store.location} is version {state.current}, newer "
                f"than this code (version {state.required}): upgrade jobmaster"
            )
        if state.current < state.required:
            if not self.config.options.auto_migrate:
                raise SchemaError(
                    f"the {role} schema at {store.location} is version {state.current}, "
                    f"this code needs {state.required} and auto_migrate is off: run "
                    "`jobmaster migrate module:app`"
                )
            applied = await store.migrate()
            log.info("migrated the %s schema at %s: %s", role, store.location, applied)

    async def migrate(self) -> dict[str, list[int]]:
        """Create or upgrade every schema (``jobmaster migrate``). Returns versions applied."""
        self.config.validate()
        await self._open_stores()
        try:
            assert self.master is not None
            applied = {"master": await self.master.migrate()}
            for name, agent in self.agents.items():
                applied[f"agent:{name}"] = await agent.migrate()
            return applied
        finally:
            await self._close_stores()

    @property
    def planner(self) -> Planner:
        """The schedule planner of this process (its loop runs only in processes that run
        workers; scheduling calls use it to plan a new schedule at once)."""
        master = self._require_started()
        if self._planner is None:
            options = self.config.options
            config = PlannerConfig(interval=options.planner_interval,
                                   window=options.planner_window,
                                   retire_after=options.static_retire_after,
                                   lease_ttl=max(options.planner_interval * 15,
                                                 timedelta(seconds=5)))
            self._planner = Planner(master, list(self.agents.values()), config=config)
        return self._planner

    async def _start_loops(self, static_ids: list[str]) -> None:
        options = self.config.options
        assert self.master is not None
        if options.run_planner and self.master.capabilities.recurring_schedules:
            self.planner.start()
        if static_ids:
            self.static_keepalive = StaticKeepAlive(
                self.master, static_ids, interval=options.static_retire_after / 5)
            self.static_keepalive.start()
        host, pid = socket.gethostname(), os.getpid()
        used_agents: dict[str, AgentTransport] = {}
        for index, worker_config in enumerate(self.config.workers):
            agent_name = self.config.resolve_agent(worker_config)
            used_agents[agent_name] = self.agents[agent_name]
            worker = self._make_worker(worker_config, agent_name, host, pid, index)
            await self.master.register_worker(self._worker_record(worker, agent_name, host, pid))
            self.workers.append(worker)
        if not self.workers:
            return
        self.syncer = Syncer(
            self.master, list(used_agents.values()), interval=options.sync_interval.total_seconds()
        )
        self.syncer.start()
        for agent in used_agents.values():
            rescuer = Rescuer(
                agent,
                interval=options.rescue_interval.total_seconds(),
                grace=options.heartbeat_interval.total_seconds(),
            )
            rescuer.start()
            self.rescuers.append(rescuer)
        if not self.config.standalone_mode and self.master.capabilities.held_jobs:
            self.promoter = Promoter(self.master, self._require_router(), self.agents,
                                     interval=options.promote_interval.total_seconds(),
                                     ahead=self._promote_ahead())
            self.promoter.start()
        if options.retention is not None and self.master.capabilities.purge_history:
            self.cleaner = HistoryCleaner(self.master, retention=options.retention)
            self.cleaner.start()
        self.topology = TopologyHeartbeat(
            self.master, self.workers, interval=options.heartbeat_interval.total_seconds(),
            on_drain=self._drain_worker, agents=self._agent_records,
        )
        self.topology.start()
        for worker in self.workers:
            await worker.start()

    def _make_worker(
        self, config: WorkerConfig, agent_name: str, host: str, pid: int, index: int
    ) -> Worker:
        name = config.name or f"{host}-{pid}-{index}"
        worker_id = f"{name}-{uuid.uuid4().hex[:8]}"
        connection = self.config.agents[agent_name]
        assert connection.backend is not None
        spec = connection.backend
        make_lease_transport = None
        if spec.kind != "memory":

            def make_lease_transport() -> AgentTransport:
                return make_agent(spec, agent_name, role="leases")

        return Worker(
            worker_id=worker_id,
            cluster_id=self.config.cluster_id,
            config=config,
            transport=self.agents[agent_name],
            registry=self.registry,
            make_lease_transport=make_lease_transport,
        )

    def _worker_record(self, worker: Worker, agent: str, host: str, pid: int) -> WorkerRecord:
        now = datetime.now(UTC)
        return WorkerRecord(
            id=worker.worker_id,
            name=worker.config.name or worker.worker_id,
            host=host,
            pid=pid,
            agent=agent,
            lanes=worker.config.lanes,
            concurrency=worker.config.concurrency,
            started_at=now,
            last_heartbeat=now,
            status="active",
        )

    # -- job operations ---------------------------------------------------------------------
    async def _enqueue(self, jobs: list[NewJob]) -> list[EnqueueResult]:
        master = self._require_started()
        if not jobs:
            return []
        key = jobs[0].idempotency_key if len(jobs) == 1 else None
        try:
            return await self._enqueue_keyed(jobs, key)
        except BackendUnavailableError:
            raise
        except Exception as exc:
            if not isinstance(exc, master.capabilities.transient_errors):
                raise
            raise BackendUnavailableError("master", master.location, str(exc) or
                                          type(exc).__name__) from exc

    async def _enqueue_keyed(self, jobs: list[NewJob], key: str | None) -> list[EnqueueResult]:
        master = self._require_started()
        if key is not None:
            existing = await master.find_idempotent(key)
            if existing is not None:
                return [EnqueueResult(existing, False)]
        agent, results = await self._deliver(jobs)
        if agent is not None and key is not None and results[0].created:
            # Close the race with a concurrent call whose job finished and left the agent
            # between our two checks: the key is always visible on the agent or the master.
            existing = await master.find_idempotent(key)
            if existing is not None and existing != results[0].id:
                await agent.cancel(results[0].id)
                return [EnqueueResult(existing, False)]
        return results

    async def _deliver(self, jobs: list[NewJob]
                       ) -> tuple[AgentTransport | None, list[EnqueueResult]]:
        """Enqueue on the routed agent; around an unreachable one; else hold on the master."""
        router, master = self._require_router(), self._require_started()
        tried: list[AgentTransport] = []
        while (agent := await router.choose(jobs[0], exclude=tried)) is not None:
            try:
                results = await agent.enqueue(jobs)
            except Exception as exc:
                if router.standalone or not _transient(agent, exc):
                    raise
                log.warning("agent %r is unreachable (%s): routing around it",
                            agent.agent_name, exc)
                router.mark_down(agent)
                tried.append(agent)
                continue
            router.sent(agent, len(jobs))
            return agent, results
        if not master.capabilities.held_jobs:
            raise BackendUnavailableError(
                "agent", ", ".join(self.agents), "no agent can take the job now and the "
                f"{master.capabilities.name} master cannot hold jobs")
        return None, await master.hold_jobs(jobs)

    def _require_router(self) -> Router:
        if self._router is None:
            raise NotStartedError("JobMaster is not started: use `async with app:` first")
        return self._router

    async def _cancel(self, job_id: str) -> CancelOutcome:
        master = self._require_started()
        unreachable: list[str] = []
        for agent in self._online():
            outcome = await self._ask(agent, agent.cancel(job_id), unreachable)
            if outcome is not None and outcome is not CancelOutcome.NOT_FOUND:
                return outcome
        if master.capabilities.held_jobs and await master.cancel_held(job_id):
            return CancelOutcome.CANCELLED
        self._raise_if_unreachable(unreachable, job_id)
        return CancelOutcome.NOT_FOUND

    async def _reschedule(self, job_id: str, when: datetime) -> bool:
        master = self._require_started()
        unreachable: list[str] = []
        for agent in self._online():
            if await self._ask(agent, agent.reschedule(job_id, when), unreachable):
                return True
        if master.capabilities.held_jobs and await master.reschedule_held(job_id, when):
            return True
        self._raise_if_unreachable(unreachable, job_id)
        return False

    async def _retry_now(self, job_id: str) -> bool:
        master = self._require_started()
        unreachable: list[str] = []
        for agent in self._online():
            if await self._ask(agent, agent.retry_now(job_id), unreachable):
                return True
        if master.capabilities.held_jobs and await master.reschedule_held(
                job_id, datetime.now(UTC)):
            return True
        self._raise_if_unreachable(unreachable, job_id)
        return False

    async def get_job(self, job_id: str) -> JobInfo | None:
        """A job wherever it is: the live view from its agent while it is in flight (with the
        attempts already recorded on the master), the master's history afterwards. Raises
        :class:`BackendUnavailableError` only when the job is nowhere else and an agent that
        may hold it cannot be reached."""
        master = self._require_started()
        unreachable: list[str] = []
        for agent in self._online():
            live = await self._ask(agent, agent.get_job(job_id), unreachable)
            if live is not None:
                recorded = {a.number: a for a in await master.get_attempts(job_id)}
                recorded.update({a.number: a for a in live.attempts})
                live.attempts = [recorded[n] for n in sorted(recorded)]
                return live
        found = await master.get_job(job_id)
        if found is None:
            self._raise_if_unreachable(unreachable, job_id)
        return found

    async def _ask(self, agent: AgentTransport, call: Awaitable[T], unreachable: list[str]
                   ) -> T | None:
        """Await an agent call; an unreachable agent (distributed clusters) is noted and routed
        around instead of failing a query about jobs that live elsewhere."""
        try:
            return await call
        except Exception as exc:
            if self.config.standalone_mode or not _transient(agent, exc):
                raise
            log.warning("agent %r is unreachable (%s)", agent.agent_name, exc)
            self._require_router().mark_down(agent)
            unreachable.append(agent.agent_name)
            return None

    @staticmethod
    def _raise_if_unreachable(unreachable: list[str], job_id: str) -> None:
        if unreachable:
            raise BackendUnavailableError(
                "agent", ", ".join(unreachable),
                f"job {job_id} was not found elsewhere and may be held there")

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        definition: Any = None,
        lane: str | None = None,
        schedule_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """Jobs from the history, newest first, filtered and keyset-paged (``cursor`` = the
        previous page's ``next_cursor``). ``definition`` is a handler or its definition id.
        In-flight jobs are read from the agents, finished ones from the master's history
        (which trails completions by the sync interval, 200 ms by default)."""
        master = self._require_started()
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000, got {limit}")
        definition_id = None
        if definition is not None:
            definition_id = (
                definition
                if isinstance(definition, str)
                else self.registry.resolve(definition).definition_id
            )
        for name, value in (("created_from", created_from), ("created_to", created_to)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} is a naive datetime; pass an aware one")
        query = JobQuery(
            status=JobStatus(status) if status is not None else None,
            definition_id=definition_id,
            lane=lane,
            schedule_id=schedule_id,
            created_from=created_from,
            created_to=created_to,
            limit=limit,
            cursor=cursor,
        )
        # In-flight jobs live on the agents, the history on the master: ask the sources that
        # can hold the requested status and merge their pages (agents first: they win ties).
        pages = []
        unreachable: list[str] = []
        if query.status is None or query.status in _IN_FLIGHT:
            for agent in self._online():  # an unreachable agent's jobs are left out (logged)
                page = await self._ask(agent, agent.list_jobs(query), unreachable)
                if page is not None:
                    pages.append(page)
        if query.status is None or query.status not in _IN_FLIGHT:
            pages.append(await master.list_jobs(query))
        return merge_pages(pages, limit)

    def _agent_records(self) -> list[AgentRecord]:
        """The agent connections this process reaches, for the topology on the master."""
        return [AgentRecord(name, spec.kind, spec.describe())
                for name, connection in self.config.agents.items()
                if name not in self._offline and (spec := connection.backend) is not None]

    def _start_log_shipping(self) -> None:
        master = self.master
        if master is None or not self.config.options.store_logs \
                or not master.capabilities.log_store:
            return
        self._log_handler = MasterLogHandler()
        logging.getLogger("jobmaster").addHandler(self._log_handler)
        self.log_shipper = LogShipper(master, self._log_handler)
        self.log_shipper.start()

    async def _stop_log_shipping(self) -> None:
        if self.log_shipper is None or self._log_handler is None:
            return
        logging.getLogger("jobmaster").removeHandler(self._log_handler)
        await self.log_shipper.stop()
        try:
            await self.log_shipper.flush()
        except Exception as exc:
            log.debug("could not ship the last log records: %s", exc)
        self.log_shipper, self._log_handler = None, None

    def _promote_ahead(self) -> timedelta:
        """How early held jobs are promoted: half the horizon when some agent can delay
        delivery; when none can (NATS only), at their due time."""
        if any(a.capabilities.delayed_delivery for a in self.agents.values()):
            return self.config.options.agent_horizon / 2
        return timedelta(0)

    def _drain_worker(self, worker: Worker) -> None:
        """A drain was requested: stop claiming, finish running jobs, then mark it stopped."""

        async def drain() -> None:
            await worker.stop()
            if self.master is not None:
                await self.master.set_worker_status(worker.worker_id, "stopped")

        task = asyncio.ensure_future(drain())
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    def sync_lag(self) -> dict[str, float]:
        """Seconds the oldest event of the last sync batch waited, per agent (0 when the outbox
        is empty). Only processes that run a syncer (those with workers) know it."""
        return dict(self.syncer.lag) if self.syncer is not None else {}

    async def sync_now(self) -> int:
        """Move every pending outbox event to the master now (tests, scripts)."""
        master = self._require_started()
        syncer = self.syncer or Syncer(master, list(self.agents.values()), interval=1)
        return await syncer.drain()


def _transient(agent: AgentTransport, error: Exception) -> bool:
    """True for errors that mean "this agent is unreachable", not "this job is wrong"."""
    return isinstance(error, agent.capabilities.transient_errors)
