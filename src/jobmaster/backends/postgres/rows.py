"""Rows of the PostgreSQL tables as model objects (shared by the agent and the master)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...model import Attempt, AttemptOutcome, JobEvent, JobStatus, NewJob, TriggerSource


def event_from_row(row: Any, agent: str | None = None) -> JobEvent:
    """A JobEvent from an outbox row (``seq``, ``job_id``, ``a_*`` attempt columns) or from a
    history row (``id``, ``agent``); ``agent`` overrides the row's agent."""
    keys = set(row.keys())
    attempt = None
    if "a_number" in keys and row["a_number"] is not None:
        attempt = Attempt(row["a_number"], row["a_started_at"], row["a_finished_at"],
                          row["a_worker"], AttemptOutcome(row["a_outcome"]), row["a_error"],
                          row["a_traceback"])
    return JobEvent(
        seq=row["seq"] if "seq" in keys else 0,
        job_id=row["job_id"] if "job_id" in keys else row["id"],
        version=row["version"], status=JobStatus(row["status"]),
        definition_id=row["definition_id"], lane=row["lane"], priority=row["priority"],
        scheduled_at=row["scheduled_at"], created_at=row["created_at"],
        msg_data=row["msg_data"], metadata=row["metadata"], attempt_count=row["attempt_count"],
        max_retries=row["max_retries"], timeout_ms=row["timeout_ms"],
        idempotency_key=row["idempotency_key"], schedule_id=row["schedule_id"],
        trigger=TriggerSource(row["trigger_source"]), last_error=row["last_error"],
        finished_at=row["finished_at"], agent=agent if agent is not None else row["agent"],
        attempt=attempt,
    )


_STATUS = {status.value: status for status in JobStatus}
_TRIGGER = {trigger.value: trigger for trigger in TriggerSource}
_OUTCOME = {outcome.value: outcome for outcome in AttemptOutcome}


def event_from_outbox_row(r: Any, agent: str) -> JobEvent:
    """A JobEvent from a ``read_outbox`` / ``get_pending_final`` row, by position (the syncer's
    hot path: every finished job passes here once)."""
    attempt = None if r[19] is None else Attempt(r[19], r[20], r[21], r[22], _OUTCOME[r[23]],
                                                 r[24], r[25])
    return JobEvent(r[0], r[1], r[2], _STATUS[r[3]], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                    r[11], r[12], r[13], r[14], r[15], _TRIGGER[r[16]], r[17], r[18], agent,
                    attempt)


def attempt_from_row(row: Any) -> Attempt:
    """An Attempt from a row of the attempt table."""
    return Attempt(row["number"], row["started_at"], row["finished_at"], row["worker_id"],
                   AttemptOutcome(row["outcome"]), row["error"], row["traceback"])


def new_job_columns(jobs: Sequence[NewJob]) -> list[list[Any]]:
    """The 13 column arrays of new jobs, in the order of the ``enqueue`` and ``hold_jobs``
    statements (``unnest`` of one array per column)."""
    return [
        [j.id for j in jobs], [j.definition_id for j in jobs], [j.lane for j in jobs],
        [j.priority for j in jobs], [j.scheduled_at for j in jobs],
        [j.msg_data for j in jobs], [j.metadata for j in jobs],
        [j.max_retries for j in jobs], [j.timeout_ms for j in jobs],
        [j.backoff for j in jobs], [j.idempotency_key for j in jobs],
        [j.schedule_id for j in jobs], [j.trigger.value for j in jobs],
    ]
