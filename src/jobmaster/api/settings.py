"""Limits and knobs of the HTTP API (all have safe defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Settings of :func:`jobmaster.api.create_app`.

    - ``max_body_bytes``: any request body above this gets 413 before it is read further.
    - ``max_page_size``: list endpoints clamp ``limit`` to this.
    - ``min_poll_interval``: the dashboard's overview is recomputed at most this often
      (seconds); faster polling gets the cached answer.
    - ``requests_per_second`` / ``burst_requests``: per-principal (or per-address) rate limit.
    - ``login_attempts_per_minute``: per-address and per-user login limit (then 429).
    - ``enqueues_per_second`` / ``burst_enqueues``: per-principal enqueue rate limit (429).
    - ``max_queue_depth``: enqueue is refused (429) while this many jobs are queued.
    - ``metadata_scan_limit``: rows examined per page when filtering on metadata.
    - ``log_records``: size of the in-memory log buffer behind ``/api/logs``.
    """

    max_body_bytes: int = 1024 * 1024
    max_page_size: int = 500
    min_poll_interval: float = 2.0
    requests_per_second: float = 50.0
    burst_requests: float = 200.0
    login_attempts_per_minute: int = 10
    enqueues_per_second: float = 100.0
    burst_enqueues: float = 200.0
    max_queue_depth: int = 1_000_000
    metadata_scan_limit: int = 5000
    log_records: int = 2000
    max_json_depth: int = 32
