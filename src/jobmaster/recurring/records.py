"""Plain data of recurring schedules: what the master stores and what users get back."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

#: Namespace of the deterministic ids (schedule ids of static schedules, job ids of slots).
_NAMESPACE = uuid.UUID("6f1c7b2e-3d4a-5b6c-8d9e-0a1b2c3d4e5f")


class Misfire(enum.StrEnum):
    """What the planner does with slots that passed while no planner ran (downtime)."""

    SKIP = "skip"  # only future slots run; the missed ones are counted
    RUN_ONCE = "run_once"  # one job for all the missed slots (the latest one), then future slots
    CATCH_UP = "catch_up"  # every missed slot runs (the most recent ``catch_up_limit`` of them)


class ScheduleKind(enum.StrEnum):
    """Where a schedule comes from."""

    STATIC = "static"  # declared in code by a StaticProfile, upserted at start
    DYNAMIC = "dynamic"  # created at runtime with scheduler.recurring(...)


class ScheduleStatus(enum.StrEnum):
    """The life of a schedule. Only ACTIVE schedules are planned."""

    ACTIVE = "active"
    PAUSED = "paused"  # by a user; resumable
    CANCELLED = "cancelled"  # by a user; final
    COMPLETED = "completed"  # the expression or end_before ended it; final
    RETIRED = "retired"  # static, no longer declared by any live process


class SlotOutcome(enum.StrEnum):
    """What happened to one slot (one occurrence of a schedule)."""

    PLANNED = "planned"  # recorded; its job is being enqueued
    ENQUEUED = "enqueued"  # its job was handed to an agent
    SKIPPED = "skipped"  # not run: the previous job was still running (allow_overlap=False)


@dataclass(slots=True)
class ScheduleRecord:
    """A recurring schedule as the master stores it.

    Job settings (lane, priority, retries, timeout, backoff, metadata) are resolved when the
    schedule is created or declared, so any process can plan its jobs without the handler.
    ``planned_until`` is the last slot instant already handled by the planner; ``version``
    grows with every change and fences concurrent writers (see
    :meth:`jobmaster.abc.MasterStore.update_schedule`).
    """

    id: str
    kind: ScheduleKind
    definition_id: str
    expression_kind: str
    expression_text: str
    expression_tz: str
    msg_data: str
    metadata: str
    lane: str
    priority: int
    max_retries: int
    timeout_ms: int
    backoff: str
    status: ScheduleStatus = ScheduleStatus.ACTIVE
    misfire: Misfire = Misfire.SKIP
    catch_up_limit: int = 100
    allow_overlap: bool = True
    start_after: datetime | None = None
    end_before: datetime | None = None
    static_key: str | None = None  # "profile_id:id" of a static schedule
    profile_id: str | None = None
    next_run_at: datetime | None = None
    planned_until: datetime | None = None
    last_job_id: str | None = None
    missed_count: int = 0
    skipped_count: int = 0
    #: Grows when queued jobs are withdrawn to be planned again (pause, change): a slot planned
    #: again gets a new job id, distinct from its cancelled predecessor's.
    generation: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_declared_at: datetime | None = None
    version: int = 1

    def changed(self, **changes: Any) -> ScheduleRecord:
        """A copy with ``changes`` applied (the version is bumped by the store)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class SlotRecord:
    """One occurrence of a schedule. ``(schedule_id, slot_at)`` is unique in every store."""

    schedule_id: str
    slot_at: datetime
    job_id: str | None
    outcome: SlotOutcome
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ScheduleQuery:
    """Filters of ``list_schedules``; ``after_id`` pages by id."""

    status: ScheduleStatus | None = None
    kind: ScheduleKind | None = None
    definition_id: str | None = None
    profile_id: str | None = None
    limit: int = 100
    after_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """What users see of a schedule (``scheduler.recurring``, ``get_schedule``, the CLI)."""

    id: str
    kind: ScheduleKind
    status: ScheduleStatus
    expression: str
    expression_kind: str
    tz: str
    definition_id: str
    next_run_at: datetime | None
    lane: str
    priority: int
    misfire: Misfire
    allow_overlap: bool
    start_after: datetime | None
    end_before: datetime | None
    static_key: str | None
    msg_data: Any  # MessageData
    metadata: Any  # Metadata
    missed_count: int
    skipped_count: int
    created_at: datetime | None
    updated_at: datetime | None


def static_schedule_id(cluster_id: str, profile_id: str, key: str) -> str:
    """The stable id of a static schedule: the same in every process and every deploy."""
    return str(uuid.uuid5(_NAMESPACE, f"static:{cluster_id}:{profile_id}:{key}"))


def slot_job_id(schedule_id: str, slot_at: datetime, generation: int = 0) -> str:
    """The deterministic job id of one slot: uuid5 of (schedule id, slot instant in UTC,
    generation)."""
    instant = slot_at.astimezone(UTC).isoformat(timespec="microseconds")
    suffix = f"#{generation}" if generation else ""
    return str(uuid.uuid5(_NAMESPACE, f"slot:{schedule_id}@{instant}{suffix}"))


def slot_idempotency_key(job_id: str) -> str:
    """The idempotency key of a slot's job (unique cluster-wide, also after it finished)."""
    return f"slot:{job_id}"
