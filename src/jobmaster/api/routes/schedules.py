"""``/api/schedules``: recurring schedules — list, detail with next runs, create, update,
pause, resume, cancel, run now.

Built on the scheduler's recurring calls (``recurring``, ``get_schedule``, ``list_schedules``,
``update_recurring``, ``pause_recurring``, ``resume_recurring``, ``cancel_recurring``); a
build without them answers 501.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ...errors import PayloadTooLargeError, UnknownHandlerError
from ...model import TriggerSource
from ...recurrence import RecurrenceExpression, expression_from_storage, parse_expression
from ..deps import fail, field_error, state
from ..schemas import ActionResult, ScheduleCreate, ScheduleUpdate
from ..serialize import jsonable

router = APIRouter(prefix="/api/schedules", tags=["schedules"])
NEXT_RUNS = 5


def _method(request: Request, name: str) -> Any:
    found = getattr(state(request).app.scheduler, name, None)
    if found is None:
        fail(501, "recurring schedules are not available in this version of jobmaster")
    return found


def _expression(text: str, tz: str | None) -> Any:
    """Validated (422 naming ``expression``); seconds become a timedelta, and a text keeps the
    cluster's time zone unless ``timezone`` is given."""
    try:
        if text.replace(".", "", 1).isdigit():
            return parse_expression(timedelta(seconds=float(text)))
        parsed = parse_expression(text, default_tz=tz or "UTC")
    except (ValueError, KeyError) as exc:
        field_error("body", "timezone" if tz and "zone" in str(exc) else "expression",
                    str(exc)[:300])
    return parsed if tz else text


def _schedule_dict(info: Any) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(info)
    if not isinstance(data, dict):
        data = {"value": data}
    data["next_runs"] = [r.isoformat() for r in _next_runs(info)]
    return data


def _next_runs(info: Any) -> list[datetime]:
    """The next run times of an active schedule, within its bounds."""
    if str(jsonable(getattr(info, "status", "active"))) != "active":
        return []
    try:
        expression = expression_from_storage(info.expression_kind, info.expression, info.tz)
    except (AttributeError, ValueError):
        expression = None
    if not isinstance(expression, RecurrenceExpression):
        return []
    start = max(datetime.now(UTC), info.start_after or datetime.now(UTC))
    if getattr(info, "next_run_at", None) is not None:
        start = max(start, info.next_run_at - timedelta(microseconds=1))
    runs = expression.occurrences(start, NEXT_RUNS)
    end = getattr(info, "end_before", None)
    return [r for r in runs if end is None or r < end]


async def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    result = method(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


@router.get("", summary="List recurring schedules")
async def list_schedules(
    request: Request,
    status: Literal["active", "paused", "cancelled", "completed", "retired"] | None = None,
    kind: Literal["static", "dynamic"] | None = None,
    definition: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    after_id: Annotated[str | None, Query(max_length=200,
                                          description="last id of the previous page")] = None,
) -> list[dict[str, Any]]:
    """Schedules by id with their next runs; filter by status, kind and definition id."""
    method = _method(request, "list_schedules")
    filters = {k: v for k, v in (("status", status), ("kind", kind), ("definition", definition),
                                 ("after_id", after_id)) if v is not None}
    limit = min(limit, state(request).settings.max_page_size)
    items = await _call(method, limit=limit, **filters)
    return [_schedule_dict(info) for info in items]


async def _get(request: Request, schedule_id: str) -> Any:
    info = await _call(_method(request, "get_schedule"), schedule_id[:200])
    if info is None:
        fail(404, "schedule not found")
    return info


@router.get("/{schedule_id}", summary="One schedule with its next runs")
async def get_schedule(request: Request, schedule_id: str) -> dict[str, Any]:
    """The schedule and its next ``5`` run times."""
    return _schedule_dict(await _get(request, schedule_id))


@router.post("", status_code=201, response_model=ActionResult, summary="Create a schedule")
async def create_schedule(request: Request, body: ScheduleCreate) -> dict[str, Any]:
    """A dynamic schedule of a registered handler."""
    recurring = _method(request, "recurring")
    expression = _expression(body.expression, body.timezone)
    options: dict[str, Any] = {k: v for k, v in (
        ("metadata", body.metadata), ("lane", body.lane), ("priority", body.priority),
        ("start_after", body.start_after), ("end_before", body.end_before)) if v is not None}
    try:
        info = await _call(recurring, body.definition_id, expression, body.payload, **options)
    except UnknownHandlerError:
        field_error("body", "definition_id", "no handler is registered under this id")
    except PayloadTooLargeError as exc:
        fail(413, str(exc))
    except (ValueError, TypeError) as exc:
        field_error("body", _field_named(str(exc), {"expression": 1}), str(exc)[:300])
    return {"ok": True, "id": str(getattr(info, "id", info))}


@router.patch("/{schedule_id}", response_model=ActionResult, summary="Change a schedule")
async def update_schedule(request: Request, schedule_id: str,
                          body: ScheduleUpdate) -> dict[str, Any]:
    """Change the expression, payload, metadata or end of a schedule."""
    update = _method(request, "update_recurring")
    await _get(request, schedule_id)
    changes: dict[str, Any] = {}
    if body.expression is not None:
        changes["expression"] = _expression(body.expression, body.timezone)
    for name in ("payload", "metadata", "end_before"):
        value = getattr(body, name)
        if value is not None:
            changes["data" if name == "payload" else name] = value
    try:
        done = await _call(update, schedule_id, **changes)
    except (ValueError, TypeError) as exc:
        if "static" in str(exc) or "cancelled" in str(exc):
            fail(409, str(exc)[:300])
        field_error("body", _field_named(str(exc), changes), str(exc)[:300])
    if done is None or done is False:
        fail(404, "schedule not found")
    return {"ok": True, "id": schedule_id}


def _field_named(message: str, changes: dict[str, Any]) -> str:
    for name in ("end_before", "metadata", "data", "expression"):
        if name in message:
            return "payload" if name == "data" else name
    return next(iter(changes), "expression")


async def _action(request: Request, schedule_id: str, name: str, refused: str) -> dict[str, Any]:
    method = _method(request, name)
    await _get(request, schedule_id)
    if await _call(method, schedule_id) is False:
        fail(409, refused)
    return {"ok": True, "id": schedule_id}


@router.post("/{schedule_id}/pause", response_model=ActionResult, summary="Pause")
async def pause(request: Request, schedule_id: str) -> dict[str, Any]:
    """No new runs until resumed (survives deploys)."""
    return await _action(request, schedule_id, "pause_recurring", "the schedule is not active")


@router.post("/{schedule_id}/resume", response_model=ActionResult, summary="Resume")
async def resume(request: Request, schedule_id: str) -> dict[str, Any]:
    """Runs start again from the next slot."""
    return await _action(request, schedule_id, "resume_recurring", "the schedule is not paused")


@router.delete("/{schedule_id}", response_model=ActionResult, summary="Cancel a schedule")
async def cancel(request: Request, schedule_id: str) -> dict[str, Any]:
    """The schedule is retired; jobs it already created are not touched."""
    return await _action(request, schedule_id, "cancel_recurring", "already cancelled")


@router.post("/{schedule_id}/run", response_model=ActionResult, summary="Run once now")
async def run_now(request: Request, schedule_id: str) -> dict[str, Any]:
    """Enqueue one job of the schedule now, outside its slots."""
    info = await _get(request, schedule_id)
    raw = getattr(info, "msg_data", None)
    data = raw.to_dict() if raw is not None and hasattr(raw, "to_dict") else (raw or {})
    options: dict[str, Any] = {}
    for name in ("lane", "priority"):
        if getattr(info, name, None) is not None:
            options[name] = getattr(info, name)
    meta = getattr(info, "metadata", None)
    if meta is not None and hasattr(meta, "to_dict"):
        options["metadata"] = meta.to_dict()
    static = str(jsonable(getattr(info, "kind", "dynamic"))) == "static"
    trigger = TriggerSource.STATIC_RECURRING if static else TriggerSource.DYNAMIC_RECURRING
    try:
        job = await state(request).app.scheduler.once_now(
            info.definition_id, data, _schedule_id=schedule_id, _trigger=trigger, **options)
    except UnknownHandlerError:
        fail(409, "the schedule's handler is not registered in this process")
    return {"ok": True, "id": job.id}
