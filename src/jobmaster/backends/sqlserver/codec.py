"""Conversions between SQL Server rows (naive UTC DATETIME2, BIT) and the model's types, and the
JSON documents that OPENJSON reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import (
    Attempt,
    AttemptOutcome,
    AttemptResult,
    ClaimedJob,
    JobEvent,
    JobInfo,
    JobPage,
    JobStatus,
    NewJob,
    TriggerSource,
)

Row = Mapping[str, Any]


def aware(value: datetime) -> datetime:
    """A DATETIME2 read from the server (naive, UTC) as an aware datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def opt_aware(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def db_time(value: datetime | None) -> datetime | None:
    """An aware datetime as a naive UTC DATETIME2 parameter (an aware one would be sent as
    DATETIMEOFFSET and lose its offset when compared with DATETIME2 columns)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def json_time(value: datetime | None) -> str | None:
    naive = db_time(value)
    return None if naive is None else naive.isoformat(timespec="microseconds")


def to_json(items: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array for OPENJSON; None values are left out (missing paths read as NULL)."""
    return json.dumps([{k: v for k, v in item.items() if v is not None} for item in items],
                      ensure_ascii=False)


def split_delta(delta: timedelta) -> tuple[int, int]:
    """Whole seconds and remaining microseconds (DATEADD takes an INT per part)."""
    micros = round(delta.total_seconds() * 1_000_000)
    return micros // 1_000_000, micros % 1_000_000


def job_json(job: NewJob) -> dict[str, Any]:
    return {
        "id": job.id, "definition_id": job.definition_id, "lane": job.lane,
        "priority": job.priority, "scheduled_at": json_time(job.scheduled_at),
        "msg_data": job.msg_data, "metadata": job.metadata, "max_retries": job.max_retries,
        "timeout_ms": job.timeout_ms, "backoff": job.backoff,
        "idempotency_key": job.idempotency_key or None, "schedule_id": job.schedule_id,
        "trigger": job.trigger.value,
    }


def result_json(result: AttemptResult) -> dict[str, Any]:
    retry_s, retry_us = split_delta(result.retry_delay) if result.retry_delay else (None, None)
    return {
        "id": result.job_id, "token": result.lease_token, "outcome": result.outcome.value,
        "worker": result.worker_id, "started": json_time(result.started_at),
        "finished": json_time(result.finished_at), "error": result.error,
        "traceback": result.traceback, "retry_s": retry_s, "retry_us": retry_us,
    }


def event_json(event: JobEvent) -> dict[str, Any]:
    return {
        "id": event.job_id, "version": event.version, "status": event.status.value,
        "definition_id": event.definition_id, "lane": event.lane, "priority": event.priority,
        "scheduled_at": json_time(event.scheduled_at), "created_at": json_time(event.created_at),
        "msg_data": event.msg_data, "metadata": event.metadata,
        "attempt_count": event.attempt_count, "max_retries": event.max_retries,
        "timeout_ms": event.timeout_ms, "idempotency_key": event.idempotency_key,
        "schedule_id": event.schedule_id, "trigger": event.trigger.value,
        "last_error": event.last_error, "finished_at": json_time(event.finished_at),
        "agent": event.agent,
    }


def attempt_json(event: JobEvent, attempt: Attempt) -> dict[str, Any]:
    return {
        "job_id": event.job_id, "number": attempt.number, "version": event.version,
        "started_at": json_time(attempt.started_at),
        "finished_at": json_time(attempt.finished_at), "worker_id": attempt.worker_id,
        "outcome": attempt.outcome.value, "error": attempt.error, "traceback": attempt.traceback,
    }


def newest(events: Sequence[JobEvent]) -> tuple[list[JobEvent], list[JobEvent]]:
    """Per job the newest final snapshot (the history holds jobs that left their agent) and per
    (job, attempt) the newest attempt, sorted by key: MERGE refuses a source that touches one
    row twice, and one lock order avoids deadlocks."""
    jobs: dict[str, JobEvent] = {}
    attempts: dict[tuple[str, int], JobEvent] = {}
    for event in events:
        known = jobs.get(event.job_id)
        if event.status.is_final and (known is None or known.version < event.version):
            jobs[event.job_id] = event
        if event.attempt is not None:
            key = (event.job_id, event.attempt.number)
            if key not in attempts or attempts[key].version < event.version:
                attempts[key] = event
    return [jobs[k] for k in sorted(jobs)], [attempts[k] for k in sorted(attempts)]


def claimed_from(row: Row) -> ClaimedJob:
    return ClaimedJob(
        id=row["id"], definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=aware(row["scheduled_at"]),
        created_at=aware(row["created_at"]), msg_data=row["msg_data"], metadata=row["metadata"],
        attempt=row["attempt"], max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        backoff=row["backoff"], lease_token=row["lease_token"],
        lease_expires_at=aware(row["lease_expires_at"]), schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]),
    )


def attempt_from(row: Row) -> Attempt:
    return Attempt(
        number=row["number"], started_at=aware(row["started_at"]),
        finished_at=opt_aware(row["finished_at"]), worker_id=row["worker_id"],
        outcome=AttemptOutcome(row["outcome"]), error=row["error"], traceback=row["traceback"],
    )


def event_from(row: Row, agent: str | None = None) -> JobEvent:
    """A JobEvent from an outbox row (``agent`` given) or a master job row (seq 0, no attempt)."""
    attempt = None
    if agent is not None and row["a_number"] is not None:
        attempt = Attempt(row["a_number"], aware(row["a_started_at"]),
                          opt_aware(row["a_finished_at"]), row["a_worker"],
                          AttemptOutcome(row["a_outcome"]), row["a_error"], row["a_traceback"])
    return JobEvent(
        seq=row["seq"] if agent is not None else 0,
        job_id=row["job_id"] if agent is not None else row["id"],
        version=row["version"], status=JobStatus(row["status"]),
        definition_id=row["definition_id"], lane=row["lane"], priority=row["priority"],
        scheduled_at=aware(row["scheduled_at"]), created_at=aware(row["created_at"]),
        msg_data=row["msg_data"], metadata=row["metadata"], attempt_count=row["attempt_count"],
        max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        idempotency_key=row["idempotency_key"], schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]), last_error=row["last_error"],
        finished_at=opt_aware(row["finished_at"]),
        agent=row["agent"] if agent is None else agent, attempt=attempt,
    )


def live_info(row: Row, agent: str) -> JobInfo:
    from ...messages import MessageData, Metadata

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


def query_params(query: Any) -> dict[str, Any]:
    """The named parameters of ``list_jobs`` / ``list_live_jobs`` for a JobQuery."""
    from .._common import decode_cursor

    after_created, after_id = decode_cursor(query.cursor) if query.cursor else (None, None)
    return {
        "status": query.status.value if query.status else None,
        "definition_id": query.definition_id, "lane": query.lane,
        "schedule_id": query.schedule_id, "created_from": db_time(query.created_from),
        "created_to": db_time(query.created_to), "after_created": db_time(after_created),
        "after_id": after_id, "limit": query.limit + 1,
    }


def page(infos: list[JobInfo], limit: int) -> JobPage:
    """A page from ``limit + 1`` rows fetched newest first (the extra row says more exist)."""
    from .._common import encode_cursor

    items = infos[:limit]
    more = len(infos) > limit and items
    return JobPage(items, encode_cursor(items[-1].created_at, items[-1].id) if more else None)
