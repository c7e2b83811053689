"""Request and response bodies (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_ID = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    """Unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


class EnqueueRequest(Strict):
    """Schedule one job of a registered handler."""

    definition_id: str = _ID
    payload: dict[str, Any] = Field(default_factory=dict, description="MessageData (JSON object)")
    metadata: dict[str, Any] | None = None
    priority: int | None = Field(default=None, ge=1, le=5)
    lane: str | None = Field(default=None, min_length=1, max_length=64)
    scheduled_at: AwareDatetime | None = None
    delay_seconds: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    max_retries: int | None = Field(default=None, ge=0, le=1000)
    timeout_seconds: float | None = Field(default=None, gt=0, le=7 * 86400)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class RescheduleRequest(Strict):
    """Move a waiting job."""

    scheduled_at: AwareDatetime


class LoginRequest(Strict):
    """Dashboard login."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class ScheduleCreate(Strict):
    """A dynamic recurring schedule."""

    definition_id: str = _ID
    expression: str = Field(min_length=1, max_length=500,
                            description="interval seconds, cron, or natural ('every 5 minutes')")
    timezone: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    lane: str | None = Field(default=None, min_length=1, max_length=64)
    priority: int | None = Field(default=None, ge=1, le=5)
    start_after: AwareDatetime | None = None
    end_before: AwareDatetime | None = None


class ScheduleUpdate(Strict):
    """Fields to change on a schedule (absent = unchanged)."""

    expression: str | None = Field(default=None, min_length=1, max_length=500)
    timezone: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    end_before: AwareDatetime | None = None


class ActionResult(BaseModel):
    """Outcome of an action."""

    ok: bool
    detail: str | None = None
    id: str | None = None


class Attempt(BaseModel):
    """One attempt of a job."""

    number: int
    started_at: str | None
    finished_at: str | None
    worker_id: str | None
    outcome: str
    error: str | None
    traceback: str | None


class Job(BaseModel):
    """A job (list view); the detail adds ``msg_data``, ``idempotency_key`` and ``attempts``."""

    id: str
    status: str
    definition_id: str
    lane: str
    priority: int
    scheduled_at: str | None
    created_at: str | None
    finished_at: str | None
    attempt_count: int
    max_retries: int
    last_error: str | None
    schedule_id: str | None
    agent: str | None
    trigger: str
    cancel_requested: bool
    metadata: Any
    msg_data: Any = None
    idempotency_key: str | None = None
    attempts: list[Attempt] | None = None


class JobPage(BaseModel):
    """A page of jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[Job]
    next_cursor: str | None
    scanned: int | None = Field(default=None, description="rows examined (metadata filter)")


class Worker(BaseModel):
    """A worker of the topology."""

    id: str
    name: str
    host: str
    pid: int
    agent: str
    lanes: list[str]
    concurrency: int
    started_at: str | None
    last_heartbeat: str | None
    status: str
    alive: bool
    in_flight: int
    drain_requested: bool


class LogRecord(BaseModel):
    """A log record of a JobMaster process (``subject``: the logger name)."""

    id: int
    time: str
    level: str
    subject: str
    message: str
    host: str | None = None
    pid: int | None = None
