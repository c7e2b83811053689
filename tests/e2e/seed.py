"""Jobs the browser tests look at: history, failures with tracebacks, hostile payloads."""

from __future__ import annotations

from typing import Any

import jobmaster as jm

XSS_SCRIPT = "<script>window.__xss = 1</script>"
XSS_IMG = "\"><img src=x onerror=\"window.__xss = 2\">"


@jm.job_handler(definition_id="send-welcome", max_retries=0)
async def send_welcome(job: jm.JobContext) -> None:
    """Succeeds."""


@jm.job_handler(definition_id="build-report", max_retries=2)
async def build_report(job: jm.JobContext) -> None:
    """Fails with an error message holding markup."""
    raise ValueError(f"report failed: {XSS_IMG}")


@jm.job_handler(definition_id="sync-crm", lane="crm", max_retries=0)
async def sync_crm(job: jm.JobContext) -> None:
    """Left queued by the tests."""


HANDLERS = [send_welcome, build_report, sync_crm]


async def seed_jobs(app: Any) -> dict[str, str]:
    for i in range(12):
        await app.scheduler.once_now(send_welcome, {"UserId": f"u{i}"},
                                     metadata={"team": "growth"})
    failed = await app.scheduler.once_now(build_report, {"Month": "2026-10"})
    await app.run_due()
    xss = await app.scheduler.once_now(sync_crm, {"note": XSS_SCRIPT, "html": XSS_IMG,
                                                  "link": "javascript:alert(1)"},
                                       metadata={"tag": XSS_SCRIPT}, lane=XSS_IMG)
    for i in range(3):
        await app.scheduler.once_now(sync_crm, {"Account": i})
    await app.sync_now()
    return {"xss": xss.id, "failed": failed.id}
