"""The JSON records the NATS agent stores: job messages, per-job state and outbox events.

Times are epoch seconds (floats); the agent clock is the worker machine's (NATS has no clock API).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...model import Attempt, AttemptOutcome, JobEvent, JobStatus, NewJob, TriggerSource

_encode = json.JSONEncoder(separators=(",", ":")).encode


def epoch(moment: datetime) -> float:
    """An aware datetime as epoch seconds."""
    return moment.timestamp()


def aware(seconds: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def now_epoch() -> float:
    """The agent's clock."""
    return time.time()


@dataclass(slots=True)
class JobBody:
    """The immutable part of a job, carried by its stream message."""

    job: NewJob
    scheduled_at: float
    created_at: float

    def encode(self) -> bytes:
        job = self.job
        return _encode({
            "id": job.id, "d": job.definition_id, "l": job.lane, "p": job.priority,
            "s": self.scheduled_at, "c": self.created_at, "m": job.msg_data, "md": job.metadata,
            "r": job.max_retries, "t": job.timeout_ms, "b": job.backoff,
            "k": job.idempotency_key, "sc": job.schedule_id, "tr": job.trigger.value,
        }).encode()

    @classmethod
    def decode(cls, data: bytes) -> JobBody:
        raw = json.loads(data)
        job = NewJob(
            id=raw["id"], definition_id=raw["d"], lane=raw["l"], priority=raw["p"],
            scheduled_at=None, msg_data=raw["m"], metadata=raw["md"], max_retries=raw["r"],
            timeout_ms=raw["t"], backoff=raw["b"], idempotency_key=raw["k"],
            schedule_id=raw["sc"], trigger=TriggerSource(raw["tr"]),
        )
        return cls(job, float(raw["s"]), float(raw["c"]))


#: State kinds: processing under a lease, queued with changes (retry, release, reschedule),
#: cancelled while queued (a marker the next claimer honours).
PROCESSING, QUEUED, CANCELLED = "p", "q", "c"


@dataclass(slots=True)
class JobState:
    """What changed about a job since it was published; absent for a fresh queued job."""

    kind: str
    attempt: int = 0
    version: int = 1
    token: str = ""
    worker: str = ""
    started_at: float = 0.0
    expires_at: float = 0.0
    cancel: bool = False
    error: str | None = None
    due_at: float | None = None
    lane: str = ""
    copy: int = 0  # stream sequence of the job's live message after a reschedule (0 = any)

    def encode(self) -> bytes:
        return _encode({
            "s": self.kind, "a": self.attempt, "v": self.version, "tok": self.token,
            "w": self.worker, "st": self.started_at, "exp": self.expires_at, "cx": self.cancel,
            "err": self.error, "due": self.due_at, "l": self.lane, "cp": self.copy,
        }).encode()

    @classmethod
    def decode(cls, data: bytes) -> JobState:
        raw = json.loads(data)
        return cls(raw["s"], raw["a"], raw["v"], raw["tok"], raw["w"], raw["st"], raw["exp"],
                   raw["cx"], raw["err"], raw["due"], raw.get("l", ""), raw.get("cp", 0))


def make_event(body: JobBody, *, version: int, status: JobStatus, attempt_count: int,
               agent: str, error: str | None, attempt: Attempt | None = None,
               finished_at: float | None = None, scheduled_at: float | None = None) -> JobEvent:
    """A snapshot event (``seq`` is assigned when the outbox message is stored)."""
    job = body.job
    return JobEvent(
        seq=0, job_id=job.id, version=version, status=status, definition_id=job.definition_id,
        lane=job.lane, priority=job.priority,
        scheduled_at=aware(scheduled_at if scheduled_at is not None else body.scheduled_at),
        created_at=aware(body.created_at), msg_data=job.msg_data, metadata=job.metadata,
        attempt_count=attempt_count, max_retries=job.max_retries, timeout_ms=job.timeout_ms,
        idempotency_key=job.idempotency_key, schedule_id=job.schedule_id, trigger=job.trigger,
        last_error=error, finished_at=aware(finished_at) if finished_at is not None else None,
        agent=agent, attempt=attempt,
    )


def _attempt_dict(attempt: Attempt | None) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {"n": attempt.number, "st": epoch(attempt.started_at),
            "fi": epoch(attempt.finished_at) if attempt.finished_at else None,
            "w": attempt.worker_id, "o": attempt.outcome.value, "e": attempt.error,
            "tb": attempt.traceback}


def _attempt_from(raw: dict[str, Any] | None) -> Attempt | None:
    if raw is None:
        return None
    return Attempt(raw["n"], aware(raw["st"]), aware(raw["fi"]) if raw["fi"] else None, raw["w"],
                   AttemptOutcome(raw["o"]), raw["e"], raw["tb"])


def encode_events(events: list[JobEvent]) -> bytes:
    """One outbox message holding a batch of events."""
    return json.dumps([{
        "j": e.job_id, "v": e.version, "s": e.status.value, "d": e.definition_id, "l": e.lane,
        "p": e.priority, "sa": epoch(e.scheduled_at), "ca": epoch(e.created_at),
        "m": e.msg_data, "md": e.metadata, "ac": e.attempt_count, "r": e.max_retries,
        "t": e.timeout_ms, "k": e.idempotency_key, "sc": e.schedule_id, "tr": e.trigger.value,
        "err": e.last_error, "fa": epoch(e.finished_at) if e.finished_at else None,
        "ag": e.agent, "at": _attempt_dict(e.attempt),
    } for e in events], separators=(",", ":")).encode()


def decode_events(data: bytes, first_seq: int) -> list[JobEvent]:
    """The events of one outbox message; event ``i`` gets ``seq = first_seq + i``."""
    return [JobEvent(
        seq=first_seq + index, job_id=r["j"], version=r["v"], status=JobStatus(r["s"]),
        definition_id=r["d"], lane=r["l"], priority=r["p"], scheduled_at=aware(r["sa"]),
        created_at=aware(r["ca"]), msg_data=r["m"], metadata=r["md"], attempt_count=r["ac"],
        max_retries=r["r"], timeout_ms=r["t"], idempotency_key=r["k"], schedule_id=r["sc"],
        trigger=TriggerSource(r["tr"]), last_error=r["err"],
        finished_at=aware(r["fa"]) if r["fa"] else None, agent=r["ag"],
        attempt=_attempt_from(r["at"]),
    ) for index, r in enumerate(json.loads(data))]
