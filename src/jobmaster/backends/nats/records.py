"""The JSON records the NATS agent stores: job messages, per-job state and outbox events.

Times are epoch seconds (floats); the agent clock is the worker machine's (NATS has no clock API).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...model import Attempt, AttemptOutcome, JobEvent, JobStatus, NewJob, TriggerSource

_encode = json.JSONEncoder(separators=(",", ":")).encode
# ``json.dumps`` builds its C encoder anew on every call (a third of the cost of encoding a job
# message); this one is built once. (None outside CPython: then ``_encode`` is used.)
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_one = None if _c_encoder is None else _c_encoder(
    None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
_scan: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009


def dumps(value: Any) -> bytes:
    """Compact JSON of plain data (lists, dicts, strings, numbers, None)."""
    if _encode_one is None:
        return _encode(value).encode()
    return "".join(_encode_one(value, 0)).encode()


def loads(data: bytes) -> Any:
    """JSON as decoded by ``json.loads`` (the C scanner called directly for our own data)."""
    text = data.decode()
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # not JSON, or leading blanks: the full parser decides
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


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
        return dumps([
            job.id, job.definition_id, job.lane, job.priority, self.scheduled_at,
            self.created_at, job.msg_data, job.metadata, job.max_retries, job.timeout_ms,
            job.backoff, job.idempotency_key, job.schedule_id, job.trigger.value])

    @classmethod
    def decode(cls, data: bytes) -> JobBody:
        raw = loads(data)
        if isinstance(raw, dict):  # published by an earlier version
            raw = [raw["id"], raw["d"], raw["l"], raw["p"], raw["s"], raw["c"], raw["m"],
                   raw["md"], raw["r"], raw["t"], raw["b"], raw["k"], raw["sc"], raw["tr"]]
        job = NewJob(raw[0], raw[1], raw[2], raw[3], None, raw[6], raw[7], raw[8], raw[9],
                     raw[10], raw[11], raw[12], _TRIGGER[raw[13]])
        return cls(job, float(raw[4]), float(raw[5]))


#: State kinds: processing under a lease, queued with changes (retry, release, reschedule),
#: cancelled while queued (a marker the next claimer honours), done (finished or failed by
#: whoever created the record; a later delivery of the message is terminated).
PROCESSING, QUEUED, CANCELLED, DONE = "p", "q", "c", "d"


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


#: One event in an outbox message, positional (the fields of :class:`JobEvent` after ``seq``,
#: times as epoch seconds, the attempt as ``[number, started, finished, worker, outcome, error,
#: traceback]``): built straight from the job's message on the hot path, no datetimes.
EventRow = list[Any]
_STATUS = {status.value: status for status in JobStatus}
_TRIGGER = {trigger.value: trigger for trigger in TriggerSource}
_OUTCOME = {outcome.value: outcome for outcome in AttemptOutcome}
_fromtimestamp = datetime.fromtimestamp


def event_row(body: JobBody, *, version: int, status: JobStatus, attempt_count: int,
              agent: str, error: str | None, attempt: list[Any] | None = None,
              finished_at: float | None = None, scheduled_at: float | None = None) -> EventRow:
    """The outbox row of a snapshot event (the cheap twin of :func:`make_event`)."""
    job = body.job
    return [job.id, version, status.value, job.definition_id, job.lane, job.priority,
            scheduled_at if scheduled_at is not None else body.scheduled_at, body.created_at,
            job.msg_data, job.metadata, attempt_count, job.max_retries, job.timeout_ms,
            job.idempotency_key, job.schedule_id, job.trigger.value, error, finished_at, agent,
            attempt]


def row_of(event: JobEvent) -> EventRow:
    """The outbox row of an event."""
    e, a = event, event.attempt
    return [e.job_id, e.version, e.status.value, e.definition_id, e.lane, e.priority,
            epoch(e.scheduled_at), epoch(e.created_at), e.msg_data, e.metadata, e.attempt_count,
            e.max_retries, e.timeout_ms, e.idempotency_key, e.schedule_id, e.trigger.value,
            e.last_error, epoch(e.finished_at) if e.finished_at else None, e.agent,
            None if a is None else [
                a.number, epoch(a.started_at), epoch(a.finished_at) if a.finished_at else None,
                a.worker_id, a.outcome.value, a.error, a.traceback]]


def encode_events(rows: list[EventRow]) -> bytes:
    """One outbox message holding a batch of event rows."""
    return dumps(rows)


def decode_events(data: bytes, first_seq: int) -> list[JobEvent]:
    """The events of one outbox message; event ``i`` gets ``seq = first_seq + i``."""
    rows = json.loads(data)
    if rows and isinstance(rows[0], dict):  # written by an earlier version
        return _decode_keyed(rows, first_seq)
    stamp, utc, status, trigger = _fromtimestamp, UTC, _STATUS, _TRIGGER
    events: list[JobEvent] = []
    for index, r in enumerate(rows):
        a = r[19]
        events.append(JobEvent(
            first_seq + index, r[0], r[1], status[r[2]], r[3], r[4], r[5], stamp(r[6], utc),
            stamp(r[7], utc), r[8], r[9], r[10], r[11], r[12], r[13], r[14], trigger[r[15]],
            r[16], None if r[17] is None else stamp(r[17], utc), r[18],
            None if a is None else Attempt(
                a[0], stamp(a[1], utc), None if a[2] is None else stamp(a[2], utc), a[3],
                _OUTCOME[a[4]], a[5], a[6])))
    return events


def _decode_keyed(rows: list[dict[str, Any]], first_seq: int) -> list[JobEvent]:
    """Outbox messages of the first format (one JSON object per event)."""
    def attempt(raw: dict[str, Any] | None) -> Attempt | None:
        if raw is None:
            return None
        return Attempt(raw["n"], aware(raw["st"]), aware(raw["fi"]) if raw["fi"] else None,
                       raw["w"], AttemptOutcome(raw["o"]), raw["e"], raw["tb"])

    return [JobEvent(
        seq=first_seq + index, job_id=r["j"], version=r["v"], status=JobStatus(r["s"]),
        definition_id=r["d"], lane=r["l"], priority=r["p"], scheduled_at=aware(r["sa"]),
        created_at=aware(r["ca"]), msg_data=r["m"], metadata=r["md"], attempt_count=r["ac"],
        max_retries=r["r"], timeout_ms=r["t"], idempotency_key=r["k"], schedule_id=r["sc"],
        trigger=TriggerSource(r["tr"]), last_error=r["err"],
        finished_at=aware(r["fa"]) if r["fa"] else None, agent=r["ag"],
        attempt=attempt(r["at"]),
    ) for index, r in enumerate(rows)]
