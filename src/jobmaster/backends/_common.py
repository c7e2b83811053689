"""Small pieces every backend shares: cursors, status mapping, JobInfo assembly."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ..messages import MessageData, Metadata
from ..model import (
    Attempt,
    AttemptOutcome,
    EnqueueResult,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    LogEntry,
    LogQuery,
    NewJob,
)

#: A worker whose last heartbeat is older than this is reported as dead.
DEAD_AFTER = timedelta(seconds=30)

_FINAL_BY_OUTCOME = {
    AttemptOutcome.SUCCEEDED: JobStatus.SUCCEEDED,
    AttemptOutcome.CANCELLED: JobStatus.CANCELLED,
    AttemptOutcome.FAILED: JobStatus.FAILED,
    AttemptOutcome.TIMED_OUT: JobStatus.FAILED,
    AttemptOutcome.ABANDONED: JobStatus.FAILED,
}


def sort_out_new(jobs: Sequence[NewJob], holders: dict[str, str], taken: set[str]
                 ) -> tuple[list[EnqueueResult], list[NewJob]]:
    """The enqueue result of each job, and the jobs to store. A job whose id is ``taken``, or
    whose idempotency key already has a holder in ``holders`` (key -> job id; an earlier job of
    the same batch counts), is not stored and reports the holder. Updates both collections."""
    results: list[EnqueueResult] = []
    fresh: list[NewJob] = []
    for job in jobs:
        holder = holders.get(job.idempotency_key) if job.idempotency_key else None
        if holder is not None or job.id in taken:
            results.append(EnqueueResult(holder or job.id, False))
            continue
        fresh.append(job)
        taken.add(job.id)
        if job.idempotency_key:
            holders[job.idempotency_key] = job.id
        results.append(EnqueueResult(job.id, True))
    return results, fresh


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


Bag = TypeVar("Bag", "MessageData", "Metadata")


def decode_bag(cls: type[Bag], text: str) -> Bag:
    """Decode stored message data for display. A payload that cannot be decoded (its job failed
    with ``decode_error``) is shown as ``{"_undecodable": <raw text, 4 KiB at most>}`` instead of
    making every view of it fail."""
    try:
        return cls.decode(text)
    except ValueError:
        return cls().set("_undecodable", text[:4096])


def info_from_event(event: JobEvent, attempts: Sequence[Attempt]) -> JobInfo:
    """A JobInfo from the latest snapshot of a job and its attempts."""
    return JobInfo(
        id=event.job_id,
        status=event.status,
        definition_id=event.definition_id,
        lane=event.lane,
        priority=event.priority,
        scheduled_at=event.scheduled_at,
        created_at=event.created_at,
        msg_data=decode_bag(MessageData, event.msg_data),
        metadata=decode_bag(Metadata, event.metadata),
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


def page_of(rows: list[JobInfo], limit: int) -> JobPage:
    """A page from ``limit + 1`` rows fetched newest first: the extra row only says that a next
    page exists; the cursor points after the last row kept."""
    items = rows[:limit]
    cursor = None
    if len(rows) > limit and items:
        cursor = encode_cursor(items[-1].created_at, items[-1].id)
    return JobPage(items, cursor)


def merge_pages(pages: Sequence[JobPage], limit: int) -> JobPage:
    """Merge pages of several sources (agents, master) ordered newest first by (created_at, id)
    into one page; a job present in several sources is kept once (the first source wins)."""
    seen: set[str] = set()
    rows: list[JobInfo] = []
    more = False
    for page in pages:
        more = more or page.next_cursor is not None
        for info in page.items:
            if info.id not in seen:
                seen.add(info.id)
                rows.append(info)
    rows.sort(key=lambda info: (info.created_at, info.id), reverse=True)
    if len(rows) > limit:
        more = True
    items = rows[:limit]
    cursor = encode_cursor(items[-1].created_at, items[-1].id) if more and items else None
    return JobPage(items, cursor)


def matches(info: JobInfo, query: JobQuery) -> bool:
    """True when ``info`` passes every filter of ``query`` (for stores that filter in Python)."""
    return (
        (query.status is None or info.status is query.status)
        and (query.definition_id is None or info.definition_id == query.definition_id)
        and (query.lane is None or info.lane == query.lane)
        and (query.schedule_id is None or info.schedule_id == query.schedule_id)
        and (query.created_from is None or info.created_at >= query.created_from)
        and (query.created_to is None or info.created_at < query.created_to)
    )


def select_page(infos: Iterable[JobInfo], query: JobQuery) -> JobPage:
    """Filter, order newest first and keyset-page jobs in Python (memory backend)."""
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = [info for info in infos if matches(info, query)]
    rows.sort(key=lambda info: (info.created_at, info.id), reverse=True)
    if after is not None:
        rows = [info for info in rows if (info.created_at, info.id) < after]
    return page_of(rows[: query.limit + 1], query.limit)


#: Outbox batches exported by agents for masters that take them as they are (see
#: AgentTransport.export_outbox): binary COPY data of a PostgreSQL agent's agent_outbox
#: columns, and the NATS agent's stored JSON rows (``[[first seq, [row, ...]], ...]``).
OUTBOX_POSTGRES_COPY = "postgres-copy-binary-1"
OUTBOX_NATS_JSON = "nats-json-rows-1"

_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").fullmatch


def is_uuid(value: str) -> bool:
    """True when ``value`` is a UUID (job ids are; anything else cannot match a uuid column)."""
    if isinstance(value, str) and _CANONICAL_UUID(value):  # the common case, on hot paths
        return True
    try:
        uuid.UUID(value)
        return True
    except (ValueError, AttributeError, TypeError):
        return False


def log_matches(entry: LogEntry, query: LogQuery) -> bool:
    """True when a log record passes every filter of ``query`` (stores that filter in Python)."""
    return (
        entry.level >= query.min_level
        and (query.logger_prefix is None or entry.logger.startswith(query.logger_prefix))
        and (query.since is None or entry.at >= query.since)
        and (query.until is None or entry.at < query.until)
        and (query.text is None or query.text.lower() in entry.message.lower())
    )
