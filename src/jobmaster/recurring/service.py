"""Creating and managing schedules (the calls behind ``scheduler.recurring`` & co.)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..backends._common import decode_bag
from ..errors import PayloadTooLargeError
from ..messages import MessageData, Metadata
from ..recurrence import Interval, RecurrenceExpression, parse_expression
from .jobs import withdraw_future_jobs
from .planning import expression_of, next_run
from .records import (
    Misfire,
    ScheduleInfo,
    ScheduleKind,
    ScheduleQuery,
    ScheduleRecord,
    ScheduleStatus,
)

if TYPE_CHECKING:
    from ..app import JobMaster

_RETRIES = 10


class RecurringService:
    """Schedule operations of one application. Reached through ``app.scheduler``."""

    def __init__(self, app: JobMaster) -> None:
        self._app = app

    # -- building ---------------------------------------------------------------------------
    def build(
        self, handler: Any, expression: Any, data: Any, *, kind: ScheduleKind, schedule_id: str,
        start_after: datetime | None = None, end_before: datetime | None = None,
        misfire: Misfire | str = Misfire.SKIP, allow_overlap: bool = True,
        catch_up_limit: int = 100, **overrides: Any,
    ) -> ScheduleRecord:
        """A validated record (not stored). Raises ValueError / TypeError naming the input."""
        from ..scheduler import _encode_data

        app = self._app
        if "idempotency_key" in overrides:
            raise ValueError("idempotency_key is not accepted by recurring schedules: each "
                             "slot's job already has a unique key")
        parsed, timing = self.timing(expression, start_after=start_after,
                                     end_before=end_before, misfire=misfire,
                                     allow_overlap=allow_overlap, catch_up_limit=catch_up_limit)
        spec = app.registry.resolve(handler)
        template = app.scheduler._template(spec, None, overrides)
        msg_data = _encode_data(data)
        limit = app.config.options.max_message_bytes
        size = len(msg_data.encode()) + len(template.metadata.encode())
        if size > limit:
            raise PayloadTooLargeError(size, limit)
        kind_text, text, tz = parsed.to_storage()
        return ScheduleRecord(
            id=schedule_id, kind=kind, definition_id=spec.definition_id,
            expression_kind=kind_text, expression_text=text, expression_tz=tz,
            msg_data=msg_data, metadata=template.metadata, lane=template.lane,
            priority=template.priority, max_retries=template.max_retries,
            timeout_ms=template.timeout_ms, backoff=template.backoff,
            **timing,
        )

    def timing(
        self, expression: Any, *, start_after: datetime | None, end_before: datetime | None,
        misfire: Misfire | str, allow_overlap: bool, catch_up_limit: int,
    ) -> tuple[RecurrenceExpression, dict[str, Any]]:
        """The parsed expression and the validated timing options of a schedule."""
        from ..scheduler import _aware

        start = _aware(start_after, "start_after") if start_after is not None else None
        end = _aware(end_before, "end_before") if end_before is not None else None
        if start is not None and end is not None and end <= start:
            raise ValueError(f"end_before ({end.isoformat()}) must be later than start_after "
                             f"({start.isoformat()})")
        parsed = self.parse(expression, start)
        if not isinstance(catch_up_limit, int) or isinstance(catch_up_limit, bool) \
                or not 0 <= catch_up_limit <= 10_000:
            raise ValueError(f"catch_up_limit must be an int from 0 to 10000, got "
                             f"{catch_up_limit!r}")
        try:
            policy = Misfire(misfire)
        except ValueError:
            raise ValueError(f"misfire must be one of {', '.join(m.value for m in Misfire)}, "
                             f"got {misfire!r}") from None
        return parsed, {"misfire": policy, "catch_up_limit": catch_up_limit,
                        "allow_overlap": bool(allow_overlap), "start_after": start,
                        "end_before": end}

    def parse(self, expression: Any, start_after: datetime | None) -> RecurrenceExpression:
        """An expression from a timedelta, cron or natural text, or an expression object.
        A timedelta with ``start_after`` is anchored there (else at the Unix epoch)."""
        if isinstance(expression, timedelta) and start_after is not None:
            return Interval(expression, anchor=start_after)
        return parse_expression(expression, default_tz=self._app.config.options.timezone)

    # -- operations -------------------------------------------------------------------------
    async def create(self, record: ScheduleRecord) -> ScheduleInfo:
        """Store a new schedule and plan its first window at once."""
        master = self._app._require_started()
        if not await master.insert_schedule(record):
            raise ValueError(f"schedule {record.id} exists already")
        stored = await master.get_schedule(record.id)
        assert stored is not None
        planned = await self._app.planner.plan_schedule(stored, await master.now())
        return to_info(planned or stored)

    async def get(self, schedule_id: str) -> ScheduleInfo | None:
        record = await self._app._require_started().get_schedule(schedule_id)
        return None if record is None else to_info(record)

    async def list(self, query: ScheduleQuery) -> list[ScheduleInfo]:
        return [to_info(r) for r in await self._app._require_started().list_schedules(query)]

    async def pause(self, schedule_id: str) -> bool:
        """ACTIVE -> PAUSED; its queued future jobs are withdrawn (planned again on resume)."""
        changed = await self._change(schedule_id, lambda r, now: r.changed(
            status=ScheduleStatus.PAUSED, next_run_at=None, generation=r.generation + 1)
            if r.status is ScheduleStatus.ACTIVE else None)
        if changed is not None:
            await self._withdraw(schedule_id, forget=True)
        return changed is not None

    async def resume(self, schedule_id: str) -> bool:
        """PAUSED -> ACTIVE; the slots that passed while paused are not run."""
        def resume(r: ScheduleRecord, now: datetime) -> ScheduleRecord | None:
            if r.status is not ScheduleStatus.PAUSED:
                return None
            return r.changed(status=ScheduleStatus.ACTIVE, planned_until=now,
                             next_run_at=next_run(r, expression_of(r), now))

        changed = await self._change(schedule_id, resume)
        if changed is not None:
            await self._plan_now(changed)
        return changed is not None

    async def cancel(self, schedule_id: str) -> bool:
        """Final: no more slots; queued future jobs of the schedule are cancelled."""
        live = (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED, ScheduleStatus.RETIRED)
        changed = await self._change(schedule_id, lambda r, now: r.changed(
            status=ScheduleStatus.CANCELLED, next_run_at=None) if r.status in live else None)
        if changed is not None:
            await self._withdraw(schedule_id, forget=False)
        return changed is not None

    async def update(self, schedule_id: str, **changes: Any) -> ScheduleInfo | None:
        """Change the expression, data or options of a dynamic schedule; its queued future
        jobs are withdrawn and planned again with the new definition."""
        master = self._app._require_started()
        current = await master.get_schedule(schedule_id)
        if current is None:
            return None
        if current.kind is ScheduleKind.STATIC:
            raise ValueError(f"schedule {schedule_id} is static (profile "
                             f"{current.profile_id!r}): change it in code")
        if current.status is ScheduleStatus.CANCELLED:
            raise ValueError(f"schedule {schedule_id} is cancelled and cannot be changed")
        changed = await self._change(schedule_id, lambda r, now: self._apply(r, now, changes))
        if changed is None:
            return await self.get(schedule_id)
        await self._withdraw(schedule_id, forget=True)
        return to_info(await self._plan_now(changed) or changed)

    def _apply(self, r: ScheduleRecord, now: datetime, changes: dict[str, Any]) -> ScheduleRecord:
        from ..scheduler import _encode_data

        options: dict[str, Any] = {"start_after": r.start_after, "end_before": r.end_before,
                   "misfire": r.misfire, "allow_overlap": r.allow_overlap,
                   "catch_up_limit": r.catch_up_limit}
        unknown = set(changes) - {"expression", "data", *options}
        if unknown:
            raise TypeError(f"update_recurring cannot change {', '.join(sorted(unknown))}")
        options.update({k: v for k, v in changes.items() if k in options})
        expression = changes.get("expression") or expression_of(r)
        data = r.msg_data if changes.get("data") is None else _encode_data(changes["data"])
        parsed, timing = self.timing(expression, **options)
        kind, text, tz = parsed.to_storage()
        status = ScheduleStatus.ACTIVE if r.status is ScheduleStatus.COMPLETED else r.status
        return r.changed(expression_kind=kind, expression_text=text, expression_tz=tz,
                         msg_data=data, status=status, planned_until=now,
                         generation=r.generation + 1, **timing)

    async def _change(
        self, schedule_id: str, edit: Callable[[ScheduleRecord, datetime], ScheduleRecord | None]
    ) -> ScheduleRecord | None:
        """Read-modify-write with the version check, retried on conflict. None: no change."""
        master = self._app._require_started()
        for _ in range(_RETRIES):
            current = await master.get_schedule(schedule_id)
            if current is None:
                return None
            wanted = edit(current, await master.now())
            if wanted is None:
                return None
            stored = await master.update_schedule(wanted)
            if stored is not None:
                return stored
        raise RuntimeError(f"schedule {schedule_id} kept changing under {_RETRIES} updates")

    async def _withdraw(self, schedule_id: str, *, forget: bool) -> int:
        app = self._app
        master = app._require_started()
        return await withdraw_future_jobs(master, list(app.agents.values()), schedule_id,
                                          await master.now(), forget=forget)

    async def _plan_now(self, record: ScheduleRecord) -> ScheduleRecord | None:
        master = self._app._require_started()
        return await self._app.planner.plan_schedule(record, await master.now())


def to_info(record: ScheduleRecord) -> ScheduleInfo:
    """The user's view of a record."""
    return ScheduleInfo(
        id=record.id, kind=record.kind, status=record.status,
        expression=record.expression_text, expression_kind=record.expression_kind,
        tz=record.expression_tz, definition_id=record.definition_id,
        next_run_at=record.next_run_at, lane=record.lane, priority=record.priority,
        misfire=record.misfire, allow_overlap=record.allow_overlap,
        start_after=record.start_after, end_before=record.end_before,
        static_key=record.static_key, msg_data=decode_bag(MessageData, record.msg_data),
        metadata=decode_bag(Metadata, record.metadata), missed_count=record.missed_count,
        skipped_count=record.skipped_count, created_at=record.created_at,
        updated_at=record.updated_at,
    )


def new_schedule_id() -> str:
    """A new dynamic schedule id (UUID4)."""
    return str(uuid.uuid4())


__all__: Sequence[str] = ["RecurringService", "new_schedule_id", "to_info"]
