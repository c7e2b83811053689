"""Running one attempt of a job: context, timeout, sync/async dispatch, outcome and retry policy."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..handlers import HandlerSpec, JobContext
from ..messages import MessageData, Metadata
from ..model import AttemptOutcome, AttemptResult, Backoff, ClaimedJob, Priority

log = logging.getLogger("jobmaster.worker")

_MAX_ERROR = 2000
_PRIORITIES = {int(priority): priority for priority in Priority}
_MAX_TRACEBACK = 16_000


class JobCancelledError(Exception):
    """Raise from a handler to end a job as CANCELLED (e.g. after ``job.cancelled`` was set)."""


@dataclass(slots=True)
class Outcome:
    """What an attempt produced, before the retry policy is applied."""

    outcome: AttemptOutcome
    error: str | None = None
    traceback: str | None = None
    retryable: bool = True


def build_context(job: ClaimedJob, cluster_id: str) -> JobContext:
    """The JobContext a handler receives. Raises ValueError when the payload cannot be decoded."""
    return JobContext(
        id=job.id,
        cluster_id=cluster_id,
        definition_id=job.definition_id,
        msg_data=MessageData.decode(job.msg_data),
        metadata=Metadata.decode(job.metadata),
        scheduled_at=job.scheduled_at,
        created_at=job.created_at,
        attempt=job.attempt,
        max_retries=job.max_retries,
        timeout=timedelta(milliseconds=job.timeout_ms),
        priority=_PRIORITIES.get(job.priority, Priority.MEDIUM),
        lane=job.lane,
        trigger=job.trigger,
        schedule_id=job.schedule_id,
    )


async def run_handler(
    spec: HandlerSpec,
    context: JobContext,
    pool: concurrent.futures.Executor,
) -> Outcome:
    """Run one attempt with its timeout enforced.

    Async handlers run on the loop and are cancelled at the timeout. Sync handlers run in
    ``pool``; at the timeout the attempt fails and the thread is abandoned (Python cannot stop a
    thread): ``context.cancelled`` is set so a cooperative handler can end early.
    """
    timeout = context.timeout.total_seconds()
    try:
        if spec.is_async:
            async with asyncio.timeout(timeout):
                await spec.invoke(context)
        else:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(pool, spec.invoke, context)
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                context.cancelled.set()
                log.warning(
                    "job %s (%s): sync handler passed its timeout of %.1fs; its thread "
                    "is abandoned",
                    context.id,
                    spec.definition_id,
                    timeout,
                )
                raise
        return Outcome(AttemptOutcome.SUCCEEDED)
    except TimeoutError:
        return Outcome(AttemptOutcome.TIMED_OUT, f"timed out after {timeout:g}s")
    except JobCancelledError as exc:
        return Outcome(AttemptOutcome.CANCELLED, str(exc) or "cancelled", retryable=False)
    except Exception as exc:
        return Outcome(
            AttemptOutcome.FAILED,
            _truncate(f"{type(exc).__name__}: {exc}", _MAX_ERROR),
            _truncate("".join(traceback.format_exception(exc)), _MAX_TRACEBACK),
        )


def to_result(
    job: ClaimedJob,
    outcome: Outcome,
    *,
    worker_id: str,
    started_at: datetime,
    backoff: Backoff,
) -> AttemptResult:
    """Apply the retry policy: a retryable failure with attempts left goes back to the queue."""
    retry_delay = None
    if (
        outcome.outcome in (AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT)
        and outcome.retryable
        and job.attempt <= job.max_retries
    ):
        retry_delay = backoff.delay(job.attempt)
    return AttemptResult(
        job_id=job.id,
        lease_token=job.lease_token,
        outcome=outcome.outcome,
        worker_id=worker_id,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        error=outcome.error,
        traceback=outcome.traceback,
        retry_delay=retry_delay,
    )


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 20] + "... [truncated]"
