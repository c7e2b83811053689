"""``/api/cluster``, ``/api/health``, ``/api/overview``, ``/metrics``, ``/api/workers``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import fields
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from ..._redact import redact_text
from ..deps import fail, principal, state
from ..metrics import render
from ..schemas import ActionResult, Worker
from ..serialize import jsonable, worker_to_dict

router = APIRouter(tags=["cluster"])
log = logging.getLogger("jobmaster.api")


@router.get("/api/cluster", summary="Cluster configuration (no secrets)")
async def cluster(request: Request) -> dict[str, Any]:
    """Cluster id, options, master and agent backends (locations without credentials) and
    the workers declared by this process."""
    config = state(request).app.config
    options = {f.name: jsonable(getattr(config.options, f.name)) for f in fields(config.options)}
    master = config.master
    return {
        "cluster_id": config.cluster_id,
        "options": options,
        "master": {"kind": master.kind, "location": redact_text(master.describe())}
        if master else None,
        "agents": await _agents(request),
        "declared_workers": [
            {"name": w.name, "agent": w.agent, "lanes": list(w.lanes),
             "concurrency": w.concurrency, "batch_size": w.batch_size}
            for w in config.workers
        ],
    }


async def _agents(request: Request) -> list[dict[str, Any]]:
    app = state(request).app
    out = []
    for name, agent in app.agents.items():
        spec = app.config.agents[name].backend
        out.append({
            "name": name,
            "kind": spec.kind if spec else None,
            "location": redact_text(spec.describe()) if spec else None,
            "capabilities": agent.capabilities.name,
            "queue_depth": dict(await agent.queue_depth()),
        })
    return out


@router.get("/api/cluster/agents", summary="Agent connections with queue depth per lane")
async def agents(request: Request) -> list[dict[str, Any]]:
    """Every agent connection of the cluster."""
    return await _agents(request)


@router.get("/api/health", summary="Liveness of the master and agents")
async def health(request: Request) -> dict[str, Any]:
    """``ok`` when the master and every agent answer; anonymous callers get only the status."""
    app = state(request).app
    checks: dict[str, str] = {}
    stores: list[tuple[str, Any]] = [("master", app.master)]
    stores.extend((f"agent:{n}", a) for n, a in app.agents.items())
    for name, store in stores:
        try:
            await asyncio.wait_for(store.now(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:
            log.warning("health check of %s failed: %s", name, type(exc).__name__)
            checks[name] = "down"
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    if principal(request) is None:
        return {"status": status}
    return {"status": status, "checks": checks}


@router.get("/api/overview", summary="Dashboard overview (cached; min poll interval)")
async def overview(request: Request) -> dict[str, Any]:
    """Counts by status, throughput per minute, queue depth, sync lag and workers. Recomputed
    at most once per ``poll_interval_seconds``: polling faster returns the same snapshot."""
    api = state(request)
    data = (await api.stats.overview()).to_dict()
    data["poll_interval_seconds"] = api.settings.min_poll_interval
    return data


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
@router.get("/api/metrics", response_class=PlainTextResponse, include_in_schema=False)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format 0.0.4."""
    api = state(request)
    text = render(await api.stats.overview(), api.app.config.cluster_id)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/api/workers", response_model=list[Worker], summary="Workers of the topology")
async def list_workers(
    request: Request,
    agent: Annotated[str | None, Query(max_length=200)] = None,
    lane: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    alive: bool | None = None,
) -> list[dict[str, Any]]:
    """Filter by agent, lane (workers serving it), status and liveness."""
    api = state(request)
    now = datetime.now(UTC)
    out = []
    for record in await api.app._require_started().list_workers():
        item = worker_to_dict(record, now, record.id in api.drains)
        if agent is not None and item["agent"] != agent:
            continue
        if lane is not None and lane not in item["lanes"] and "*" not in item["lanes"]:
            continue
        if status is not None and item["status"] != status:
            continue
        if alive is not None and item["alive"] != alive:
            continue
        out.append(item)
    return out


async def _worker(request: Request, worker_id: str) -> dict[str, Any]:
    api = state(request)
    now = datetime.now(UTC)
    for record in await api.app._require_started().list_workers():
        if record.id == worker_id:
            return worker_to_dict(record, now, record.id in api.drains)
    fail(404, "worker not found")


@router.get("/api/workers/{worker_id}", response_model=Worker, summary="One worker")
async def get_worker(request: Request, worker_id: str) -> dict[str, Any]:
    """A worker with liveness and whether a drain was requested."""
    return await _worker(request, worker_id)


@router.post("/api/workers/{worker_id}/drain", response_model=ActionResult, status_code=202,
             summary="Request a graceful drain")
async def drain(request: Request, worker_id: str) -> dict[str, Any]:
    """The worker stops claiming, finishes its running jobs and deregisters. A worker of this
    process is stopped at once; others see ``status = draining`` on the master (the worker
    runtime acts on it at its next heartbeat)."""
    api = state(request)
    await _worker(request, worker_id)
    api.drains.add(worker_id)
    master = api.app._require_started()
    local = next((w for w in api.app.workers if w.worker_id == worker_id), None)
    if local is not None:
        await master.set_worker_status(worker_id, "stopping")
        task = asyncio.get_running_loop().create_task(local.stop())
        api.extra.setdefault("drain_tasks", set()).add(task)
        return {"ok": True, "id": worker_id, "detail": "stopping (in this process)"}
    await master.set_worker_status(worker_id, "draining")
    return {"ok": True, "id": worker_id, "detail": "drain requested"}
