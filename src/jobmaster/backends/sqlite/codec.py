"""Conversions between SQLite rows (REAL epoch seconds, TEXT enums) and the model's types."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import (
    Attempt,
    AttemptOutcome,
    ClaimedJob,
    JobEvent,
    JobInfo,
    JobQuery,
    JobStatus,
    NewJob,
    TriggerSource,
)
from .._common import decode_bag, decode_cursor

Row = dict[str, Any]

_NO_ATTEMPT: Row = {
    "a_number": None, "a_started_at": None, "a_finished_at": None, "a_worker_id": None,
    "a_outcome": None, "a_error": None, "a_traceback": None,
}


def now_ts() -> float:
    """The backend clock as epoch seconds, on the microsecond grid (round-trips exactly)."""
    return round(time.time(), 6)


def ts(value: datetime) -> float:
    return round(value.timestamp(), 6)


def later(base: float, delta: timedelta) -> float:
    return round(base + delta.total_seconds(), 6)


def dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def opt_dt(value: float | None) -> datetime | None:
    return None if value is None else dt(value)


def new_row(job: NewJob, now: float) -> Row:
    return {
        "id": job.id, "definition_id": job.definition_id, "lane": job.lane,
        "priority": job.priority,
        "scheduled_at": now if job.scheduled_at is None else ts(job.scheduled_at),
        "created_at": now, "msg_data": job.msg_data, "metadata": job.metadata,
        "max_retries": job.max_retries, "timeout_ms": job.timeout_ms, "backoff": job.backoff,
        "idempotency_key": job.idempotency_key or None, "schedule_id": job.schedule_id,
        "trigger_source": job.trigger.value, "status": JobStatus.QUEUED.value, "attempt": 0,
        "version": 1, "lease_owner": None, "lease_token": None, "lease_expires_at": None,
        "started_at": None, "cancel_requested": 0, "last_error": None,
    }


def attempt_row(number: int, started_at: float, finished_at: float | None,
                worker_id: str | None, outcome: AttemptOutcome, error: str | None = None,
                traceback: str | None = None) -> Row:
    return {
        "a_number": number, "a_started_at": started_at, "a_finished_at": finished_at,
        "a_worker_id": worker_id, "a_outcome": outcome.value, "a_error": error,
        "a_traceback": traceback,
    }


def job_event(row: Mapping[str, Any], status: JobStatus, agent: str, *,
              attempt: Row | None = None, finished_at: float | None = None) -> Row:
    """Outbox parameters: a snapshot of an agent row plus the attempt it records."""
    return {
        "job_id": row["id"], "version": row["version"], "status": status.value,
        "definition_id": row["definition_id"], "lane": row["lane"], "priority": row["priority"],
        "scheduled_at": row["scheduled_at"], "created_at": row["created_at"],
        "msg_data": row["msg_data"], "metadata": row["metadata"],
        "attempt_count": row["attempt"], "max_retries": row["max_retries"],
        "timeout_ms": row["timeout_ms"], "idempotency_key": row["idempotency_key"],
        "schedule_id": row["schedule_id"], "trigger_source": row["trigger_source"],
        "last_error": row["last_error"], "finished_at": finished_at, "agent": agent,
        **(attempt or _NO_ATTEMPT),
    }


def event_params(event: JobEvent) -> Row:
    """Master upsert parameters of one event (same keys as :func:`job_event`)."""
    attempt = event.attempt
    return {
        "job_id": event.job_id, "version": event.version, "status": event.status.value,
        "definition_id": event.definition_id, "lane": event.lane, "priority": event.priority,
        "scheduled_at": ts(event.scheduled_at), "created_at": ts(event.created_at),
        "msg_data": event.msg_data, "metadata": event.metadata,
        "attempt_count": event.attempt_count, "max_retries": event.max_retries,
        "timeout_ms": event.timeout_ms, "idempotency_key": event.idempotency_key,
        "schedule_id": event.schedule_id, "trigger_source": event.trigger.value,
        "last_error": event.last_error,
        "finished_at": None if event.finished_at is None else ts(event.finished_at),
        "agent": event.agent,
        **(_NO_ATTEMPT if attempt is None else attempt_row(
            attempt.number, ts(attempt.started_at),
            None if attempt.finished_at is None else ts(attempt.finished_at),
            attempt.worker_id, attempt.outcome, attempt.error, attempt.traceback)),
    }


def attempt_from(row: Mapping[str, Any]) -> Attempt | None:
    if row["a_number"] is None:
        return None
    return Attempt(
        number=row["a_number"], started_at=dt(row["a_started_at"]),
        finished_at=opt_dt(row["a_finished_at"]), worker_id=row["a_worker_id"],
        outcome=AttemptOutcome(row["a_outcome"]), error=row["a_error"],
        traceback=row["a_traceback"],
    )


def event_from(row: Mapping[str, Any], *, with_attempt: bool = True) -> JobEvent:
    """A JobEvent from an outbox row, or from a master job row (seq 0, no attempt)."""
    return JobEvent(
        seq=row["seq"] if with_attempt else 0, job_id=row["job_id"], version=row["version"],
        status=JobStatus(row["status"]), definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=dt(row["scheduled_at"]),
        created_at=dt(row["created_at"]), msg_data=row["msg_data"], metadata=row["metadata"],
        attempt_count=row["attempt_count"], max_retries=row["max_retries"],
        timeout_ms=row["timeout_ms"], idempotency_key=row["idempotency_key"],
        schedule_id=row["schedule_id"], trigger=TriggerSource(row["trigger_source"]),
        last_error=row["last_error"], finished_at=opt_dt(row["finished_at"]), agent=row["agent"],
        attempt=attempt_from(row) if with_attempt else None,
    )


def claimed_from(row: Mapping[str, Any]) -> ClaimedJob:
    return ClaimedJob(
        id=row["id"], definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=dt(row["scheduled_at"]),
        created_at=dt(row["created_at"]), msg_data=row["msg_data"], metadata=row["metadata"],
        attempt=row["attempt"], max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        backoff=row["backoff"], lease_token=row["lease_token"],
        lease_expires_at=dt(row["lease_expires_at"]), schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]),
    )


def live_info(row: Mapping[str, Any], agent: str) -> JobInfo:
    from ...messages import MessageData, Metadata

    status = JobStatus(row["status"])
    attempts = []
    if status is JobStatus.PROCESSING and row["started_at"] is not None:
        attempts.append(Attempt(row["attempt"], dt(row["started_at"]), None, row["lease_owner"],
                                AttemptOutcome.RUNNING))
    return JobInfo(
        id=row["id"], status=status, definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=dt(row["scheduled_at"]),
        created_at=dt(row["created_at"]), msg_data=decode_bag(MessageData, row["msg_data"]),
        metadata=decode_bag(Metadata, row["metadata"]), attempts=attempts,
        attempt_count=row["attempt"], max_retries=row["max_retries"],
        last_error=row["last_error"], schedule_id=row["schedule_id"], agent=agent,
        trigger=TriggerSource(row["trigger_source"]),
        idempotency_key=row["idempotency_key"], cancel_requested=bool(row["cancel_requested"]),
    )


#: JobQuery attribute -> condition; values are always bound as parameters.
_FILTERS = (
    ("status", "status = ?"),
    ("definition_id", "definition_id = ?"),
    ("lane", "lane = ?"),
    ("schedule_id", "schedule_id = ?"),
    ("created_from", "created_at >= ?"),
    ("created_to", "created_at < ?"),
)


def filtered_query(template: str, query: JobQuery) -> tuple[str, list[Any]]:
    """Fill the ``{where}`` slot of a list query with the filters and cursor of ``query``."""
    clauses: list[str] = []
    params: list[Any] = []
    for attr, clause in _FILTERS:
        value = getattr(query, attr)
        if value is not None:
            clauses.append(clause)
            if isinstance(value, datetime):
                value = ts(value)
            params.append(value.value if isinstance(value, JobStatus) else value)
    if query.cursor:
        created, job_id = decode_cursor(query.cursor)
        clauses.append("created_at <= ? AND (created_at < ? OR id < ?)")
        params.extend((ts(created), ts(created), job_id))
    params.append(query.limit + 1)
    return template.replace("{where}", " AND ".join(clauses) or "1 = 1"), params
