"""When the next job of an SQLite agent becomes due (for idle workers; see
:meth:`jobmaster.abc.AgentTransport.next_due_in`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from ..sql import Queries
from .codec import now_ts
from .connection import Database


class SqliteDueTimes:
    """Mixin of :class:`~jobmaster.backends.sqlite.SqliteAgent`."""

    _q: Queries
    _db: Database

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        if not definitions:
            return None
        now = now_ts()
        params = {"now": now, "definitions": json.dumps(list(definitions)),
                  "lanes": None if lanes is None else json.dumps(list(lanes))}
        row = await self._db.read(
            lambda conn: conn.execute(self._q["next_due_at"], params).fetchone())
        return None if row is None or row[0] is None else timedelta(seconds=row[0] - now)
