"""Cluster configuration: a small builder that produces validated, frozen settings.

>>> config = ClusterConfig.standalone("Local").use_sqlite("jobmaster.db").add_worker()

Nothing connects here. :meth:`ClusterConfig.validate` is called by ``JobMaster.start()`` and raises
:class:`~jobmaster.errors.ConfigurationError` naming the first bad setting.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from .errors import ConfigurationError
from .model import ALL_LANES, DEFAULT_LANE

STANDALONE_AGENT = "standalone"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Which backend a role uses and how to reach it (``target`` is a DSN or a file path)."""

    kind: str  # "memory" | "sqlite" | "postgres" | "mysql" | "sqlserver" | "nats"
    target: str = field(repr=False)
    table_prefix: str = "jm_"
    #: Driver options (may hold credentials: never shown in reprs or logs).
    options: tuple[tuple[str, Any], ...] = field(default=(), repr=False)

    def describe(self) -> str:
        """Where it points, without credentials."""
        return _redact(self.target) if self.kind != "memory" else "memory"


def _redact(dsn: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", dsn)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """One worker of this process (see API.md ``add_worker``)."""

    name: str | None = None
    agent: str | None = None
    lanes: tuple[str, ...] = (DEFAULT_LANE,)
    concurrency: int = 10
    batch_size: int = 50
    lease: timedelta = timedelta(seconds=30)
    #: Jobs claimed ahead of free execution slots (0 = claim only for free slots).
    prefetch: int | None = None
    #: Longest idle wait between claims. Default: 500 ms on transports that wake workers
    #: (LISTEN/NOTIFY), 50 ms on those that cannot (SQLite, MySQL, SQL Server, NATS).
    poll_interval: timedelta | None = None
    #: How long a graceful stop waits for running jobs before abandoning them.
    shutdown_grace: timedelta = timedelta(seconds=30)
    #: Threads for synchronous handlers (default: concurrency).
    sync_threads: int | None = None

    @property
    def all_lanes(self) -> bool:
        """True when the worker serves every lane (``lanes=["*"]``)."""
        return ALL_LANES in self.lanes

    @property
    def prefetch_count(self) -> int:
        """Claimed-but-not-started jobs kept ready locally."""
        return (
            self.prefetch if self.prefetch is not None else min(self.batch_size, self.concurrency)
        )


@dataclass(frozen=True, slots=True)
class AgentConnection:
    """A named agent connection of a distributed cluster."""

    name: str
    backend: BackendSpec | None = None


@dataclass(slots=True)
class AgentConnectionBuilder:
    """Returned by :meth:`ClusterConfig.add_agent_connection`; pick its backend with ``use_*``."""

    cluster: ClusterConfig
    name: str

    def use_postgres_for_agent(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use a PostgreSQL database as this agent."""
        return self._set(BackendSpec("postgres", dsn, table_prefix))

    def use_mysql_for_agent(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use a MySQL/MariaDB database as this agent."""
        return self._set(BackendSpec("mysql", dsn, table_prefix))

    def use_sqlserver_for_agent(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use a SQL Server database as this agent."""
        return self._set(BackendSpec("sqlserver", dsn, table_prefix))

    def use_sqlite_for_agent(self, path: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use an SQLite file as this agent (one machine only)."""
        return self._set(BackendSpec("sqlite", path, table_prefix))

    def use_nats_jetstream_for_agent(
        self,
        urls: str | list[str],
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        credentials: str | None = None,
        tls: Any = None,
        stream_prefix: str = "JM",
    ) -> ClusterConfig:
        """Use NATS JetStream (server 2.9+) as this agent: ``urls`` is one ``nats://host:port``
        or a list of cluster seeds; ``credentials`` a ``.creds`` file; ``tls`` an
        ``ssl.SSLContext``. Streams are named ``<stream_prefix>_<cluster>_<agent>_*``.
        NATS is agent-only: the master stays SQL (docs/providers/nats.md)."""
        servers = [urls] if isinstance(urls, str) else list(urls)
        if not servers or not all(isinstance(u, str) and u for u in servers):
            raise ConfigurationError(f"agents[{self.name!r}].urls", "at least one NATS URL")
        options: dict[str, Any] = {"cluster": self.cluster.cluster_id,
                                   "stream_prefix": stream_prefix}
        for key, value in (("user", user), ("password", password), ("auth_token", token),
                           ("credentials", credentials), ("tls", tls)):
            if value is not None:
                options[key] = value
        return self._set(BackendSpec("nats", ",".join(servers), "",
                                     tuple(sorted(options.items()))))

    def use_memory_for_agent(self, name: str = "default") -> ClusterConfig:
        """Use an in-process memory agent (tests only)."""
        return self._set(BackendSpec("memory", name))

    def _set(self, spec: BackendSpec) -> ClusterConfig:
        self.cluster._agents[self.name] = AgentConnection(self.name, spec)
        return self.cluster


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Cluster-wide options and their defaults (API.md "cluster options")."""

    default_timeout: timedelta = timedelta(minutes=5)
    default_max_retries: int = 3
    agent_horizon: timedelta = timedelta(minutes=10)
    max_message_bytes: int = 256 * 1024
    timezone: str = "UTC"
    retention: timedelta | None = timedelta(days=30)
    auto_migrate: bool = True
    #: How often the syncer moves outbox events to the master.
    sync_interval: timedelta = timedelta(milliseconds=200)
    #: Ship this process's ``jobmaster`` log records to the master (``/api/logs``).
    store_logs: bool = True
    #: How often held jobs are looked for by the promoter (distributed clusters).
    promote_interval: timedelta = timedelta(milliseconds=250)
    #: How often expired leases are looked for.
    rescue_interval: timedelta = timedelta(seconds=2)
    #: How often workers heartbeat (leases are extended every lease/3 regardless).
    heartbeat_interval: timedelta = timedelta(seconds=5)
    #: Run the schedule planner in processes that run workers (one leads at a time).
    run_planner: bool = True
    #: How far ahead the planner creates the jobs of recurring schedules.
    planner_window: timedelta = timedelta(minutes=10)
    #: How often the planner runs (and how quickly a new leader takes over: 15 x this).
    planner_interval: timedelta = timedelta(seconds=1)
    #: A static schedule that no live process declared for this long is retired.
    static_retire_after: timedelta = timedelta(minutes=10)


class ClusterConfig:
    """Builder of a cluster's settings. See API.md "Cluster configuration"."""

    def __init__(self, cluster_id: str, **options: Any) -> None:
        self.cluster_id = cluster_id
        self.standalone_mode = False
        self.master: BackendSpec | None = None
        self._agents: dict[str, AgentConnection] = {}
        self.workers: list[WorkerConfig] = []
        self._duplicate_agents: list[str] = []
        try:
            self.options = ClusterOptions(**options)
        except TypeError as exc:
            raise ConfigurationError("ClusterConfig", str(exc)) from None

    # -- standalone -------------------------------------------------------------------------
    @classmethod
    def standalone(cls, cluster_id: str, **options: Any) -> ClusterConfig:
        """A cluster whose master and only agent share one database."""
        config = cls(cluster_id, **options)
        config.standalone_mode = True
        return config

    def use_sqlite(self, path: str = "jobmaster.db", *, table_prefix: str = "jm_") -> ClusterConfig:
        """Standalone on an SQLite file (the embedded default; several processes may share it)."""
        return self._use_standalone(BackendSpec("sqlite", path, table_prefix))

    def use_postgres(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Standalone on PostgreSQL (asyncpg DSN, e.g. ``postgresql://user@host:5432/db``)."""
        return self._use_standalone(BackendSpec("postgres", dsn, table_prefix))

    def use_mysql(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Standalone on MySQL >= 8 / MariaDB >= 10.6 (``mysql://user:pass@host:3306/db``)."""
        return self._use_standalone(BackendSpec("mysql", dsn, table_prefix))

    def use_sqlserver(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Standalone on SQL Server >= 2017 (``mssql://user:pass@host:1433/db``)."""
        return self._use_standalone(BackendSpec("sqlserver", dsn, table_prefix))

    def use_memory(self, name: str = "default") -> ClusterConfig:
        """Standalone in process memory: for tests (``jobmaster.testing``)."""
        return self._use_standalone(BackendSpec("memory", name))

    def _use_standalone(self, spec: BackendSpec) -> ClusterConfig:
        self.master = spec
        self._agents = {STANDALONE_AGENT: AgentConnection(STANDALONE_AGENT, spec)}
        return self

    # -- distributed ------------------------------------------------------------------------
    def use_postgres_for_master(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use PostgreSQL as the master database."""
        self.master = BackendSpec("postgres", dsn, table_prefix)
        return self

    def use_mysql_for_master(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use MySQL/MariaDB as the master database."""
        self.master = BackendSpec("mysql", dsn, table_prefix)
        return self

    def use_sqlserver_for_master(self, dsn: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use SQL Server as the master database."""
        self.master = BackendSpec("sqlserver", dsn, table_prefix)
        return self

    def use_memory_for_master(self, name: str = "default") -> ClusterConfig:
        """Use an in-process memory master (tests only)."""
        self.master = BackendSpec("memory", name)
        return self

    def use_sqlite_for_master(self, path: str, *, table_prefix: str = "jm_") -> ClusterConfig:
        """Use an SQLite file as the master database."""
        self.master = BackendSpec("sqlite", path, table_prefix)
        return self

    def add_agent_connection(self, name: str) -> AgentConnectionBuilder:
        """Declare a named agent; choose its backend on the returned builder."""
        if name in self._agents:
            self._duplicate_agents.append(name)
        self._agents[name] = AgentConnection(name)
        return AgentConnectionBuilder(self, name)

    @property
    def agents(self) -> dict[str, AgentConnection]:
        """The agent connections by name."""
        return dict(self._agents)

    # -- workers and options ----------------------------------------------------------------
    def add_worker(
        self,
        *,
        agent: str | None = None,
        lanes: list[str] | tuple[str, ...] | None = None,
        concurrency: int = 10,
        batch_size: int = 50,
        lease: timedelta | float = timedelta(seconds=30),
        name: str | None = None,
        **extra: Any,
    ) -> ClusterConfig:
        """Run a worker in this process. See :class:`WorkerConfig` for every option; durations
        accept a timedelta or a number of seconds."""
        where = f"workers[{len(self.workers)}]"
        lease_td = _seconds(lease, f"{where}.lease")
        for key in ("poll_interval", "shutdown_grace"):
            if key in extra:
                extra[key] = _seconds(extra[key], f"{where}.{key}")
        for key in ("prefetch", "sync_threads"):
            value = extra.get(key)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigurationError(f"{where}.{key}", f"must be a non-negative int, got "
                                                           f"{value!r}")
        try:
            worker = WorkerConfig(
                name=name,
                agent=agent,
                lanes=tuple(lanes) if lanes is not None else (DEFAULT_LANE,),
                concurrency=concurrency,
                batch_size=batch_size,
                lease=lease_td,
                **extra,
            )
        except TypeError as exc:
            raise ConfigurationError(where, str(exc)) from None
        self.workers.append(worker)
        return self

    def with_options(self, **options: Any) -> ClusterConfig:
        """Change cluster options (``default_timeout``, ``auto_migrate``, ...)."""
        try:
            self.options = replace(self.options, **options)
        except TypeError as exc:
            raise ConfigurationError("ClusterConfig", str(exc)) from None
        return self

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigurationError` naming the first invalid setting."""
        if not _NAME_RE.match(self.cluster_id or ""):
            raise ConfigurationError(
                "cluster_id", f"{self.cluster_id!r} must be 1-64 letters, digits, '_', '-' or '.'"
            )
        if self.master is None:
            raise ConfigurationError(
                "master", "no master database: call use_sqlite, use_postgres, use_mysql, ... "
                "(standalone) or use_*_for_master (distributed)")
        if self.master.kind == "nats" or self.master.target.startswith(("nats://", "tls://")):
            raise ConfigurationError(
                "master", "NATS JetStream cannot be the master (it holds in-flight jobs, not "
                "history): use a SQL master (use_postgres_for_master, ...) and add NATS with "
                "add_agent_connection(name).use_nats_jetstream_for_agent(url)")
        if self._duplicate_agents:
            raise ConfigurationError(
                f"agents[{self._duplicate_agents[0]!r}]", "agent connection declared twice"
            )
        for name, agent in self._agents.items():
            if not _NAME_RE.match(name):
                raise ConfigurationError(f"agents[{name!r}]", "invalid agent connection name")
            if agent.backend is None:
                raise ConfigurationError(f"agents[{name!r}]", "no backend: call use_*_for_agent")
        _validate_options(self.options)
        names: set[str] = set()
        for index, worker in enumerate(self.workers):
            _validate_worker(f"workers[{index}]", worker, self._agents)
            if worker.name is not None:
                if worker.name in names:
                    raise ConfigurationError(f"workers[{index}].name", f"duplicate {worker.name!r}")
                names.add(worker.name)

    def resolve_agent(self, worker: WorkerConfig) -> str:
        """The agent connection name a worker is bound to."""
        if worker.agent is not None:
            return worker.agent
        return next(iter(self._agents))


def _seconds(value: Any, where: str) -> timedelta:
    """A duration from a timedelta or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    raise ConfigurationError(where, f"must be a timedelta or seconds, got {value!r}")


def _validate_options(options: ClusterOptions) -> None:
    if options.default_timeout <= timedelta(0):
        raise ConfigurationError("default_timeout", "must be positive")
    if not 0 <= options.default_max_retries <= 100:
        raise ConfigurationError("default_max_retries", "must be between 0 and 100")
    if options.max_message_bytes <= 0:
        raise ConfigurationError("max_message_bytes", "must be positive")
    for name in ("sync_interval", "promote_interval", "rescue_interval", "heartbeat_interval"):
        if getattr(options, name) <= timedelta(0):
            raise ConfigurationError(name, "must be positive")
    if options.retention is not None and options.retention <= timedelta(0):
        raise ConfigurationError("retention", "must be positive (or None to keep everything)")
    if options.agent_horizon < timedelta(seconds=10):
        raise ConfigurationError("agent_horizon", "must be at least 10 seconds")
    if options.planner_window < timedelta(seconds=1):
        raise ConfigurationError("planner_window", "must be at least 1 second")
    if not timedelta(milliseconds=10) <= options.planner_interval <= timedelta(minutes=1):
        raise ConfigurationError("planner_interval", "must be between 10 ms and 1 minute")
    if options.static_retire_after < timedelta(minutes=1):
        raise ConfigurationError("static_retire_after", "must be at least 1 minute")
    try:
        zoneinfo.ZoneInfo(options.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError("timezone", f"unknown time zone {options.timezone!r}") from None


def _validate_worker(where: str, worker: WorkerConfig, agents: dict[str, AgentConnection]) -> None:
    if worker.agent is not None and worker.agent not in agents:
        raise ConfigurationError(f"{where}.agent", f"unknown agent connection {worker.agent!r}")
    if worker.agent is None and len(agents) > 1:
        raise ConfigurationError(f"{where}.agent", "several agents exist: name one")
    if worker.concurrency < 1:
        raise ConfigurationError(f"{where}.concurrency", "must be at least 1")
    if not 1 <= worker.batch_size <= 10_000:
        raise ConfigurationError(f"{where}.batch_size", "must be between 1 and 10000")
    if worker.lease < timedelta(seconds=1):
        raise ConfigurationError(f"{where}.lease", "must be at least 1 second")
    if not worker.lanes:
        raise ConfigurationError(f"{where}.lanes", "must name at least one lane (or '*')")
    if worker.shutdown_grace < timedelta(0):
        raise ConfigurationError(f"{where}.shutdown_grace", "must not be negative")
