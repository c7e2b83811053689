"""When the next job of a SQL Server agent becomes due (for idle workers; see
:meth:`jobmaster.abc.AgentTransport.next_due_in`): SQL Server cannot wake a polling worker, and
a job enqueued for later (a recurring slot) would otherwise wait up to a whole poll interval."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from .connection import SqlServerStore


class SqlServerDueTimes(SqlServerStore):
    """The due-time look-up of :class:`~jobmaster.backends.sqlserver.SqlServerAgent`."""

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        if not definitions:
            return None
        # "Every lane" is a flag rather than a NULL list: OPENJSON always gets a JSON array.
        rows = await self.rows("next_due_in", {
            "definitions": json.dumps(list(definitions)), "every_lane": lanes is None,
            "lanes": json.dumps(list(lanes or ()))})
        due_in = rows[0]["due_in_us"] if rows else None
        return None if due_in is None else timedelta(microseconds=int(due_in))
