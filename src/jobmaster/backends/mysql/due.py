"""When the next job of a MySQL/MariaDB agent becomes due (for idle workers; see
:meth:`jobmaster.abc.AgentTransport.next_due_in`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from .connection import MysqlStore


class MysqlDueTimes(MysqlStore):
    """Due times of :class:`~jobmaster.backends.mysql.MysqlAgent`."""

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        if not definitions or (lanes is not None and not lanes):
            return None
        rows = await self.rows("next_due_in", {
            "definitions": tuple(definitions), "all_lanes": lanes is None,
            "lanes": tuple(lanes or ("",))})
        due_us = rows[0]["due_us"] if rows else None
        return None if due_us is None else timedelta(microseconds=max(int(due_us), 0))
