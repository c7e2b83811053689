"""Which slots a planner pass creates for one schedule: pure time arithmetic, no I/O.

The planner (``jobmaster.runtime.planner``) feeds in the schedule, its expression and the
database clock's ``now``; this module answers with the slots to create, the misfire count and
where the plan now ends. Keeping it pure makes misfire and window rules testable in isolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..recurrence import Interval, RecurrenceExpression, expression_from_storage
from .records import Misfire, ScheduleRecord

#: At most this many missed slots are enumerated per pass (a 1-second schedule down for a day
#: has 86,400); beyond it the plan jumps to ``now`` and the count says "at least".
MAX_MISSED_SCAN = 10_000


@dataclass(frozen=True, slots=True)
class PlanWindow:
    """How far ahead and how late: ``window`` ahead of now; a slot more than ``grace`` in the
    past when first seen is a misfire; at most ``max_slots`` slots per schedule per pass."""

    window: timedelta = timedelta(minutes=10)
    grace: timedelta = timedelta(seconds=5)
    max_slots: int = 5000


@dataclass(slots=True)
class SlotPlan:
    """The outcome of planning one schedule.

    ``slots`` are ``(slot_at, due_at)`` pairs to create; ``due_at`` differs from ``slot_at``
    only for a RUN_ONCE catch-up job (due now). ``planned_until`` is the new end of the plan.
    ``ended`` is True when the expression (or ``end_before``) has no slot left.
    """

    slots: list[tuple[datetime, datetime]] = field(default_factory=list)
    missed: int = 0
    planned_until: datetime | None = None
    next_run_at: datetime | None = None
    ended: bool = False
    more: bool = False  # ``max_slots`` was reached; plan again at once


def expression_of(record: ScheduleRecord) -> RecurrenceExpression:
    """The expression a record stores (intervals keep their anchor)."""
    return expression_from_storage(
        record.expression_kind, record.expression_text, record.expression_tz
    )


def plan_slots(
    record: ScheduleRecord,
    now: datetime,
    window: PlanWindow,
    *,
    horizon: datetime | None = None,
) -> SlotPlan:
    """Slots of ``record`` to create now. ``horizon`` overrides ``now + window.window`` (the
    planner passes a short one for schedules that must not overlap)."""
    expression = expression_of(record)
    base = _base(record)
    end = horizon if horizon is not None else now + window.window
    if record.end_before is not None:
        end = min(end, record.end_before - timedelta(microseconds=1))
    plan = SlotPlan(planned_until=record.planned_until)
    missed = _missed(expression, base, now - window.grace)
    cursor = base
    if missed.slots or missed.jumped_to is not None:
        cursor = missed.jumped_to or missed.slots[-1]
        plan.missed = missed.count
        chosen = _apply_misfire(record, missed.slots)
        plan.missed -= len(chosen)
        plan.slots.extend((slot, max(slot, now) if record.misfire is Misfire.RUN_ONCE else slot)
                          for slot in chosen)
        plan.planned_until = cursor
    while len(plan.slots) < window.max_slots:
        following = expression.next_after(cursor)
        if following is None or following > end:
            plan.ended = following is None or (
                record.end_before is not None and following >= record.end_before)
            break
        plan.slots.append((following, following))
        cursor = plan.planned_until = following
    else:
        plan.more = True
    plan.next_run_at = next_run(record, expression, now)
    return plan


def next_run(record: ScheduleRecord, expression: RecurrenceExpression,
             now: datetime) -> datetime | None:
    """The first slot at or after ``now`` within ``start_after`` / ``end_before``."""
    reference = now - timedelta(microseconds=1)
    if record.start_after is not None and record.start_after > now:
        reference = record.start_after - timedelta(microseconds=1)
    following = expression.next_after(reference)
    if following is not None and record.end_before is not None \
            and following >= record.end_before:
        return None
    return following


def _base(record: ScheduleRecord) -> datetime:
    """Slots are strictly after the base: the plan's end, else start_after, else creation."""
    if record.planned_until is not None:
        return record.planned_until
    candidates = [t for t in (record.start_after, record.created_at) if t is not None]
    if not candidates:
        raise ValueError(f"schedule {record.id} has neither created_at nor start_after")
    # One microsecond back: a slot exactly at start_after (or creation) is included.
    return max(candidates) - timedelta(microseconds=1)


@dataclass(slots=True)
class _Missed:
    slots: list[datetime] = field(default_factory=list)
    count: int = 0
    jumped_to: datetime | None = None


def _missed(expression: RecurrenceExpression, base: datetime, late_before: datetime) -> _Missed:
    """Slots after ``base`` that are already later than the grace allows."""
    found = _Missed()
    if isinstance(expression, Interval) and base < late_before:
        # Intervals are arithmetic: count without enumerating.
        first = expression.next_after(base)
        if first is not None and first <= late_before:
            total = (late_before - first) // expression.every + 1
            found.count = int(total)
            if total > MAX_MISSED_SCAN:
                found.jumped_to = first + (total - 1) * expression.every
                found.slots = [found.jumped_to - i * expression.every
                               for i in range(min(total, 1000) - 1, -1, -1)]
                return found
    cursor = base
    while cursor < late_before:
        following = expression.next_after(cursor)
        if following is None or following > late_before:
            break
        found.slots.append(following)
        cursor = following
        if len(found.slots) >= MAX_MISSED_SCAN:
            found.jumped_to = late_before
            break
    found.count = max(found.count, len(found.slots))
    return found


def _apply_misfire(record: ScheduleRecord, missed: list[datetime]) -> list[datetime]:
    if not missed or record.misfire is Misfire.SKIP:
        return []
    if record.misfire is Misfire.RUN_ONCE:
        return [missed[-1]]
    return missed[-max(record.catch_up_limit, 0):] if record.catch_up_limit else []
