"""Read-only operations whose statements differ per dialect but whose logic does not.

The mixins run named queries through the store's ``rows`` and turn the rows into model types.
List them after the dialect's store and before the role's contract in the class bases, e.g.
``class MysqlAgent(MysqlStore, SqlAgentViews, AgentTransport)``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ...model import Attempt, JobEvent, JobInfo, JobPage, JobQuery
from .._common import info_from_event, page_of
from .rows import Row, attempt_from, event_from, live_info, query_params


class SqlStoreRows:
    """What the views need from a dialect's store."""

    async def rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All rows one named query returns."""
        raise NotImplementedError

    def id_list(self, ids: Collection[str]) -> object:
        """A list of ids as the dialect's queries take it (a tuple, or a JSON array)."""
        raise NotImplementedError


class SqlAgentViews(SqlStoreRows):
    """The agent's job views, outbox reads and queue depths."""

    agent_name: str

    async def get_job(self, job_id: str) -> JobInfo | None:
        rows = await self.rows("get_live_job", {"id": job_id})
        if rows:
            return live_info(rows[0], self.agent_name)
        # Finished, but its final state still waits in the outbox for the syncer.
        pending = await self.rows("get_pending_final", {"id": job_id})
        if not pending:
            return None
        event = event_from(pending[0], self.agent_name)
        return info_from_event(event, [event.attempt] if event.attempt else [])

    async def list_jobs(self, query: JobQuery) -> JobPage:
        rows = await self.rows("list_live_jobs", query_params(query))
        return page_of([live_info(row, self.agent_name) for row in rows], query.limit)

    async def read_outbox(self, limit: int) -> list[JobEvent]:
        rows = await self.rows("read_outbox", {"limit": limit})
        return [event_from(row, self.agent_name) for row in rows]

    async def queue_depth(self) -> dict[str, int]:
        return {row["lane"]: int(row["depth"]) for row in await self.rows("queue_depth")}


class SqlMasterViews(SqlStoreRows):
    """The master's job history views and idempotency-key look-up."""

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return await self.job_page(await self.rows("list_jobs", query_params(query)),
                                   query.limit)

    async def job_page(self, rows: Sequence[Row], limit: int) -> JobPage:
        """A page of jobs from history rows (newest first, ``limit + 1`` at most: the one past
        the page only says there is more), with the attempts of those on the page."""
        attempts: dict[str, list[Attempt]] = {row["id"]: [] for row in rows[:limit]}
        if attempts:
            for row in await self.rows("list_attempts", {"ids": self.id_list(attempts)}):
                attempts[row["job_id"]].append(attempt_from(row))
        return page_of([info_from_event(event_from(row), attempts.get(row["id"], []))
                        for row in rows], limit)

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        rows = await self.rows("get_attempts", {"id": job_id})
        return [attempt_from(row) for row in rows]

    async def find_idempotent(self, key: str) -> str | None:
        rows = await self.rows("find_idempotent", {"key": key})
        return str(rows[0]["id"]) if rows else None
