"""MySQL specifics of the row conversions: JSON batches for ``JSON_TABLE`` and the time text
it reads. The conversions both SQL dialects share live in :mod:`.._sqlcommon.rows`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from ...model import AttemptResult
from .._sqlcommon.rows import JsonDocuments
from .connection import JsonText

#: Statements carrying a JSON batch are cut below this size (max_allowed_packet is 16 MiB by
#: default on MariaDB, 64 MiB on MySQL 8).
MAX_BATCH_BYTES = 4 * 1024 * 1024

#: ``JSON_TABLE`` reads DATETIME(6) columns from ``YYYY-MM-DD hh:mm:ss.ffffff`` text.
DOCUMENTS = JsonDocuments(time_separator=" ")


def json_batches(items: Iterable[dict[str, Any]]) -> list[JsonText]:
    """JSON arrays for JSON_TABLE, each under MAX_BATCH_BYTES. Keys whose value is None are left
    out (a missing path reads as NULL on every server; JSON null did not, on some versions)."""
    rows = [{k: v for k, v in item.items() if v is not None} for item in items]
    if not rows:
        return []
    whole = json.dumps(rows, ensure_ascii=False)  # one call: the usual batch fits
    if len(whole) <= MAX_BATCH_BYTES:
        return [JsonText(whole)]
    batches: list[JsonText] = []
    current: list[str] = []
    size = 0
    for row in rows:
        text = json.dumps(row, ensure_ascii=False)
        if current and size + len(text) > MAX_BATCH_BYTES:
            batches.append(JsonText("[" + ",".join(current) + "]"))
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current:
        batches.append(JsonText("[" + ",".join(current) + "]"))
    return batches


def micros(delta: timedelta) -> int:
    """A duration in whole microseconds."""
    return round(delta.total_seconds() * 1_000_000)


def result_json(result: AttemptResult) -> dict[str, Any]:
    """The fields of ``finish`` for one attempt result."""
    return {
        "id": result.job_id, "outcome": result.outcome.value, "worker": result.worker_id,
        "started": DOCUMENTS.time(result.started_at),
        "finished": DOCUMENTS.time(result.finished_at),
        "error": result.error, "traceback": result.traceback,
        "retry_us": None if result.retry_delay is None else micros(result.retry_delay),
    }
