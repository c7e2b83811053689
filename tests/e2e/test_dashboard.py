"""The dashboard in headless Chromium: log in, overview, filter jobs, open a job, cancel it and
see the change; hostile payloads render as text and run nothing; viewers see no actions."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from ..api.live import LiveServer
from .conftest import SCREENSHOTS
from .seed import XSS_IMG, XSS_SCRIPT


def wait(driver: Any, seconds: float = 10) -> WebDriverWait:  # type: ignore[type-arg]
    return WebDriverWait(driver, seconds)


def login(driver: Any, live: LiveServer, user: str, password: str) -> None:
    driver.get(live.url + "/")
    wait(driver).until(ec.presence_of_element_located((By.ID, "username")))
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(ec.presence_of_element_located((By.ID, "status-counts")))


def no_script_ran(driver: Any) -> None:
    assert driver.execute_script("return window.__xss === undefined")
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
              and "api/session/login" not in entry["message"]]
    assert not severe, severe


def test_login_filter_open_cancel(browser: Any, live: LiveServer) -> None:
    driver = browser
    driver.get(live.url + "/")
    wait(driver).until(ec.presence_of_element_located((By.ID, "login-submit")))
    driver.save_screenshot(str(SCREENSHOTS / "login.png"))
    driver.find_element(By.ID, "username").send_keys("olivia")
    driver.find_element(By.ID, "password").send_keys("wrong-password")
    driver.find_element(By.ID, "login-submit").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "login-error"), "401"))
    driver.find_element(By.ID, "password").clear()
    login(driver, live, "olivia", "operator-pass")
    counts = driver.find_element(By.ID, "status-counts").text
    assert "13" not in counts or "succeeded" in counts
    assert "succeeded" in counts and "live workers" in counts
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")  # throughput bars drawn
    assert XSS_IMG in driver.find_element(By.TAG_NAME, "main").text  # lane name, as text
    driver.save_screenshot(str(SCREENSHOTS / "overview.png"))

    driver.get(live.url + "/#/jobs")
    wait(driver).until(ec.presence_of_element_located((By.ID, "job-filters")))
    Select(driver.find_element(By.NAME, "status")).select_by_value("queued")
    driver.find_element(By.ID, "apply-filters").click()
    wait(driver).until(lambda d: "status=queued" in d.current_url)
    wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-job-id]")))
    rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-job-id]")
    assert len(rows) == 4
    assert {r.find_element(By.CSS_SELECTOR, ".badge").text for r in rows} == {"queued"}
    driver.save_screenshot(str(SCREENSHOTS / "jobs.png"))

    xss_id = live.prepared["xss"]
    driver.find_element(By.CSS_SELECTOR, f'tr[data-job-id="{xss_id}"]').click()
    wait(driver).until(ec.presence_of_element_located((By.ID, "job-detail")))
    payload = driver.find_element(By.ID, "payload").text
    assert XSS_SCRIPT in payload and "javascript:alert(1)" in payload
    assert XSS_SCRIPT in driver.find_element(By.ID, "metadata").text
    assert not driver.find_elements(By.CSS_SELECTOR, "#job-detail script, #job-detail img")
    no_script_ran(driver)
    driver.save_screenshot(str(SCREENSHOTS / "job-xss.png"))

    driver.find_element(By.ID, "cancel-job").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "job-status"), "cancelled"))
    driver.save_screenshot(str(SCREENSHOTS / "job-cancelled.png"))
    driver.get(live.url + "/#/jobs?status=cancelled")
    wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR,
                                                       f'tr[data-job-id="{xss_id}"]')))
    no_script_ran(driver)


def test_failed_job_shows_attempts_and_tracebacks_as_text(browser: Any, live: LiveServer) -> None:
    driver = browser
    login(driver, live, "olivia", "operator-pass")
    driver.get(f"{live.url}/#/jobs/{live.prepared['failed']}")
    wait(driver).until(ec.presence_of_element_located((By.ID, "attempts")))
    attempts = driver.find_elements(By.CSS_SELECTOR, "#attempts > li")
    assert len(attempts) == 3
    assert XSS_IMG in attempts[0].text
    for summary in driver.find_elements(By.CSS_SELECTOR, "#attempts summary"):
        summary.click()
    assert "ValueError" in driver.find_element(By.ID, "attempts").text
    no_script_ran(driver)
    driver.save_screenshot(str(SCREENSHOTS / "job-failed.png"))
    for page, marker in (("workers", "Workers"), ("schedules", "schedules"), ("logs", "Logs")):
        driver.get(f"{live.url}/#/{page}")
        wait(driver).until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), marker))
        driver.save_screenshot(str(SCREENSHOTS / f"{page}.png"))
    no_script_ran(driver)


def test_viewer_sees_no_actions(browser: Any, live: LiveServer) -> None:
    driver = browser
    login(driver, live, "victor", "viewer-pass")
    driver.get(f"{live.url}/#/jobs/{live.prepared['failed']}")
    wait(driver).until(ec.presence_of_element_located((By.ID, "job-detail")))
    assert "Read-only access" in driver.find_element(By.ID, "job-detail").text
    assert not driver.find_elements(By.ID, "cancel-job")
    # the API refuses the action even if a viewer crafts it in the page
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('api/session').then(r => r.json()).then(me =>
          fetch('api/jobs/x/cancel', {method: 'POST', headers: {'X-CSRF-Token': me.csrf_token}})
        ).then(r => done(r.status));
    """)
    assert status == 403
