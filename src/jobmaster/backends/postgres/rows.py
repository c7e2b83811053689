"""Rows of the PostgreSQL tables as model objects (shared by the agent and the master)."""

from __future__ import annotations

from typing import Any

from ...model import Attempt, AttemptOutcome, JobEvent, JobStatus, TriggerSource


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


def attempt_from_row(row: Any) -> Attempt:
    """An Attempt from a row of the attempt table."""
    return Attempt(row["number"], row["started_at"], row["finished_at"], row["worker_id"],
                   AttemptOutcome(row["outcome"]), row["error"], row["traceback"])
