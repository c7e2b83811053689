"""When the next job of a PostgreSQL agent becomes due (for idle workers; see
:meth:`jobmaster.abc.AgentTransport.next_due_in`). Kept apart from ``agent.py`` on purpose: it
is the recurring schedules' addition to the agent (issue 6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg

from ..sql import Queries


class PostgresDueTimes:
    """Mixin of :class:`~jobmaster.backends.postgres.PostgresAgent`."""

    q: Queries

    if TYPE_CHECKING:

        @property
        def pool(self) -> asyncpg.Pool: ...

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        if not definitions:
            return None
        delay: timedelta | None = await self.pool.fetchval(
            self.q["next_due_in"], list(definitions), None if lanes is None else list(lanes))
        return delay
