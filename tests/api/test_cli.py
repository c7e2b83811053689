"""``jobmaster api module:app``: serves the API and dashboard and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .live import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_jobmaster_api_command_serves_and_stops() -> None:
    port = free_port()
    command = [sys.executable, "-m", "jobmaster", "api", "tests.unit.cli_app:app",
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 20
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None and response.status_code == 200, response
        assert response.json()["status"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "content-security-policy" in page.headers
        jobs = httpx.get(f"http://127.0.0.1:{port}/api/jobs", timeout=5)
        assert jobs.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    # uvicorn shuts down gracefully (lifespan: the JobMaster stops), then re-raises SIGTERM
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
