"""Conversions between rows of the SQL dialects that store naive UTC times and model types.

Rows come from the agent tables (``agent_job``, ``agent_outbox`` with its ``a_*`` attempt
columns) and the master tables (``job``, ``attempt``, ``worker``); the JSON documents go the
other way, into the set-based statements of each dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...messages import MessageData, Metadata
from ...model import (
    Attempt,
    AttemptOutcome,
    ClaimedJob,
    HeldJob,
    JobEvent,
    JobInfo,
    JobQuery,
    JobStatus,
    NewJob,
    TriggerSource,
    WorkerRecord,
)
from ...recurring.records import (
    Misfire,
    ScheduleKind,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
)
from .._common import decode_cursor

Row = Mapping[str, Any]

#: The error recorded on an attempt whose lease expired before its worker reported back.
LEASE_LOST = "lease expired: worker lost"


def aware(value: datetime) -> datetime:
    """A time read from the server (naive, UTC) as an aware datetime."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def opt_aware(value: datetime | None) -> datetime | None:
    """:func:`aware` for a nullable column."""
    return None if value is None else aware(value)


def db_time(value: datetime | None) -> datetime | None:
    """An aware datetime as the naive UTC parameter the server stores (drivers would drop or
    mistranslate the offset)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True, slots=True)
class JsonDocuments:
    """Builders of the JSON objects a dialect's set-based statements read, one per row.

    ``time_separator`` is what the dialect's JSON-to-datetime conversion expects between the
    date and the time (``" "`` for MySQL's ``JSON_TABLE``, ``"T"`` for SQL Server's ISO 8601).
    """

    time_separator: str

    def time(self, value: datetime | None) -> str | None:
        """A datetime as naive UTC text with microseconds."""
        if value is not None and value.tzinfo is UTC:  # the usual case, without a copy
            return value.isoformat(sep=self.time_separator, timespec="microseconds")[:26]
        naive = db_time(value)
        if naive is None:
            return None
        return naive.isoformat(sep=self.time_separator, timespec="microseconds")

    def job(self, job: NewJob) -> dict[str, Any]:
        """The columns of one enqueued job."""
        return {
            "id": job.id, "definition_id": job.definition_id, "lane": job.lane,
            "priority": job.priority, "scheduled_at": self.time(job.scheduled_at),
            "msg_data": job.msg_data, "metadata": job.metadata, "max_retries": job.max_retries,
            "timeout_ms": job.timeout_ms, "backoff": job.backoff,
            "idempotency_key": job.idempotency_key or None, "schedule_id": job.schedule_id,
            "trigger": job.trigger.value,
        }

    def event(self, event: JobEvent) -> dict[str, Any]:
        """The master upsert fields of one event (the ``apply_jobs`` columns)."""
        return {
            "id": event.job_id, "version": event.version, "status": event.status.value,
            "definition_id": event.definition_id, "lane": event.lane, "priority": event.priority,
            "scheduled_at": self.time(event.scheduled_at),
            "created_at": self.time(event.created_at),
            "msg_data": event.msg_data, "metadata": event.metadata,
            "attempt_count": event.attempt_count, "max_retries": event.max_retries,
            "timeout_ms": event.timeout_ms, "idempotency_key": event.idempotency_key,
            "schedule_id": event.schedule_id, "trigger": event.trigger.value,
            "last_error": event.last_error, "finished_at": self.time(event.finished_at),
            "agent": event.agent,
        }

    def attempt(self, event: JobEvent, attempt: Attempt) -> dict[str, Any]:
        """The fields of ``apply_attempts`` for the attempt an event records."""
        return {
            "job_id": event.job_id, "number": attempt.number, "version": event.version,
            "started_at": self.time(attempt.started_at),
            "finished_at": self.time(attempt.finished_at), "worker_id": attempt.worker_id,
            "outcome": attempt.outcome.value, "error": attempt.error,
            "traceback": attempt.traceback,
        }


def claimed_from(row: Row, *, attempt: int, lease_token: str,
                 lease_expires_at: datetime) -> ClaimedJob:
    """A claimed job from an ``agent_job`` row and the lease it was given."""
    return ClaimedJob(
        id=row["id"], definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=aware(row["scheduled_at"]),
        created_at=aware(row["created_at"]), msg_data=row["msg_data"], metadata=row["metadata"],
        attempt=attempt, max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        backoff=row["backoff"], lease_token=lease_token,
        lease_expires_at=aware(lease_expires_at), schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]),
    )


def attempt_from(row: Row) -> Attempt:
    """An attempt from a master ``attempt`` row."""
    return Attempt(
        number=row["number"], started_at=aware(row["started_at"]),
        finished_at=opt_aware(row["finished_at"]), worker_id=row["worker_id"],
        outcome=AttemptOutcome(row["outcome"]), error=row["error"], traceback=row["traceback"],
    )


def outbox_attempt(row: Row) -> Attempt | None:
    """The attempt an outbox row records in its ``a_*`` columns (None when it has none)."""
    if row["a_number"] is None:
        return None
    return Attempt(
        number=row["a_number"], started_at=aware(row["a_started_at"]),
        finished_at=opt_aware(row["a_finished_at"]), worker_id=row["a_worker"],
        outcome=AttemptOutcome(row["a_outcome"]), error=row["a_error"],
        traceback=row["a_traceback"],
    )


def event_from(row: Row, agent: str | None = None) -> JobEvent:
    """A JobEvent from an outbox row (``agent`` given) or a master job row (seq 0, no attempt)."""
    outbox = agent is not None
    return JobEvent(
        seq=row["seq"] if outbox else 0, job_id=row["job_id"] if outbox else row["id"],
        version=row["version"], status=JobStatus(row["status"]),
        definition_id=row["definition_id"], lane=row["lane"], priority=row["priority"],
        scheduled_at=aware(row["scheduled_at"]), created_at=aware(row["created_at"]),
        msg_data=row["msg_data"], metadata=row["metadata"], attempt_count=row["attempt_count"],
        max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        idempotency_key=row["idempotency_key"], schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]), last_error=row["last_error"],
        finished_at=opt_aware(row["finished_at"]), agent=row["agent"] if agent is None else agent,
        attempt=outbox_attempt(row) if outbox else None,
    )


def live_info(row: Row, agent: str) -> JobInfo:
    """A JobInfo from an ``agent_job`` row (a running job shows its current attempt)."""
    status = JobStatus(row["status"])
    attempts = []
    if status is JobStatus.PROCESSING and row["started_at"] is not None:
        attempts.append(Attempt(row["attempt"], aware(row["started_at"]), None,
                                row["lease_owner"], AttemptOutcome.RUNNING))
    return JobInfo(
        id=row["id"], status=status, definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=aware(row["scheduled_at"]),
        created_at=aware(row["created_at"]), msg_data=MessageData.decode(row["msg_data"]),
        metadata=Metadata.decode(row["metadata"]), attempts=attempts,
        attempt_count=row["attempt"], max_retries=row["max_retries"],
        last_error=row["last_error"], schedule_id=row["schedule_id"], agent=agent,
        trigger=TriggerSource(row["trigger_source"]), idempotency_key=row["idempotency_key"],
        cancel_requested=bool(row["cancel_requested"]),
    )


def worker_from(row: Row) -> WorkerRecord:
    """A worker from a master ``worker`` row."""
    return WorkerRecord(
        id=row["id"], name=row["name"], host=row["host"], pid=row["pid"], agent=row["agent"],
        lanes=tuple(json.loads(row["lanes"])), concurrency=row["concurrency"],
        started_at=aware(row["started_at"]), last_heartbeat=aware(row["last_heartbeat"]),
        status=row["status"], in_flight=row["in_flight"],
    )


def worker_params(worker: WorkerRecord) -> dict[str, Any]:
    """The named parameters of ``register_worker``."""
    return {
        "id": worker.id, "name": worker.name, "host": worker.host, "pid": worker.pid,
        "agent": worker.agent, "lanes": json.dumps(list(worker.lanes)),
        "concurrency": worker.concurrency, "started_at": db_time(worker.started_at),
        "status": worker.status,
    }


def query_params(query: JobQuery) -> dict[str, Any]:
    """The named parameters of ``list_jobs`` / ``list_live_jobs`` for a JobQuery."""
    after_created, after_id = decode_cursor(query.cursor) if query.cursor else (None, None)
    return {
        "status": query.status.value if query.status else None,
        "definition_id": query.definition_id, "lane": query.lane,
        "schedule_id": query.schedule_id, "created_from": db_time(query.created_from),
        "created_to": db_time(query.created_to), "after_created": db_time(after_created),
        "after_id": after_id, "limit": query.limit + 1,
    }


def held_from(row: Any, token: str, *, retaken: bool,
              when: Callable[[Any], datetime] = aware) -> HeldJob:
    """A held job a promoter took (with ``token``) from a ``{p}held_job`` row; ``when`` reads a
    time column (the default: naive UTC or aware datetimes). ``retaken``: an earlier
    promoter's take of it expired (each dialect counts takes at its own moment)."""
    scheduled_at = when(row["scheduled_at"])
    job = NewJob(
        id=row["id"], definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=scheduled_at, msg_data=row["msg_data"],
        metadata=row["metadata"], max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        backoff=row["backoff"], idempotency_key=row["idempotency_key"],
        schedule_id=row["schedule_id"], trigger=TriggerSource(row["trigger_source"]),
    )
    return HeldJob(job, scheduled_at, when(row["created_at"]), token, retaken=retaken)


def slot_from(row: Row) -> SlotRecord:
    """A slot from a ``{p}schedule_slot`` row (naive UTC or aware times)."""
    return SlotRecord(row["schedule_id"], aware(row["slot_at"]), row["job_id"],
                      SlotOutcome(row["outcome"]), aware(row["created_at"]))


def schedule_from(row: Any, when: Callable[[Any], datetime | None] = opt_aware
                  ) -> ScheduleRecord:
    """A record from a ``{p}schedule`` row; ``when`` reads a nullable time column (the
    default: naive UTC or aware datetimes)."""
    return ScheduleRecord(
        id=row["id"], kind=ScheduleKind(row["kind"]), definition_id=row["definition_id"],
        expression_kind=row["expression_kind"], expression_text=row["expression_text"],
        expression_tz=row["expression_tz"], msg_data=row["msg_data"], metadata=row["metadata"],
        lane=row["lane"], priority=row["priority"], max_retries=row["max_retries"],
        timeout_ms=row["timeout_ms"], backoff=row["backoff"],
        status=ScheduleStatus(row["status"]), misfire=Misfire(row["misfire"]),
        catch_up_limit=row["catch_up_limit"], allow_overlap=bool(row["allow_overlap"]),
        start_after=when(row["start_after"]), end_before=when(row["end_before"]),
        static_key=row["static_key"], profile_id=row["profile_id"],
        next_run_at=when(row["next_run_at"]), planned_until=when(row["planned_until"]),
        last_job_id=row["last_job_id"], missed_count=row["missed_count"],
        skipped_count=row["skipped_count"], generation=row["generation"],
        created_at=when(row["created_at"]), updated_at=when(row["updated_at"]),
        last_declared_at=when(row["last_declared_at"]), version=row["version"],
    )


def schedule_params(r: ScheduleRecord, when: Callable[[datetime | None], Any] = db_time
                    ) -> dict[str, Any]:
    """The named parameters of ``insert_schedule`` and ``update_schedule`` (with ``version``);
    ``when`` writes a nullable time (the default: naive UTC datetimes)."""
    return {
        "id": r.id, "kind": r.kind.value, "static_key": r.static_key,
        "profile_id": r.profile_id, "definition_id": r.definition_id,
        "expression_kind": r.expression_kind, "expression_text": r.expression_text,
        "expression_tz": r.expression_tz, "msg_data": r.msg_data, "metadata": r.metadata,
        "lane": r.lane, "priority": r.priority, "max_retries": r.max_retries,
        "timeout_ms": r.timeout_ms, "backoff": r.backoff, "status": r.status.value,
        "misfire": r.misfire.value, "catch_up_limit": r.catch_up_limit,
        "allow_overlap": bool(r.allow_overlap), "start_after": when(r.start_after),
        "end_before": when(r.end_before), "next_run_at": when(r.next_run_at),
        "planned_until": when(r.planned_until), "last_job_id": r.last_job_id,
        "missed_count": r.missed_count, "skipped_count": r.skipped_count,
        "generation": r.generation, "version": r.version,
    }
