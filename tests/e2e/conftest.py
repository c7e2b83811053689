"""Browser tests in real headless Chromium (Debian's ``chromium`` + ``chromedriver``, driven
by selenium). Skipped locally when Chromium is missing; a failure in CI (CI=true).
``scripts/services.sh`` installs it when missing."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobmaster.api import ApiSettings, AuthConfig
from jobmaster.testing import EagerJobMaster

from ..api.live import LiveServer
from .seed import HANDLERS, seed_jobs

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _require_chromium() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    message = "Chromium/chromedriver not installed (apt-get install chromium chromium-driver)"
    if IN_CI:
        pytest.fail(message + " — CI=true: a missing browser fails the run")
    pytest.skip(message)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    auth = AuthConfig().add_user("olivia", "operator-pass", "operator") \
        .add_user("victor", "viewer-pass", "viewer")
    app = EagerJobMaster(handlers=HANDLERS, eager=False)
    server = LiveServer(app, auth, prepare=seed_jobs, settings=ApiSettings(min_poll_interval=2))
    yield server.start()
    server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="jm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=options)
    driver.set_page_load_timeout(20)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
