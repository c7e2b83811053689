"""Turn model objects into JSON for the API, redacting secret-looking fields."""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..backends._common import DEAD_AFTER
from ..model import Attempt, JobInfo, WorkerRecord

REDACTED = "***"
_SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|authorization|api[_-]?key|credential|"
                         r"private[_-]?key|cookie|session", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True for field names whose values are never shown (password, token, api_key, ...)."""
    return bool(_SECRET_KEY.search(key))




def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy: datetimes as ISO 8601, bytes as ``{"$bytes": base64}``, secret-named
    keys redacted at every depth."""
    if depth > 64:
        return "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {str(k): REDACTED if is_secret_key(str(k)) else jsonable(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), depth + 1)
                for f in dataclasses.fields(value)}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict(), depth + 1)
    return str(value)


def attempt_to_dict(attempt: Attempt) -> dict[str, Any]:
    """One attempt, for the job detail."""
    return {
        "number": attempt.number,
        "started_at": jsonable(attempt.started_at),
        "finished_at": jsonable(attempt.finished_at),
        "worker_id": attempt.worker_id,
        "outcome": attempt.outcome.value,
        "error": attempt.error,
        "traceback": attempt.traceback,
    }


def job_to_dict(job: JobInfo, *, detail: bool = False) -> dict[str, Any]:
    """A job; ``detail`` adds payload, metadata and every attempt."""
    out: dict[str, Any] = {
        "id": job.id,
        "status": job.status.value,
        "definition_id": job.definition_id,
        "lane": job.lane,
        "priority": job.priority,
        "scheduled_at": jsonable(job.scheduled_at),
        "created_at": jsonable(job.created_at),
        "finished_at": jsonable(job.finished_at),
        "attempt_count": job.attempt_count,
        "max_retries": job.max_retries,
        "last_error": job.last_error,
        "schedule_id": job.schedule_id,
        "agent": job.agent,
        "trigger": job.trigger.value,
        "cancel_requested": job.cancel_requested,
        "metadata": jsonable(job.metadata),
    }
    if detail:
        out["msg_data"] = jsonable(job.msg_data)
        out["idempotency_key"] = job.idempotency_key
        out["attempts"] = [attempt_to_dict(a) for a in job.attempts]
    return out


def worker_to_dict(worker: WorkerRecord, now: datetime, drain_requested: bool) -> dict[str, Any]:
    """A worker with liveness computed from its last heartbeat."""
    return {
        "id": worker.id,
        "name": worker.name,
        "host": worker.host,
        "pid": worker.pid,
        "agent": worker.agent,
        "lanes": list(worker.lanes),
        "concurrency": worker.concurrency,
        "started_at": jsonable(worker.started_at),
        "last_heartbeat": jsonable(worker.last_heartbeat),
        "status": worker.status,
        "alive": worker.status not in ("stopped", "dead")
        and now - worker.last_heartbeat <= DEAD_AFTER,
        "in_flight": worker.in_flight,
        "drain_requested": drain_requested,
    }
