"""Shared state of one API instance and the small helpers every route module uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from fastapi import HTTPException, Request

from .auth import Authenticator, Principal
from .logbuffer import LogBuffer
from .security import RateLimiter
from .settings import ApiSettings
from .stats import StatsCollector

if TYPE_CHECKING:
    from ..app import JobMaster


@dataclass(slots=True)
class ApiState:
    """Everything the routes share; stored on ``app.state.jobmaster_api``."""

    app: JobMaster
    settings: ApiSettings
    auth: Authenticator
    logs: LogBuffer
    stats: StatsCollector
    drains: set[str]
    login_limiter: RateLimiter
    enqueue_limiter: RateLimiter
    extra: dict[str, Any] = field(default_factory=dict)


def state(request: Request) -> ApiState:
    """The API state of the application serving ``request``."""
    found: ApiState = request.app.state.jobmaster_api
    return found


def principal(request: Request) -> Principal | None:
    """The caller, as resolved by the guard middleware."""
    found: Principal | None = request.scope.get("state", {}).get("principal")
    return found


def fail(status: int, detail: Any, headers: dict[str, str] | None = None) -> NoReturn:
    """Raise an HTTP error with a JSON ``detail``."""
    raise HTTPException(status_code=status, detail=detail, headers=headers)


def field_error(location: str, name: str, message: str) -> NoReturn:
    """422 in FastAPI's shape, naming the field."""
    fail(422, [{"loc": [location, name], "msg": message, "type": "value_error"}])


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value; stops counting past ``limit``."""
    depth, frontier = 0, [value]
    while frontier and depth <= limit:
        depth += 1
        nxt: list[Any] = []
        for item in frontier:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        frontier = nxt
    return depth


def retry_after(seconds: float) -> dict[str, str]:
    """A Retry-After header of at least one second."""
    return {"Retry-After": str(max(1, int(seconds + 0.999)))}


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return json.dumps(value, separators=(",", ":"))
