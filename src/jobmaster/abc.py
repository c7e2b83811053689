"""The role contracts: :class:`MasterStore`, :class:`AgentTransport` and :class:`Capabilities`.

Every method is documented here, once. Backends (``jobmaster.backends.<name>``) implement these
classes and are proven by one conformance suite (``tests/conformance``). The core never asks which
backend it talks to; it reads :class:`Capabilities`.

Times passed in and returned are aware UTC datetimes. Lease expiry, due times and "now" are always
computed by the backend's own clock (the database's), never the worker's, so clock skew between
machines cannot cause early rescues or double runs.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import (
    AgentRecord,
    Attempt,
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    EnqueueResult,
    HeldJob,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    LeaseRef,
    LogEntry,
    LogQuery,
    NewJob,
    RescueResult,
    WorkerRecord,
)
from .recurring.records import ScheduleQuery, ScheduleRecord, SlotOutcome, SlotRecord


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the core branches on these flags, never on the backend's type.

    - ``listen_notify``: idle workers can wait for a wake-up instead of polling.
    - ``skip_locked``: concurrent claimers do not block each other.
    - ``delayed_delivery``: the transport itself holds a job until its due time.
    - ``colocated_sync``: master and agent share one database, so the outbox can be moved to the
      master by a single server-side statement (:meth:`AgentTransport.sync_colocated`).
    - ``multi_process``: several processes may use the same store safely.
    - ``held_jobs``: the master can hold jobs for promotion (distributed clusters).
    - ``recurring_schedules``: the master stores schedules, slots and leader leases (the
      planner runs only on such masters).
    - ``time_precision``: resolution of the backend's timestamps.
    - ``transient_errors``: exception types worth retrying (connection lost, serialization, ...).
    """

    name: str
    listen_notify: bool = False
    skip_locked: bool = False
    delayed_delivery: bool = True
    colocated_sync: bool = False
    multi_process: bool = True
    #: The master can hold jobs (SCHEDULED) for promotion (:meth:`MasterStore.hold_jobs`).
    held_jobs: bool = False
    #: The master can purge old history (:meth:`MasterStore.purge_history`).
    purge_history: bool = False
    #: The master keeps the processes' logs (:meth:`MasterStore.write_logs`).
    log_store: bool = False
    #: The master records the agent connections (:meth:`MasterStore.register_agents`).
    agent_registry: bool = False
    recurring_schedules: bool = False
    time_precision: timedelta = timedelta(microseconds=1)
    transient_errors: tuple[type[BaseException], ...] = field(default=(ConnectionError, OSError))


@dataclass(frozen=True, slots=True)
class SchemaState:
    """The schema version found in a store and the version this code needs."""

    current: int
    required: int

    @property
    def up_to_date(self) -> bool:
        """True when the store needs no migration."""
        return self.current == self.required


@dataclass(frozen=True, slots=True)
class LeaseExtension:
    """Result of a heartbeat: the leases still held and the jobs asked to stop cooperatively."""

    held: frozenset[str]
    cancel_requested: frozenset[str] = frozenset()


WakeUp = Callable[[], None]


@dataclass(frozen=True, slots=True)
class OutboxImport:
    """What :meth:`MasterStore.import_outbox` applied: the events' sequence numbers and the
    finish (or start) time of the oldest one, None for an empty batch."""

    seqs: list[int]
    oldest: datetime | None


class _Store(abc.ABC):
    """Lifecycle and schema management shared by both roles."""

    capabilities: Capabilities
    #: Human-readable location (host:port/db or file) used in error messages; no secrets.
    location: str

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect. Raises :class:`jobmaster.errors.BackendUnavailableError` naming the location
        when the service cannot be reached."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection. Safe to call twice."""

    @abc.abstractmethod
    async def schema_state(self) -> SchemaState:
        """The version of this role's schema in the store (0 when absent) and the one required."""

    @abc.abstractmethod
    async def migrate(self) -> list[int]:
        """Apply the missing migrations in order, each in its own transaction, and return their
        versions. Safe to run from several processes at once (serialized by a lock). Raises
        :class:`jobmaster.errors.SchemaError` when the store is newer than the code."""

    @abc.abstractmethod
    async def now(self) -> datetime:
        """The backend's clock."""


class AgentTransport(_Store):
    """Holds in-flight jobs (queued or running) and an outbox of their state changes.

    The agent is the source of truth for its in-flight jobs; the master receives, through the
    outbox, every finished attempt and the final snapshot of every job that leaves the agent
    (succeeded, failed or cancelled). Transitions that keep a job in flight (enqueue, claim,
    release, reschedule) need no event: queries read in-flight jobs from the agents directly.

    Lease protocol: :meth:`claim` gives each job a fresh ``lease_token`` and an expiry computed by
    the backend's clock. Every later transition of that job (:meth:`extend_leases`, :meth:`finish`,
    :meth:`release`) is conditional on the token, so a worker that lost its lease — because it hung,
    was partitioned or its lease was rescued — can change nothing ("fencing").
    """

    #: The agent connection name this transport serves (``"standalone"`` in standalone clusters).
    agent_name: str

    @abc.abstractmethod
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        """Store jobs as QUEUED in one round trip.

        A job whose ``idempotency_key`` is already held by another job of this agent (queued,
        running, or not yet synced) is not stored: its result carries the existing id and
        ``created=False``. Results are in the order of ``jobs``. ``scheduled_at=None`` means now
        by the backend's clock. Idle workers listening for wake-ups are notified (coalesced).
        """

    @abc.abstractmethod
    async def claim(
        self,
        worker_id: str,
        *,
        lanes: Sequence[str] | None,
        definitions: Sequence[str],
        limit: int,
        lease: timedelta,
    ) -> list[ClaimedJob]:
        """Atomically take up to ``limit`` due jobs (``scheduled_at <= now``) for one worker.

        Only jobs in ``lanes`` (None = every lane) whose ``definition_id`` is in ``definitions``
        (the handlers this worker knows) are taken, highest priority first, then oldest due time.
        Each returned job is PROCESSING with a new lease token, ``lease_expires_at = now + lease``
        and its attempt counter incremented (so a job that crashes its worker still uses up
        attempts). Concurrent claimers never receive the same job.
        """

    @abc.abstractmethod
    async def extend_leases(
        self, worker_id: str, leases: Sequence[LeaseRef], lease: timedelta
    ) -> LeaseExtension:
        """Push the expiry of the given leases to ``now + lease`` in one round trip.

        Returns the job ids whose lease is still held (others were rescued or finished: the worker
        must stop those jobs) and the ids whose cancellation was requested.
        """

    @abc.abstractmethod
    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        """Record the end of attempts in one round trip, fenced by lease token.

        SUCCEEDED / CANCELLED / final FAILED or TIMED_OUT: the job leaves the agent and a final event
        goes to the outbox. With ``retry_delay`` set: the job returns to QUEUED, due at
        ``now + retry_delay``, lease cleared. Every result records its attempt. Returns the ids
        whose lease matched; results whose token no longer matches are ignored (a late completion
        after a rescue changes nothing).
        """

    @abc.abstractmethod
    async def release(self, leases: Sequence[LeaseRef]) -> int:
        """Give back claimed jobs that were never started (prefetched): QUEUED again at once,
        attempt counter restored. Fenced by token. Returns how many were released."""

    @abc.abstractmethod
    async def cancel(self, job_id: str) -> CancelOutcome:
        """Cancel a job held here: a queued job becomes CANCELLED (leaves the agent, event
        recorded); a running one is flagged so its worker signals the handler (REQUESTED)."""

    @abc.abstractmethod
    async def reschedule(self, job_id: str, when: datetime) -> bool:
        """Move a QUEUED job's due time. False if the job is not queued here."""

    @abc.abstractmethod
    async def retry_now(self, job_id: str) -> bool:
        """Make a QUEUED job (e.g. waiting for a retry) due now. False if not queued here."""

    @abc.abstractmethod
    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        """Return up to ``limit`` jobs whose lease expired to the queue, due now, recording an
        ABANDONED attempt; jobs that used all attempts become FAILED with ``max_attempts_reason``.
        Conditional on the lease still being expired, so it cannot race a completion."""

    @abc.abstractmethod
    async def get_job(self, job_id: str) -> JobInfo | None:
        """The job as this agent knows it: the live view while it is held here (QUEUED or
        PROCESSING), or its final state while that still waits in the outbox (it finished but
        the syncer has not moved it to the master yet); None otherwise."""

    async def list_jobs(self, query: JobQuery) -> JobPage:
        """Jobs held here (QUEUED or PROCESSING) matching ``query``, newest first by
        (created_at, id), keyset-paged like :meth:`MasterStore.list_jobs`."""
        raise NotImplementedError(f"{self.capabilities.name} cannot list its jobs")

    @abc.abstractmethod
    async def read_outbox(self, limit: int) -> list[JobEvent]:
        """The oldest ``limit`` events not yet trimmed, in sequence order. Does not remove them."""

    @abc.abstractmethod
    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        """Delete exactly these events (after the master has applied them). Not "every event up
        to a sequence number": sequence numbers are taken at insert, so an event committed late
        may carry a lower number than one already read, and must not be trimmed unread."""

    @abc.abstractmethod
    async def queue_depth(self) -> dict[str, int]:
        """Number of queued jobs per lane."""

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        """How long until the earliest QUEUED job not yet due (of these definitions and lanes,
        None = every lane) becomes due, by the backend's clock; None when there is none or the
        backend cannot tell. Idle workers wait no longer than this, because a job enqueued
        for later (a recurring slot) wakes nobody when it becomes due."""
        return None

    async def sync_colocated(self, limit: int) -> int:
        """Move up to ``limit`` outbox events into the master tables of the same database in one
        statement (only when ``capabilities.colocated_sync``). Returns the number of events."""
        raise NotImplementedError(f"{self.capabilities.name} has no colocated master")

    #: The wire format of :meth:`export_outbox` (None: this agent exports events only). A master
    #: listing the same format in ``outbox_import_formats`` takes the batch as it is.
    outbox_export_format: str | None = None

    async def export_outbox(self, limit: int) -> bytes | None:
        """The oldest ``limit`` outbox events (not removed) in :attr:`outbox_export_format`,
        for :meth:`MasterStore.import_outbox`: the syncer's fast path, which never decodes the
        events in Python. Each exported event carries its sequence number. None when this
        batch cannot be exported (the syncer then reads it with :meth:`read_outbox`)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot export its outbox")

    async def listen(self, wake_up: WakeUp) -> None:
        """Call ``wake_up`` (from the event loop) whenever new jobs may be ready. Only when
        ``capabilities.listen_notify``; otherwise workers poll."""
        raise NotImplementedError(f"{self.capabilities.name} cannot notify")


class MasterStore(_Store):
    """The source of truth: job history with every attempt, topology, schedules and logs."""

    @abc.abstractmethod
    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        """Merge agent events into the history in one transaction: every attempt they carry,
        and the snapshot of each job whose event status is final (the history holds jobs that
        left their agent; in-flight jobs are read from the agents). Idempotent: per job the
        highest version wins and attempts are keyed by (job, number), so replaying a batch, or
        applying it out of order, leaves the same state."""

    #: Outbox formats :meth:`import_outbox` accepts (see :attr:`AgentTransport.outbox_export_format`).
    outbox_import_formats: frozenset[str] = frozenset()

    async def import_outbox(self, fmt: str, data: bytes, agent_name: str) -> OutboxImport:
        """Apply a batch exported by an agent's :meth:`AgentTransport.export_outbox`, with the
        semantics of :meth:`apply_events`, in one transaction; returns the sequence numbers it
        carried (to trim) and its oldest event time (for the sync lag)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot import an outbox batch")

    @abc.abstractmethod
    async def get_attempts(self, job_id: str) -> list[Attempt]:
        """The recorded attempts of a job (also of one still in flight), by number."""

    @abc.abstractmethod
    async def get_job(self, job_id: str) -> JobInfo | None:
        """A job from the history with all its attempts, or None."""

    @abc.abstractmethod
    async def list_jobs(self, query: JobQuery) -> JobPage:
        """Jobs matching every filter of ``query``, newest first (created_at, id), keyset-paged."""

    @abc.abstractmethod
    async def find_idempotent(self, key: str) -> str | None:
        """The id of the job created with this idempotency key, if the history has one."""

    # -- held jobs (SCHEDULED on the master, promoted to an agent when due) -----------------
    # Not abstract: agents-only backends need none; every master of the conformance suite
    # implements them. get_job and list_jobs also return held jobs, as SCHEDULED.
    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        """Store jobs (each with a ``scheduled_at``) as SCHEDULED in one round trip. A job whose
        id or idempotency key is already held, or already in the history, is not stored: its
        result carries the existing id and ``created=False``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        """Take up to ``limit`` held jobs due before ``now + due_within`` (oldest first) for
        promotion, each under a new token valid for ``lease``. Concurrent promoters never get
        the same job while its token is valid; a job whose token expired is taken again and
        flagged ``retaken``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def finish_held(self, tokens: dict[str, str]) -> int:
        """Forget promoted jobs (job id -> token); only while the token is still theirs."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def release_held(self, tokens: dict[str, str]) -> int:
        """Give jobs back (job id -> token) after a failed promotion: takeable again at once."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def cancel_held(self, job_id: str) -> bool:
        """Cancel a held job that no promoter holds: it moves to the history as CANCELLED."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        """Move a held job that no promoter holds to ``when``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold jobs")

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        """Delete up to ``limit`` finished jobs (and their attempts) whose ``finished_at`` is
        older than ``now - older_than`` by the store's clock; returns how many. Only when
        ``capabilities.purge_history``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot purge its history")

    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        """Insert or refresh agent connections (``last_seen`` = now by the store's clock;
        ``first_seen`` kept). Only when ``capabilities.agent_registry``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot record agents")

    async def list_agents(self) -> list[AgentRecord]:
        """Every recorded agent connection, by name."""
        raise NotImplementedError(f"{self.capabilities.name} cannot record agents")

    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store log records in one round trip (only when ``capabilities.log_store``)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store logs")

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        """Log records matching ``query``, newest first, at most ``query.limit``. The text and
        prefix filters are matched literally (no pattern syntax)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store logs")

    @abc.abstractmethod
    async def register_worker(self, worker: WorkerRecord) -> None:
        """Insert or replace a worker in the topology."""

    @abc.abstractmethod
    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        """Record a heartbeat (backend clock) and the in-flight count of each given worker."""

    @abc.abstractmethod
    async def set_worker_status(self, worker_id: str, status: str) -> None:
        """Set a worker's status (active, stopping, stopped)."""

    @abc.abstractmethod
    async def list_workers(self) -> list[WorkerRecord]:
        """Every registered worker; ``status`` is ``dead`` when its heartbeat is too old."""

    # -- recurring schedules ----------------------------------------------------------------
    # Not abstract yet, so that backends written before schedules existed still instantiate;
    # every backend of the conformance suite implements them.
    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        """Store a new schedule with ``version`` 1 and ``created_at``, ``updated_at`` (and, for a
        static one, ``last_declared_at``) set to now. False when the id exists already: nothing
        is changed (two processes declaring one static schedule race safely)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        """A schedule by id, or None."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        """Schedules matching every filter of ``query``, ordered by id, at most ``query.limit``,
        those with an id greater than ``query.after_id``."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        """Write every field of ``record`` except ``id``, ``kind``, ``created_at`` and
        ``last_declared_at``, only if the stored version still equals ``record.version``
        (optimistic concurrency: a pause and a planner pass can never overwrite each other).
        The stored version becomes ``record.version + 1`` and ``updated_at`` now. Returns the
        stored record, or None when another writer changed it first or it does not exist."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        """Set ``last_declared_at = now`` on these static schedules (a live process still
        declares them). Does not change their version."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        """Static schedules that are ACTIVE or PAUSED and were last declared before
        ``now - older_than`` become RETIRED (version + 1). Returns their ids."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        """Record slots in one round trip; ``(schedule_id, slot_at)`` is unique, so a slot that
        exists already is left as it is. Returns, in order, True for each slot this call created.
        This is what makes a slot run at most once, whatever number of planners race."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        """Set the outcome of existing slots."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def list_slots(
        self,
        schedule_id: str,
        *,
        after: datetime | None = None,
        outcome: SlotOutcome | None = None,
        limit: int = 1000,
    ) -> list[SlotRecord]:
        """Slots of a schedule later than ``after`` (all when None), oldest first."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def delete_slots(self, schedule_id: str, slot_ats: Sequence[datetime]) -> int:
        """Forget slots whose jobs were cancelled before they ran, so they can be planned
        again (after a resume or a change of expression). Returns how many were deleted."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def trim_slots(self, before: datetime) -> int:
        """Delete slots earlier than ``before`` (no planner goes back that far)."""
        raise NotImplementedError(f"{self.capabilities.name} cannot store schedules")

    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        """Become (or stay) the holder of the lease ``name`` for ``ttl`` by the store's clock.

        Free or expired: ``owner`` takes it with a new token. Held by ``owner``: extended,
        same token. Held by someone else: None. Returns the token held."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold leader leases")

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        """Extend the lease to ``now + ttl`` if ``token`` still holds it and it has not
        expired. False means leadership is lost."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold leader leases")

    async def release_leader(self, name: str, token: str) -> bool:
        """Give the lease up (if ``token`` holds it) so another process can lead at once."""
        raise NotImplementedError(f"{self.capabilities.name} cannot hold leader leases")
