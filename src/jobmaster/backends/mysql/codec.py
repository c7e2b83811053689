"""Conversions between MySQL rows (naive UTC DATETIME(6), TINYINT booleans) and model types."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ...model import (
    Attempt,
    AttemptOutcome,
    ClaimedJob,
    JobEvent,
    JobInfo,
    JobPage,
    JobStatus,
    TriggerSource,
)

Row = Mapping[str, Any]

#: Statements carrying a JSON batch are cut below this size (max_allowed_packet is 16 MiB by
#: default on MariaDB, 64 MiB on MySQL 8).
MAX_BATCH_BYTES = 4 * 1024 * 1024


def aware(value: datetime) -> datetime:
    """A DATETIME read from the server (naive, UTC) as an aware datetime."""
    return value.replace(tzinfo=UTC)


def opt_aware(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def db_time(value: datetime | None) -> datetime | None:
    """An aware datetime as the naive UTC value MySQL stores (the driver drops tzinfo)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def json_time(value: datetime | None) -> str | None:
    naive = db_time(value)
    return None if naive is None else naive.isoformat(sep=" ", timespec="microseconds")


def json_batches(items: Iterable[dict[str, Any]]) -> list[str]:
    """JSON arrays for JSON_TABLE, each under MAX_BATCH_BYTES. Keys whose value is None are left
    out (a missing path reads as NULL on every server; JSON null did not, on some versions)."""
    batches: list[str] = []
    current: list[str] = []
    size = 0
    for item in items:
        text = json.dumps({k: v for k, v in item.items() if v is not None}, ensure_ascii=False)
        if current and size + len(text) > MAX_BATCH_BYTES:
            batches.append("[" + ",".join(current) + "]")
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current:
        batches.append("[" + ",".join(current) + "]")
    return batches


def claimed_from(row: Row, token: str, expires: datetime, attempt: int) -> ClaimedJob:
    return ClaimedJob(
        id=row["id"], definition_id=row["definition_id"], lane=row["lane"],
        priority=row["priority"], scheduled_at=aware(row["scheduled_at"]),
        created_at=aware(row["created_at"]), msg_data=row["msg_data"], metadata=row["metadata"],
        attempt=attempt, max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        backoff=row["backoff"], lease_token=token, lease_expires_at=aware(expires),
        schedule_id=row["schedule_id"], trigger=TriggerSource(row["trigger_source"]),
    )


def attempt_from(row: Row, prefix: str = "a_") -> Attempt | None:
    """The attempt columns of an outbox row (``a_*``) or of an attempt row (prefix ``""``)."""
    number = row[f"{prefix}number"]
    if number is None:
        return None
    worker = row["a_worker"] if prefix else row["worker_id"]
    return Attempt(
        number=number, started_at=aware(row[f"{prefix}started_at"]),
        finished_at=opt_aware(row[f"{prefix}finished_at"]), worker_id=worker,
        outcome=AttemptOutcome(row[f"{prefix}outcome"]), error=row[f"{prefix}error"],
        traceback=row[f"{prefix}traceback"],
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
        attempt=attempt_from(row) if outbox else None,
    )


def event_json(event: JobEvent) -> dict[str, Any]:
    """The master upsert fields of one event (JSON_TABLE columns of ``apply_jobs``)."""
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
    """The fields of ``apply_attempts`` for the attempt an event records."""
    return {
        "job_id": event.job_id, "number": attempt.number, "version": event.version,
        "started_at": json_time(attempt.started_at),
        "finished_at": json_time(attempt.finished_at), "worker_id": attempt.worker_id,
        "outcome": attempt.outcome.value, "error": attempt.error, "traceback": attempt.traceback,
    }


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
