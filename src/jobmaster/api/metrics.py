"""Prometheus text exposition (format 0.0.4) of an :class:`~jobmaster.api.stats.Overview`."""

from __future__ import annotations

from .stats import Overview


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(overview: Overview, cluster_id: str) -> str:
    """The metrics text."""
    c = f'cluster="{_label(cluster_id)}"'
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    family("jobmaster_queue_depth", "gauge", "Jobs queued on an agent, per lane.")
    for agent, lanes in sorted(overview.queue_depth.items()):
        for lane, count in sorted(lanes.items()):
            lines.append(f'jobmaster_queue_depth{{{c},agent="{_label(agent)}",'
                         f'lane="{_label(lane)}"}} {count}')
    family("jobmaster_jobs", "gauge",
           f"Jobs by status: queued and processing now, final ones created in the last "
           f"{overview.window_minutes} minutes.")
    counts = overview.to_dict()["counts"]
    for status, count in sorted(counts.items()):
        lines.append(f'jobmaster_jobs{{{c},status="{status}"}} {count}')
    family("jobmaster_throughput_per_minute", "gauge",
           "Jobs finished in the last complete minute, by status.")
    last = overview.throughput[-2] if len(overview.throughput) > 1 else {}
    for status in ("succeeded", "failed", "cancelled"):
        lines.append(f'jobmaster_throughput_per_minute{{{c},status="{status}"}} '
                     f'{last.get(status, 0)}')
    family("jobmaster_job_latency_seconds", "histogram",
           "End-to-end latency (due time to finish) of jobs finished in the window.")
    for bound, count in overview.latency_buckets:
        lines.append(f'jobmaster_job_latency_seconds_bucket{{{c},le="{bound}"}} {count}')
    lines.append(f'jobmaster_job_latency_seconds_bucket{{{c},le="+Inf"}} {overview.latency_count}')
    lines.append(f"jobmaster_job_latency_seconds_sum{{{c}}} {overview.latency_sum:.6f}")
    lines.append(f"jobmaster_job_latency_seconds_count{{{c}}} {overview.latency_count}")
    family("jobmaster_job_run_seconds", "histogram",
           "Run time (attempt start to end) of the attempts of jobs finished in the window.")
    for bound, count in overview.runtime_buckets:
        lines.append(f'jobmaster_job_run_seconds_bucket{{{c},le="{bound}"}} {count}')
    lines.append(f'jobmaster_job_run_seconds_bucket{{{c},le="+Inf"}} {overview.runtime_count}')
    lines.append(f"jobmaster_job_run_seconds_sum{{{c}}} {overview.runtime_sum:.6f}")
    lines.append(f"jobmaster_job_run_seconds_count{{{c}}} {overview.runtime_count}")
    family("jobmaster_sync_lag_seconds", "gauge",
           "Age of the oldest agent outbox event not yet synced to the master.")
    for agent, sync in sorted(overview.sync.items()):
        lines.append(f'jobmaster_sync_lag_seconds{{{c},agent="{_label(agent)}"}} '
                     f'{sync["lag_seconds"]}')
    family("jobmaster_sync_pending_events", "gauge", "Outbox events waiting (capped at 1000).")
    for agent, sync in sorted(overview.sync.items()):
        lines.append(f'jobmaster_sync_pending_events{{{c},agent="{_label(agent)}"}} '
                     f'{sync["pending_events"]}')
    family("jobmaster_live_workers", "gauge", "Workers with a recent heartbeat.")
    lines.append(f"jobmaster_live_workers{{{c}}} {overview.to_dict()['live_workers']}")
    family("jobmaster_worker_jobs_total", "counter",
           "Per-worker counters of the workers running in this process.")
    for worker, stats in sorted(overview.worker_stats.items()):
        for outcome, count in sorted(stats.items()):
            lines.append(f'jobmaster_worker_jobs_total{{{c},worker="{_label(worker)}",'
                         f'outcome="{outcome}"}} {count}')
    return "\n".join(lines) + "\n"
