"""Schedules, slots and leader leases of the memory master (same semantics as the SQL ones)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ...recurring.records import (
    ScheduleKind,
    ScheduleQuery,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
)


@dataclass(slots=True)
class ScheduleSpace:
    """Schedule state of one memory cluster."""

    schedules: dict[str, ScheduleRecord] = field(default_factory=dict)
    slots: dict[tuple[str, datetime], SlotRecord] = field(default_factory=dict)
    leases: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)


class MemorySchedules:
    """Mixin of :class:`~jobmaster.backends.memory.MemoryMaster`."""

    clock: Callable[[], datetime]
    schedule_space: ScheduleSpace

    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        if record.id in self.schedule_space.schedules:
            return False
        now = self.clock()
        declared = now if record.kind is ScheduleKind.STATIC else None
        self.schedule_space.schedules[record.id] = replace(
            record, version=1, created_at=now, updated_at=now, last_declared_at=declared)
        return True

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        found = self.schedule_space.schedules.get(schedule_id)
        return None if found is None else replace(found)

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        rows = [
            replace(r) for r in self.schedule_space.schedules.values()
            if (query.status is None or r.status is query.status)
            and (query.kind is None or r.kind is query.kind)
            and (query.definition_id is None or r.definition_id == query.definition_id)
            and (query.profile_id is None or r.profile_id == query.profile_id)
            and (query.after_id is None or r.id > query.after_id)
        ]
        return sorted(rows, key=lambda r: r.id)[: query.limit]

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        stored = self.schedule_space.schedules.get(record.id)
        if stored is None or stored.version != record.version:
            return None
        updated = replace(record, kind=stored.kind, created_at=stored.created_at,
                          last_declared_at=stored.last_declared_at,
                          version=record.version + 1, updated_at=self.clock())
        self.schedule_space.schedules[record.id] = updated
        return replace(updated)

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        now = self.clock()
        for schedule_id in schedule_ids:
            stored = self.schedule_space.schedules.get(schedule_id)
            if stored is not None:
                stored.last_declared_at = now

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        now = self.clock()
        retired = []
        for record in self.schedule_space.schedules.values():
            if (record.kind is ScheduleKind.STATIC
                    and record.status in (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
                    and record.last_declared_at is not None
                    and record.last_declared_at < now - older_than):
                record.status = ScheduleStatus.RETIRED
                record.version += 1
                record.updated_at = now
                retired.append(record.id)
        return retired

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        now = self.clock()
        created = []
        for slot in slots:
            key = (slot.schedule_id, slot.slot_at)
            fresh = key not in self.schedule_space.slots
            if fresh:
                self.schedule_space.slots[key] = replace(slot, created_at=now)
            created.append(fresh)
        return created

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        for slot_at in slot_ats:
            key = (schedule_id, slot_at)
            if key in self.schedule_space.slots:
                self.schedule_space.slots[key] = replace(self.schedule_space.slots[key],
                                                         outcome=outcome)

    async def list_slots(
        self,
        schedule_id: str,
        *,
        after: datetime | None = None,
        outcome: SlotOutcome | None = None,
        limit: int = 1000,
    ) -> list[SlotRecord]:
        found = [
            s for (sid, at), s in self.schedule_space.slots.items()
            if sid == schedule_id and (after is None or at > after)
            and (outcome is None or s.outcome is outcome)
        ]
        return sorted(found, key=lambda s: s.slot_at)[:limit]

    async def delete_slots(self, schedule_id: str, slot_ats: Sequence[datetime]) -> int:
        deleted = 0
        for slot_at in slot_ats:
            if self.schedule_space.slots.pop((schedule_id, slot_at), None) is not None:
                deleted += 1
        return deleted

    async def trim_slots(self, before: datetime) -> int:
        old = [key for key in self.schedule_space.slots if key[1] < before]
        for key in old:
            del self.schedule_space.slots[key]
        return len(old)

    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        now = self.clock()
        held = self.schedule_space.leases.get(name)
        if held is not None and held[2] > now and held[0] != owner:
            return None
        token = held[1] if held is not None and held[0] == owner and held[2] > now \
            else uuid.uuid4().hex
        self.schedule_space.leases[name] = (owner, token, now + ttl)
        return token

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        now = self.clock()
        held = self.schedule_space.leases.get(name)
        if held is None or held[1] != token or held[2] <= now:
            return False
        self.schedule_space.leases[name] = (held[0], token, now + ttl)
        return True

    async def release_leader(self, name: str, token: str) -> bool:
        held = self.schedule_space.leases.get(name)
        if held is None or held[1] != token:
            return False
        del self.schedule_space.leases[name]
        return True
