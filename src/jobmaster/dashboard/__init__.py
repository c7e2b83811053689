"""The web dashboard: static HTML, CSS and vanilla JavaScript shipped in the package (no build
step, no CDN). All data comes from the JSON API and is written with ``textContent``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    """Serve ``index.html`` at ``/`` and the assets under ``/static``."""

    @app.get("/", include_in_schema=False, name="dashboard_index")
    async def dashboard_index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="dashboard_static")
