"""The ASGI application: API under ``/api``, OpenAPI document, metrics and the dashboard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import Request

from ..dashboard import mount_dashboard
from .auth import AuthConfig, Authenticator
from .deps import ApiState
from .logbuffer import LogBuffer
from .middleware import GuardMiddleware
from .routes import cluster, jobs, logs, schedules, session
from .security import RateLimiter
from .settings import ApiSettings
from .stats import StatsCollector

if TYPE_CHECKING:
    from ..app import JobMaster


def create_app(
    jobmaster_app: JobMaster,
    auth: AuthConfig | None = None,
    *,
    settings: ApiSettings | None = None,
    manage_lifecycle: bool = False,
    listen_host: str | None = None,
) -> Any:
    """Build the ASGI application of the API and dashboard for ``jobmaster_app``.

    Args:
        jobmaster_app: the application to show and act on (a producer is enough).
        auth: authentication; None = unauthenticated access for loopback clients of a
            loopback server only (anything else gets 401).
        settings: limits (body size, page size, poll interval, rate limits).
        manage_lifecycle: start the JobMaster (producer mode, no workers) with the server and
            stop it with the server (``jobmaster api`` does this). Leave False when the app
            is started elsewhere or when mounting into another application.
        listen_host: the address the server binds; a non-loopback address always requires
            authentication.

    Mount it into FastAPI/Starlette with ``main.mount("/jobmaster", create_app(app, auth))``.
    """
    settings = settings or ApiSettings()
    auth = auth or AuthConfig()
    drains: set[str] = set()
    buffer = LogBuffer(settings.log_records)
    api_state = ApiState(
        app=jobmaster_app,
        settings=settings,
        auth=Authenticator(auth),
        logs=buffer,
        stats=StatsCollector(jobmaster_app, min_interval=settings.min_poll_interval,
                             drains=drains),
        drains=drains,
        login_limiter=RateLimiter(settings.login_attempts_per_minute,
                                  settings.login_attempts_per_minute / 60),
        enqueue_limiter=RateLimiter(settings.burst_enqueues, settings.enqueues_per_second),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        buffer.attach()
        try:
            if manage_lifecycle:
                await jobmaster_app.start(run_workers=False)
            yield
        finally:
            if manage_lifecycle:
                await jobmaster_app.stop()
            buffer.detach()

    app = FastAPI(
        title="JobMaster API",
        version="1",
        description="Jobs, schedules, workers and metrics of a JobMaster cluster.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.jobmaster_api = api_state
    for module in (jobs, schedules, cluster, logs, session):
        app.include_router(module.router)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/api/docs", include_in_schema=False)
    async def docs(request: Request) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("dashboard_index")) + "#/api")

    mount_dashboard(app)
    app.add_middleware(GuardMiddleware, authenticator=api_state.auth, settings=settings,
                       listen_host=listen_host)
    if not manage_lifecycle:
        # Mounted apps do not get lifespan events: collect logs from construction on.
        buffer.attach()
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field, without echoing the (possibly secret) input value."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)
