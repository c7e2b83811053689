"""``/api/logs``: the recent log records of this API process (bounded in-memory buffer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ..deps import field_error, state
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
    records = api.logs.query(level=level, subject=subject, since=since, until=until, text=text,
                             limit=min(limit, api.settings.max_page_size))
    return [{"id": r.id, "time": r.time.isoformat(), "level": r.level, "subject": r.subject,
             "message": r.message} for r in records]
