"""``/api/jobs``: list with filters and keyset paging, detail, enqueue, cancel, retry,
reschedule."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ...backends._common import decode_cursor, encode_cursor
from ...errors import PayloadTooLargeError, UnknownHandlerError
from ...model import JobPage, JobStatus
from ..deps import fail, field_error, json_depth, retry_after, state
from ..schemas import ActionResult, EnqueueRequest, Job, RescheduleRequest
from ..schemas import JobPage as JobPageOut
from ..serialize import job_to_dict

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
log = logging.getLogger("jobmaster.api")

Text = Annotated[str | None, Query(min_length=1, max_length=200)]


def _metadata_filters(raw: list[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            field_error("query", "metadata", "expected key=value")
        filters[key] = value
    return filters


def _matches(job: Any, filters: dict[str, str]) -> bool:
    values = job.metadata.to_dict() if hasattr(job.metadata, "to_dict") else {}
    return all(key in values and str(values[key]) == want for key, want in filters.items())


@router.get("", response_model=JobPageOut, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    status: JobStatus | None = None,
    definition: Text = None,
    lane: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    schedule: Text = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    metadata: Annotated[list[str], Query(max_length=10,
                                         description="key=value, repeatable")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, description="clamped to the maximum page size")] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Filters combine with AND. Paging is keyset: pass ``next_cursor`` back as ``cursor``.
    With ``metadata`` filters at most ``metadata_scan_limit`` rows are examined per call, so a
    page may hold fewer items than ``limit`` while ``next_cursor`` is still set."""
    api = state(request)
    limit = min(limit, api.settings.max_page_size)
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            field_error("query", name, "must include a time zone offset")
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError:
            field_error("query", "cursor", "not a valid page cursor")
    filters = _metadata_filters(metadata)
    args: dict[str, Any] = {"status": status, "definition": definition, "lane": lane,
                            "schedule_id": schedule, "created_from": created_from,
                            "created_to": created_to}
    if not filters:
        page = await api.app.list_jobs(**args, limit=limit, cursor=cursor)
        return {"items": [job_to_dict(j) for j in page.items], "next_cursor": page.next_cursor}
    return await _scan(api.app, args, filters, limit, cursor, api.settings.metadata_scan_limit)


async def _scan(app: Any, args: dict[str, Any], filters: dict[str, str], limit: int,
                cursor: str | None, scan_limit: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    scanned = 0
    while True:
        page: JobPage = await app.list_jobs(**args, limit=500, cursor=cursor)
        for job in page.items:
            scanned += 1
            if _matches(job, filters):
                items.append(job_to_dict(job))
            if len(items) == limit or scanned >= scan_limit:
                more = job is not page.items[-1] or page.next_cursor is not None
                next_cursor = encode_cursor(job.created_at, job.id) if more else None
                return {"items": items, "next_cursor": next_cursor, "scanned": scanned}
        cursor = page.next_cursor
        if cursor is None:
            return {"items": items, "next_cursor": None, "scanned": scanned}


@router.get("/{job_id}", response_model=Job, summary="One job with every attempt")
async def get_job(request: Request, job_id: str) -> dict[str, Any]:
    """Payload, metadata and the attempts timeline (errors and tracebacks)."""
    job = await state(request).app.get_job(job_id[:100])
    if job is None:
        fail(404, "job not found")
    return job_to_dict(job, detail=True)


@router.post("", response_model=ActionResult, status_code=201, summary="Enqueue a job")
async def enqueue(request: Request, body: EnqueueRequest) -> dict[str, Any]:
    """Schedule a job of a registered handler by its definition id. The payload is checked
    (size: 413, nesting: 422) before anything is stored."""
    api = state(request)
    size_limit = api.app.config.options.max_message_bytes
    if len(await request.body()) > size_limit + 4096:
        fail(413, f"payload too large: limit {size_limit} bytes")
    for name, value in (("payload", body.payload), ("metadata", body.metadata or {})):
        if json_depth(value, api.settings.max_json_depth) > api.settings.max_json_depth:
            field_error("body", name, f"nested deeper than {api.settings.max_json_depth} levels")
    who = request.scope["state"]["principal"]
    wait = api.enqueue_limiter.take(who.name)
    if wait:
        fail(429, "enqueue rate limit exceeded", retry_after(wait))
    depth = 0
    for agent in api.app.agents.values():
        depth += sum((await agent.queue_depth()).values())
    if depth >= api.settings.max_queue_depth:
        fail(429, f"queue depth cap reached ({api.settings.max_queue_depth} jobs queued)",
             retry_after(5))
    overrides: dict[str, Any] = {
        key: value for key, value in (
            ("priority", body.priority), ("lane", body.lane), ("max_retries", body.max_retries),
            ("timeout", body.timeout_seconds), ("metadata", body.metadata),
            ("idempotency_key", body.idempotency_key)) if value is not None}
    scheduler = api.app.scheduler
    try:
        if body.scheduled_at is not None:
            job = await scheduler.once_at(body.definition_id, body.scheduled_at, body.payload,
                                          **overrides)
        elif body.delay_seconds:
            job = await scheduler.once_after(body.definition_id,
                                             timedelta(seconds=body.delay_seconds),
                                             body.payload, **overrides)
        else:
            job = await scheduler.once_now(body.definition_id, body.payload, **overrides)
    except PayloadTooLargeError as exc:
        fail(413, str(exc))
    except UnknownHandlerError:
        field_error("body", "definition_id", "no handler is registered under this id")
    except (ValueError, TypeError) as exc:
        field_error("body", "payload", str(exc)[:300])
    return {"ok": True, "id": job.id, "detail": "created" if job.created else "existing"}


async def _require_job(request: Request, job_id: str) -> None:
    if await state(request).app.get_job(job_id[:100]) is None:
        fail(404, "job not found")


@router.post("/{job_id}/cancel", response_model=ActionResult, summary="Cancel a job")
async def cancel(request: Request, job_id: str) -> dict[str, Any]:
    """A waiting job is cancelled; a running one receives a cooperative cancellation signal."""
    await _require_job(request, job_id)
    app = state(request).app
    if not await app.scheduler.cancel(job_id):
        fail(409, "the job is already finished")
    try:
        # A producer-only process runs no syncer: move the final state to the history now so
        # the job stays visible (syncing is idempotent, so racing a worker's syncer is fine).
        await app.sync_now()
    except Exception as exc:
        log.warning("sync after cancel failed: %s", type(exc).__name__)
    return {"ok": True, "id": job_id}


@router.post("/{job_id}/retry", response_model=ActionResult, summary="Run a waiting job now")
async def retry(request: Request, job_id: str) -> dict[str, Any]:
    """Make a queued job (e.g. waiting for its retry backoff) due now."""
    await _require_job(request, job_id)
    if not await state(request).app.scheduler.retry_now(job_id):
        fail(409, "the job is not waiting")
    return {"ok": True, "id": job_id}


@router.post("/{job_id}/reschedule", response_model=ActionResult, summary="Move a waiting job")
async def reschedule(request: Request, job_id: str, body: RescheduleRequest) -> dict[str, Any]:
    """Move a queued job to ``scheduled_at``."""
    await _require_job(request, job_id)
    if not await state(request).app.scheduler.reschedule(job_id, body.scheduled_at.astimezone(UTC)):
        fail(409, "the job is not waiting")
    return {"ok": True, "id": job_id}
