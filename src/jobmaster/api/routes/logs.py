"""``/api/logs``: the log records of the cluster's processes, kept on the master (when the
master can store logs; otherwise this API process's recent records, from an in-memory buffer)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ...model import LogQuery
from ..deps import field_error, state
from ..logbuffer import LEVELS
from ..schemas import LogRecord

router = APIRouter(prefix="/api/logs", tags=["logs"])


@router.get("", response_model=list[LogRecord], summary="Recent log records, newest first")
async def list_logs(
    request: Request,
    level: Literal["debug", "info", "warning", "error", "critical"] | None = None,
    subject: Annotated[str | None, Query(max_length=200, description="logger name prefix")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> list[dict[str, Any]]:
    """Records at or above ``level``, from loggers under ``subject``, in [since, until),
    containing ``text`` (case-insensitive). Secrets in connection strings are redacted."""
    api = state(request)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            field_error("query", name, "must include a time zone offset")
    limit = min(limit, api.settings.max_page_size)
    master = api.app.master
    if master is not None and master.capabilities.log_store:
        if api.app.log_shipper is not None:
            await api.app.log_shipper.flush()  # this process's latest records, too
        query = LogQuery(min_level=LEVELS.get(level or "debug", 10), logger_prefix=subject,
                         since=since, until=until, text=text, limit=limit)
        entries = await master.list_logs(query)
        return [{"id": index, "time": e.at.isoformat(), "level": logging.getLevelName(e.level)
                 .lower(), "subject": e.logger, "message": e.message, "host": e.host,
                 "pid": e.pid} for index, e in enumerate(entries, start=1)]
    records = api.logs.query(level=level, subject=subject, since=since, until=until, text=text,
                             limit=limit)
    return [{"id": r.id, "time": r.time.isoformat(), "level": r.level, "subject": r.subject,
             "message": r.message} for r in records]
