"""Upserting static schedules at start, and keeping their declarations alive."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..abc import MasterStore
from ..errors import ConfigurationError
from ..runtime.loop import PeriodicLoop
from .records import ScheduleKind, ScheduleRecord, ScheduleStatus, static_schedule_id
from .service import RecurringService
from .static import StaticDeclaration

if TYPE_CHECKING:
    from ..app import JobMaster

#: Fields a deploy takes from code. Status, plan state and counters stay the store's.
_FROM_CODE = ("definition_id", "expression_kind", "expression_text", "expression_tz",
              "msg_data", "metadata", "lane", "priority", "max_retries", "timeout_ms",
              "backoff", "misfire", "catch_up_limit", "allow_overlap", "start_after",
              "end_before", "static_key", "profile_id")
#: Fields whose change invalidates the jobs already planned.
_RESHAPING = ("expression_kind", "expression_text", "expression_tz", "msg_data", "metadata",
              "lane", "priority", "max_retries", "timeout_ms", "backoff", "start_after",
              "end_before", "definition_id")


async def upsert_static(app: JobMaster, declarations: list[StaticDeclaration]) -> list[str]:
    """Insert or update each declared schedule by its stable id and mark it declared.

    A schedule a user paused or cancelled keeps that status (the code only changes its
    definition); a RETIRED one is declared again, so it becomes ACTIVE; a COMPLETED one whose
    definition changed becomes ACTIVE. Returns the ids."""
    master = app._require_started()
    if not declarations:
        return []
    if not master.capabilities.recurring_schedules:
        raise ConfigurationError(
            "static_profiles",
            f"the {master.capabilities.name} master cannot store recurring schedules yet")
    service = app.recurring
    ids: list[str] = []
    for declaration in declarations:
        record = _record(app, service, declaration)
        ids.append(record.id)
        if await master.insert_schedule(record):
            continue
        replan: list[bool] = []

        def edit(current: ScheduleRecord, now: datetime, declared: ScheduleRecord = record,
                 replan: list[bool] = replan) -> ScheduleRecord | None:
            replan[:] = [_reshaped(current, declared) is not None]
            return _merge(current, declared, now)

        if await service._change(record.id, edit) is not None and replan == [True]:
            await service._withdraw(record.id, forget=True)
    await master.declare_static(ids)
    return ids


def _record(app: JobMaster, service: RecurringService,
            declaration: StaticDeclaration) -> ScheduleRecord:
    schedule_id = static_schedule_id(app.config.cluster_id, declaration.profile_id,
                                     declaration.key)
    record = service.build(declaration.handler, declaration.expression, declaration.data,
                           kind=ScheduleKind.STATIC, schedule_id=schedule_id,
                           **declaration.options)
    return record.changed(static_key=f"{declaration.profile_id}:{declaration.key}",
                          profile_id=declaration.profile_id)


def _reshaped(current: ScheduleRecord, declared: ScheduleRecord) -> str | None:
    for name in _RESHAPING:
        if getattr(current, name) != getattr(declared, name):
            return name
    return None


def _merge(current: ScheduleRecord, declared: ScheduleRecord,
           now: datetime) -> ScheduleRecord | None:
    reshaped = _reshaped(current, declared)
    same = reshaped is None and all(
        getattr(current, n) == getattr(declared, n) for n in _FROM_CODE)
    if same and current.status is not ScheduleStatus.RETIRED:
        return None
    status = current.status
    if status is ScheduleStatus.RETIRED or (status is ScheduleStatus.COMPLETED and reshaped):
        status = ScheduleStatus.ACTIVE
    merged = current.changed(status=status, **{n: getattr(declared, n) for n in _FROM_CODE})
    if reshaped is not None or current.status is ScheduleStatus.RETIRED:
        # Plan again from now with the new definition (the stale jobs are withdrawn).
        merged = merged.changed(planned_until=now, generation=current.generation + 1)
    return merged


class StaticKeepAlive(PeriodicLoop[int]):
    """Refreshes ``last_declared_at`` of the schedules this process declares, so the planner
    retires only the schedules no live process declares any more."""

    name = "static-keepalive"

    def __init__(self, master: MasterStore, schedule_ids: list[str], *,
                 interval: timedelta) -> None:
        super().__init__(interval.total_seconds())
        self.master = master
        self.schedule_ids = schedule_ids

    async def run_once(self) -> int:
        """Declare every schedule once; returns how many."""
        await self.master.declare_static(self.schedule_ids)
        return len(self.schedule_ids)
