"""Small pieces every backend shares: cursors, status mapping, JobInfo assembly."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ..model import Attempt, AttemptOutcome, JobEvent, JobInfo, JobStatus

#: A worker whose last heartbeat is older than this is reported as dead.
DEAD_AFTER = timedelta(seconds=30)

_FINAL_BY_OUTCOME = {
    AttemptOutcome.SUCCEEDED: JobStatus.SUCCEEDED,
    AttemptOutcome.CANCELLED: JobStatus.CANCELLED,
    AttemptOutcome.FAILED: JobStatus.FAILED,
    AttemptOutcome.TIMED_OUT: JobStatus.FAILED,
    AttemptOutcome.ABANDONED: JobStatus.FAILED,
}


def outcome_to_status(outcome: AttemptOutcome) -> JobStatus:
    """The final job status an attempt outcome leads to when there is no retry."""
    return _FINAL_BY_OUTCOME[outcome]


def encode_cursor(created_at: datetime, job_id: str) -> str:
    """An opaque keyset cursor for (created_at, id)."""
    raw = f"{created_at.astimezone(UTC).isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of :func:`encode_cursor`; ValueError on garbage."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
        return datetime.fromisoformat(created), job_id
    except Exception as exc:
        raise ValueError(f"cursor: not a valid page cursor ({cursor[:40]!r})") from exc


def info_from_event(event: JobEvent, attempts: Sequence[Attempt]) -> JobInfo:
    """A JobInfo from the latest snapshot of a job and its attempts."""
    from ..messages import MessageData, Metadata

    return JobInfo(
        id=event.job_id,
        status=event.status,
        definition_id=event.definition_id,
        lane=event.lane,
        priority=event.priority,
        scheduled_at=event.scheduled_at,
        created_at=event.created_at,
        msg_data=MessageData.decode(event.msg_data),
        metadata=Metadata.decode(event.metadata),
        attempts=list(attempts),
        attempt_count=event.attempt_count,
        max_retries=event.max_retries,
        last_error=event.last_error,
        schedule_id=event.schedule_id,
        agent=event.agent,
        trigger=event.trigger,
        idempotency_key=event.idempotency_key,
        finished_at=event.finished_at,
    )
