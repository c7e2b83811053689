"""SQL Server specifics of the row conversions: the JSON documents OPENJSON reads and the
batch preparation MERGE needs. The conversions both SQL dialects share live in
:mod:`.._sqlcommon.rows`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...model import AttemptResult, JobEvent
from .._sqlcommon.rows import JsonDocuments

#: OPENJSON reads DATETIME2 columns from ISO 8601 text (``YYYY-MM-DDThh:mm:ss.ffffff``).
DOCUMENTS = JsonDocuments(time_separator="T")


def to_json(items: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array for OPENJSON; None values are left out (missing paths read as NULL)."""
    return json.dumps([{k: v for k, v in item.items() if v is not None} for item in items],
                      ensure_ascii=False)


#: The longest span one DATEADD(SECOND, ...) can add (its number is an INT): about 68 years.
LONGEST_SPAN = timedelta(seconds=2**31 - 1)


def split_delta(delta: timedelta) -> tuple[int, int]:
    """Whole seconds and remaining microseconds (DATEADD takes an INT per part). Spans longer
    than :data:`LONGEST_SPAN` (a retention of a century, say) are cut to it."""
    delta = max(-LONGEST_SPAN, min(delta, LONGEST_SPAN))
    micros = round(delta.total_seconds() * 1_000_000)
    return micros // 1_000_000, micros % 1_000_000


def times_json(values: Iterable[datetime]) -> str:
    """Times as a JSON array of ISO 8601 texts (the queries convert them with style 126)."""
    return json.dumps([DOCUMENTS.time(value) for value in values])


_LIKE_SPECIAL = re.compile(r"([!%_\[])")


def like_literal(text: str) -> str:
    """``text`` as a LIKE pattern matching it literally (the queries say ``ESCAPE N'!'``)."""
    return _LIKE_SPECIAL.sub(r"!\1", text)


def result_json(result: AttemptResult) -> dict[str, Any]:
    """The fields of ``finish`` for one attempt result."""
    retry_s, retry_us = split_delta(result.retry_delay) if result.retry_delay else (None, None)
    return {
        "id": result.job_id, "token": result.lease_token, "outcome": result.outcome.value,
        "worker": result.worker_id, "started": DOCUMENTS.time(result.started_at),
        "finished": DOCUMENTS.time(result.finished_at), "error": result.error,
        "traceback": result.traceback, "retry_s": retry_s, "retry_us": retry_us,
    }


def newest(events: Sequence[JobEvent]) -> tuple[list[JobEvent], list[JobEvent]]:
    """Per job the newest final snapshot (the history holds jobs that left their agent) and per
    (job, attempt) the newest attempt, sorted by key: MERGE refuses a source that touches one
    row twice, and one lock order avoids deadlocks."""
    jobs: dict[str, JobEvent] = {}
    attempts: dict[tuple[str, int], JobEvent] = {}
    for event in events:
        known = jobs.get(event.job_id)
        if event.status.is_final and (known is None or known.version < event.version):
            jobs[event.job_id] = event
        if event.attempt is not None:
            key = (event.job_id, event.attempt.number)
            if key not in attempts or attempts[key].version < event.version:
                attempts[key] = event
    return [jobs[k] for k in sorted(jobs)], [attempts[k] for k in sorted(attempts)]
