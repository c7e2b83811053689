"""Plain data of JobMaster: states, priorities, jobs, attempts and the records the roles exchange.

Nothing here talks to a database. The role contracts in :mod:`jobmaster.abc` take and return these
types, so every backend speaks one vocabulary.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DEFAULT_LANE = "default"
ALL_LANES = "*"


class JobStatus(enum.StrEnum):
    """Where a job is in its life (see docs/job-lifecycle.md for the state diagram)."""

    SCHEDULED = "scheduled"  # held on the master until shortly before it is due
    QUEUED = "queued"  # on an agent, ready (or due later within the agent horizon)
    PROCESSING = "processing"  # claimed by a worker under a lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True for the states a job never leaves."""
        return self in _FINAL_STATES


_FINAL_STATES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Priority(enum.IntEnum):
    """Job priority: higher runs first; equal priorities run oldest first."""

    VERY_LOW = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5


class AttemptOutcome(enum.StrEnum):
    """How one attempt of a job ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"  # the lease was lost or the worker died
    CANCELLED = "cancelled"


class TriggerSource(enum.StrEnum):
    """What created a job."""

    ONCE = "once"
    STATIC_RECURRING = "static_recurring"
    DYNAMIC_RECURRING = "dynamic_recurring"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry *n* (1-based): ``initial * factor**(n-1)``, capped at ``maximum``.

    ``jitter`` is the fraction of the delay that is randomised (0.2 = +/-20 %), so that jobs failing
    together do not retry together.
    """

    initial: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    maximum: timedelta = timedelta(minutes=10)
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial < timedelta(0):
            raise ValueError(f"Backoff.initial must not be negative, got {self.initial}")
        if self.maximum < self.initial:
            raise ValueError(
                f"Backoff.maximum ({self.maximum}) must not be below Backoff.initial ({self.initial})"
            )
        if self.factor < 1.0:
            raise ValueError(f"Backoff.factor must be >= 1.0, got {self.factor}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Backoff.jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, retry_number: int, rng: random.Random | None = None) -> timedelta:
        """The delay before retry ``retry_number`` (1 = the first retry), jitter applied."""
        base = self.initial.total_seconds() * self.factor ** max(0, retry_number - 1)
        base = min(base, self.maximum.total_seconds())
        if self.jitter:
            spread = base * self.jitter
            base += (rng or random).uniform(-spread, spread)
        return timedelta(seconds=max(0.0, base))

    def to_json(self) -> dict[str, float]:
        """A JSON-able form, stored with each job."""
        return {
            "initial": self.initial.total_seconds(),
            "factor": self.factor,
            "maximum": self.maximum.total_seconds(),
            "jitter": self.jitter,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Backoff:
        """Inverse of :meth:`to_json`."""
        return cls(
            initial=timedelta(seconds=float(data["initial"])),
            factor=float(data["factor"]),
            maximum=timedelta(seconds=float(data["maximum"])),
            jitter=float(data["jitter"]),
        )


@dataclass(slots=True)
class NewJob:
    """A job about to be enqueued: everything resolved (handler defaults, overrides, encoding).

    ``scheduled_at`` is None for "as soon as possible"; the backend then uses its own clock.
    ``msg_data`` and ``metadata`` are already-encoded JSON text.
    """

    id: str
    definition_id: str
    lane: str
    priority: int
    scheduled_at: datetime | None
    msg_data: str
    metadata: str
    max_retries: int
    timeout_ms: int
    backoff: str  # JSON of Backoff.to_json()
    idempotency_key: str | None = None
    schedule_id: str | None = None
    trigger: TriggerSource = TriggerSource.ONCE


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """Outcome of enqueuing one job: ``created`` is False when an idempotency key matched."""

    id: str
    created: bool


@dataclass(slots=True)
class ClaimedJob:
    """A job a worker holds under a lease. ``attempt`` was incremented by the claim (1-based)."""

    id: str
    definition_id: str
    lane: str
    priority: int
    scheduled_at: datetime
    created_at: datetime
    msg_data: str
    metadata: str
    attempt: int
    max_retries: int
    timeout_ms: int
    backoff: str
    lease_token: str
    lease_expires_at: datetime
    schedule_id: str | None = None
    trigger: TriggerSource = TriggerSource.ONCE


@dataclass(frozen=True, slots=True)
class LeaseRef:
    """Identifies one lease: the job and the token its claim returned."""

    job_id: str
    lease_token: str


@dataclass(slots=True)
class AttemptResult:
    """What a worker reports when an attempt ends.

    ``retry_delay`` is set when the job must be retried: it goes back to the queue, due after the
    delay (computed by the backend's clock). Otherwise a failed outcome is final.
    """

    job_id: str
    lease_token: str
    outcome: AttemptOutcome
    worker_id: str
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    traceback: str | None = None
    retry_delay: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One recorded attempt of a job."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    worker_id: str | None
    outcome: AttemptOutcome
    error: str | None = None
    traceback: str | None = None


@dataclass(slots=True)
class JobInfo:
    """Everything known about one job, wherever it is (agent or master)."""

    id: str
    status: JobStatus
    definition_id: str
    lane: str
    priority: int
    scheduled_at: datetime
    created_at: datetime
    msg_data: Any  # MessageData (typed as Any to keep this module free of the codec)
    metadata: Any  # Metadata
    attempts: list[Attempt] = field(default_factory=list)
    attempt_count: int = 0
    max_retries: int = 0
    last_error: str | None = None
    schedule_id: str | None = None
    agent: str | None = None
    trigger: TriggerSource = TriggerSource.ONCE
    idempotency_key: str | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class JobQuery:
    """Filters of :meth:`JobMaster.list_jobs`. Paging is keyset: pass the previous page's cursor."""

    status: JobStatus | None = None
    definition_id: str | None = None
    lane: str | None = None
    schedule_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(slots=True)
class JobPage:
    """One page of jobs, newest first, and the cursor of the next page (None at the end)."""

    items: list[JobInfo]
    next_cursor: str | None


class CancelOutcome(enum.StrEnum):
    """Result of a cancel request at the transport level."""

    CANCELLED = "cancelled"  # it was waiting and is now cancelled
    REQUESTED = "requested"  # it is running; the handler was signalled cooperatively
    NOT_FOUND = "not_found"  # not here (or already final)


@dataclass(slots=True)
class JobEvent:
    """One state change of a job, carried from an agent's outbox to the master.

    Each event is a full snapshot of the job at ``version`` (versions grow with every change), plus
    the attempt it records, if any. The master keeps the highest version, so replaying events is
    harmless and their order within a batch does not matter.
    """

    seq: int
    job_id: str
    version: int
    status: JobStatus
    definition_id: str
    lane: str
    priority: int
    scheduled_at: datetime
    created_at: datetime
    msg_data: str
    metadata: str
    attempt_count: int
    max_retries: int
    timeout_ms: int
    idempotency_key: str | None
    schedule_id: str | None
    trigger: TriggerSource
    last_error: str | None
    finished_at: datetime | None
    agent: str
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True)
class RescueResult:
    """What one rescue pass did with expired leases."""

    requeued: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A worker as registered in the topology on the master."""

    id: str
    name: str
    host: str
    pid: int
    agent: str
    lanes: tuple[str, ...]
    concurrency: int
    started_at: datetime
    last_heartbeat: datetime
    status: str  # active | stopping | stopped | dead
    in_flight: int = 0


@dataclass(slots=True)
class HeldJob:
    """A job held on the master (SCHEDULED) and taken by a promoter under ``token``.

    ``retaken`` is True when an earlier promoter took it and its promotion lease expired: that
    promoter may have delivered it already, so the job must be looked for before delivering it.
    """

    job: NewJob
    scheduled_at: datetime
    created_at: datetime
    token: str
    retaken: bool = False


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A log record of a JobMaster process, kept on the master (``level``: 10 debug ... 50
    critical; ``logger``: the logger name, e.g. ``jobmaster.worker``, used as the subject)."""

    at: datetime
    level: int
    logger: str
    message: str
    host: str
    pid: int


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Filters of a log search: minimum level, logger-name prefix, time range, text."""

    min_level: int = 0
    logger_prefix: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent connection as recorded in the topology on the master (``location`` has no
    credentials; ``last_seen`` is refreshed by the processes that reach it)."""

    name: str
    kind: str
    location: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
