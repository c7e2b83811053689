"""Claims of a MySQL/MariaDB agent (see :meth:`jobmaster.abc.AgentTransport.claim`).

A plain read of the ready index names the candidates in claim order and a locking read by
primary key takes them (``FOR UPDATE SKIP LOCKED``); when another claim took some candidates
meanwhile, a ``SKIP LOCKED`` read of the ready index takes the rest. While a deep queue drains,
a claim reads on from a cursor past the entries of the jobs already claimed. The ``claim``
query in ``queries.sql`` says why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...config import BackendSpec
from ...model import ClaimedJob
from .._sqlcommon.rows import aware, claimed_from
from .connection import Cursor, MysqlStore


class MysqlClaims(MysqlStore):
    """Claims of :class:`~jobmaster.backends.mysql.MysqlAgent`."""

    def __init__(self, spec: BackendSpec, *, pool_role: str = "agent") -> None:
        super().__init__(spec, pool_role=pool_role)
        self._claim_cursors: dict[tuple[object, ...], _ClaimCursor] = {}

    async def claim(self, worker_id: str, *, lanes: Sequence[str] | None,
                    definitions: Sequence[str], limit: int, lease: timedelta) -> list[ClaimedJob]:
        if limit <= 0 or not definitions or (lanes is not None and not lanes):
            return []
        params = {"definitions": tuple(definitions), "all_lanes": lanes is None,
                  "lanes": tuple(lanes or ("",)), "limit": limit}
        query = "claim"
        if lanes is not None and len(set(lanes)) == 1:
            query, params["lane"] = "claim_lane", lanes[0]
        return await self.transaction(lambda cur: self._claim(cur, query, worker_id, params,
                                                              lease))

    async def _claim(self, cur: Cursor, query: str, worker_id: str, params: dict[str, Any],
                     lease: timedelta) -> list[ClaimedJob]:
        rows = await self._lock_ready(cur, query, params)
        if not rows:
            return []
        now = rows[0]["now"]
        expires = now + lease
        token = uuid.uuid4().hex + ":"
        ids = tuple(row["id"] for row in rows)
        await cur.execute(self.q["claim_update"], {"worker": worker_id, "token": token,
                                                   "expires": expires, "now": now, "ids": ids})
        expires_at = aware(expires)
        return [claimed_from(row, attempt=row["attempt"] + 1, lease_token=token + row["id"],
                             lease_expires_at=expires_at) for row in rows]

    async def _lock_ready(self, cur: Cursor, query: str,
                          params: dict[str, Any]) -> list[dict[str, Any]]:
        """Lock up to ``params["limit"]`` ready jobs in claim order: a plain read of the ready
        index names candidates and a locking read by primary key takes them (see the ``claim``
        query). When another claim took some of them meanwhile, a locking read of the ready
        index itself (SKIP LOCKED) takes the rest, passing over the rows other claims hold."""
        key = (query, params["lanes"], params.get("lane"), params["definitions"])
        after = self._claim_cursors.pop(key, None)
        if after is not None and time.monotonic() >= after.until:
            after = None
        position = after.params() if after else _FROM_START
        ready = await self._rows(cur, query, {**params, **position, "taken": _NO_IDS})
        if not ready and after is not None:  # nothing after the cursor: from the start
            position = _FROM_START
            ready = await self._rows(cur, query, {**params, **position, "taken": _NO_IDS})
        if not ready:
            return []
        taken = await self._rows(cur, "claim_lock", {"ids": tuple(r["id"] for r in ready)})
        limit = params["limit"]
        if len(taken) < len(ready):  # contention: no cursor, the rest under SKIP LOCKED
            more = await self._rows_sql(
                cur, self.q[query] + "\nFOR UPDATE SKIP LOCKED",
                {**params, **position, "limit": limit - len(taken),
                 "taken": tuple(r["id"] for r in taken) or _NO_IDS})
            if more:
                taken += await self._rows(cur, "claim_lock",
                                          {"ids": tuple(r["id"] for r in more)})
        elif len(ready) == limit:  # a deep queue: the next claim goes on from here
            last = ready[-1]
            self._claim_cursors[key] = _ClaimCursor(
                last["priority"], last["scheduled_at"], last["id"],
                after.until if after else time.monotonic() + CLAIM_CURSOR_SECONDS)
        taken.sort(key=_claim_order)
        return taken


#: How long claims go on from a cursor before one reads the ready index from its start again:
#: a job queued behind the cursor (released, rescued, or enqueued with an earlier due time)
#: waits at most this long, or less (a claim that fills its batch less goes back to the start).
CLAIM_CURSOR_SECONDS = 1.0

#: An empty ``NOT IN`` list (no job has this id).
_NO_IDS = ("",)

_FROM_START = {"from_start": True, "after_priority": None, "after_at": None, "after_id": None}


@dataclass(frozen=True, slots=True)
class _ClaimCursor:
    """The claim order position of the last job a full claim took, and until when claims may
    start after it (see the ``claim`` query)."""

    priority: int
    scheduled_at: datetime
    job_id: str
    until: float

    def params(self) -> dict[str, Any]:
        return {"from_start": False, "after_priority": self.priority,
                "after_at": self.scheduled_at, "after_id": self.job_id}


def _claim_order(row: dict[str, Any]) -> tuple[int, datetime, str]:
    return -row["priority"], row["scheduled_at"], row["id"]
