"""Every endpoint on a real JobMaster (memory backend), authenticated as an operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from .conftest import Cluster


async def test_list_jobs_newest_first_with_keyset_paging(cluster: Cluster,
                                                         operator: httpx.AsyncClient) -> None:
    everything = (await operator.get("/api/jobs", params={"limit": 100})).json()["items"]
    assert len(everything) == 6
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await operator.get("/api/jobs", params=params)).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [j["id"] for j in everything]


async def test_list_jobs_filters(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    async def ids(**params: str) -> set[str]:
        response = await operator.get("/api/jobs", params=params)
        assert response.status_code == 200, response.text
        return {j["id"] for j in response.json()["items"]}

    assert await ids(status="succeeded") == set(cluster.succeeded)
    assert await ids(status="failed") == set(cluster.failed)
    assert await ids(status="queued") == set(cluster.queued)
    assert await ids(definition="explode") == set(cluster.failed)
    assert await ids(lane="emails") == set(cluster.queued)
    assert await ids(metadata="team=core") == {cluster.succeeded[0], cluster.succeeded[2]}
    assert await ids(metadata="team=growth", status="queued") == set(cluster.queued)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await ids(created_from=future) == set()
    assert len(await ids(created_to=future)) == 6
    assert await ids(schedule="nope") == set()


async def test_metadata_filter_pages(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    first = (await operator.get("/api/jobs", params={"metadata": "team=growth",
                                                     "limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = (await operator.get("/api/jobs", params={"metadata": "team=growth", "limit": 10,
                                                    "cursor": first["next_cursor"]})).json()
    ids = [j["id"] for j in first["items"] + rest["items"]]
    assert sorted(ids) == sorted([cluster.succeeded[1], *cluster.queued])


async def test_job_detail_has_every_attempt(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    job = (await operator.get(f"/api/jobs/{cluster.failed[0]}")).json()
    assert job["status"] == "failed"
    assert [a["number"] for a in job["attempts"]] == [1, 2]
    assert all(a["outcome"] == "failed" for a in job["attempts"])
    assert "boom" in job["attempts"][0]["error"]
    assert "RuntimeError" in job["attempts"][0]["traceback"]
    assert job["msg_data"] == {"n": 99}


async def test_secret_fields_are_redacted(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    response = await operator.get(f"/api/jobs/{cluster.succeeded[0]}")
    assert response.json()["msg_data"]["password"] == "***"
    assert "hunter2" not in response.text


async def test_unknown_job_is_404(operator: httpx.AsyncClient) -> None:
    assert (await operator.get("/api/jobs/does-not-exist")).status_code == 404
    assert (await operator.post("/api/jobs/does-not-exist/cancel")).status_code == 404


async def test_cancel_retry_reschedule(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    queued = cluster.queued[0]
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    response = await operator.post(f"/api/jobs/{queued}/reschedule", json={"scheduled_at": later})
    assert response.status_code == 200, response.text
    detail = (await operator.get(f"/api/jobs/{queued}")).json()
    assert datetime.fromisoformat(detail["scheduled_at"]) == datetime.fromisoformat(later)
    assert (await operator.post(f"/api/jobs/{queued}/retry")).status_code == 200
    detail = (await operator.get(f"/api/jobs/{queued}")).json()
    assert datetime.fromisoformat(detail["scheduled_at"]) < datetime.now(UTC) + timedelta(seconds=5)
    assert (await operator.post(f"/api/jobs/{queued}/cancel")).status_code == 200
    await cluster.app.sync_now()
    assert (await operator.get(f"/api/jobs/{queued}")).json()["status"] == "cancelled"
    # final jobs cannot be acted on
    assert (await operator.post(f"/api/jobs/{queued}/cancel")).status_code == 409
    assert (await operator.post(f"/api/jobs/{cluster.succeeded[0]}/retry")).status_code == 409
    response = await operator.post(f"/api/jobs/{cluster.succeeded[0]}/reschedule",
                                   json={"scheduled_at": later})
    assert response.status_code == 409


async def test_enqueue_by_definition_id(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    response = await operator.post("/api/jobs", json={
        "definition_id": "slow", "payload": {"to": "a@example.com"}, "priority": 5,
        "metadata": {"source": "api"}, "idempotency_key": "k-1"})
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    job = (await operator.get(f"/api/jobs/{job_id}")).json()
    assert job["status"] == "queued" and job["priority"] == 5
    assert job["msg_data"] == {"to": "a@example.com"}
    again = await operator.post("/api/jobs", json={"definition_id": "slow", "idempotency_key": "k-1"})
    assert again.json() == {"ok": True, "id": job_id, "detail": "existing"}
    delayed = await operator.post("/api/jobs", json={"definition_id": "slow", "delay_seconds": 60})
    assert delayed.status_code == 201
    at = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await operator.post("/api/jobs", json={"definition_id": "slow",
                                                   "scheduled_at": at})).status_code == 201


async def test_enqueue_too_large_is_413_and_stores_nothing(
        cluster: Cluster, operator: httpx.AsyncClient) -> None:
    before = len((await operator.get("/api/jobs", params={"limit": 500})).json()["items"])
    big = {"definition_id": "greet", "payload": {"blob": "x" * 300_000}}
    assert (await operator.post("/api/jobs", json=big)).status_code == 413
    huge = b'{"definition_id": "greet", "payload": {"blob": "' + b"x" * 2_000_000 + b'"}}'
    response = await operator.post("/api/jobs", content=huge,
                                    headers={"content-type": "application/json"})
    assert response.status_code == 413
    after = len((await operator.get("/api/jobs", params={"limit": 500})).json()["items"])
    assert after == before


async def test_bad_input_is_422_naming_the_field(operator: httpx.AsyncClient) -> None:
    cases = [
        ("get", "/api/jobs", {"params": {"status": "exploded"}}, "status"),
        ("get", "/api/jobs", {"params": {"limit": "0"}}, "limit"),
        ("get", "/api/jobs", {"params": {"limit": "many"}}, "limit"),
        ("get", "/api/jobs", {"params": {"cursor": "%%%"}}, "cursor"),
        ("get", "/api/jobs", {"params": {"created_from": "yesterday"}}, "created_from"),
        ("get", "/api/jobs", {"params": {"created_from": "2024-01-01T00:00:00"}}, "created_from"),
        ("get", "/api/jobs", {"params": {"metadata": "novalue"}}, "metadata"),
        ("post", "/api/jobs", {"json": {"payload": {}}}, "definition_id"),
        ("post", "/api/jobs", {"json": {"definition_id": "nope"}}, "definition_id"),
        ("post", "/api/jobs", {"json": {"definition_id": "greet", "priority": 9}}, "priority"),
        ("post", "/api/jobs", {"json": {"definition_id": "greet", "payload": [1]}}, "payload"),
        ("post", "/api/jobs", {"json": {"definition_id": "greet", "bogus": 1}}, "bogus"),
        ("post", "/api/jobs", {"json": {"definition_id": "greet",
                                        "scheduled_at": "2030-01-01T00:00:00"}}, "scheduled_at"),
        ("get", "/api/logs", {"params": {"level": "loud"}}, "level"),
        ("get", "/api/workers", {"params": {"alive": "maybe"}}, "alive"),
    ]
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    cases.append(("post", "/api/jobs", {"json": {"definition_id": "greet", "payload": deep}},
                  "payload"))
    for method, path, kwargs, name in cases:
        response = await getattr(operator, method)(path, **kwargs)
        assert response.status_code == 422, (path, kwargs, response.text)
        assert name in str([e["loc"] for e in response.json()["detail"]]), response.text


async def test_limit_is_clamped(operator: httpx.AsyncClient) -> None:
    response = await operator.get("/api/jobs", params={"limit": 10**9})
    assert response.status_code == 200
    response = await operator.get("/api/jobs", params={"limit": 10**30})
    assert response.status_code in (200, 422)


async def test_cluster_agents_health(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    config = (await operator.get("/api/cluster")).json()
    assert config["cluster_id"] == "test"
    assert config["master"]["kind"] == "memory"
    agents = (await operator.get("/api/cluster/agents")).json()
    assert agents[0]["name"] == "standalone"
    assert agents[0]["queue_depth"] == {"emails": 2}
    health = (await operator.get("/api/health")).json()
    assert health == {"status": "ok", "checks": {"master": "ok", "agent:standalone": "ok"}}


async def test_overview_and_metrics(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    data = (await operator.get("/api/overview")).json()
    assert data["counts"] == {"queued": 2, "processing": 0, "succeeded": 3, "failed": 1,
                              "cancelled": 0}
    assert len(data["throughput"]) == 60
    assert sum(b["succeeded"] for b in data["throughput"]) == 3
    assert data["live_workers"] == 1
    text = (await operator.get("/metrics")).text
    assert 'jobmaster_queue_depth{cluster="test",agent="standalone",lane="emails"} 2' in text
    assert 'jobmaster_jobs{cluster="test",status="succeeded"} 3' in text
    assert 'jobmaster_job_latency_seconds_count{cluster="test"} 4' in text
    assert "jobmaster_job_run_seconds_count{cluster=\"test\"} 5" in text  # 4 jobs, 5 attempts
    assert 'jobmaster_sync_lag_seconds{cluster="test",agent="standalone"}' in text
    assert 'jobmaster_live_workers{cluster="test"} 1' in text
    assert "jobmaster_worker_jobs_total" in text


async def test_workers_list_filter_detail_drain(cluster: Cluster,
                                                operator: httpx.AsyncClient) -> None:
    workers = (await operator.get("/api/workers")).json()
    assert len(workers) == 1 and workers[0]["alive"]
    worker_id = workers[0]["id"]
    assert (await operator.get("/api/workers", params={"agent": "other"})).json() == []
    assert len((await operator.get("/api/workers", params={"lane": "emails",
                                                           "alive": "true"})).json()) == 1
    assert (await operator.get(f"/api/workers/{worker_id}")).json()["id"] == worker_id
    assert (await operator.get("/api/workers/nope")).status_code == 404
    response = await operator.post(f"/api/workers/{worker_id}/drain")
    assert response.status_code == 202, response.text
    detail = (await operator.get(f"/api/workers/{worker_id}")).json()
    assert detail["drain_requested"] and detail["status"] in ("stopping", "draining")


async def test_logs_are_filtered_and_redacted(cluster: Cluster,
                                              operator: httpx.AsyncClient) -> None:
    import logging

    logging.getLogger("jobmaster.test").warning(
        "connect postgresql://u:s3cret@db/x failed password=s3cret")
    logging.getLogger("jobmaster.other").error("hello info")
    records = (await operator.get("/api/logs", params={"level": "warning"})).json()
    assert records and all(r["level"] in ("warning", "error", "critical") for r in records)
    assert "s3cret" not in str(records)
    found = (await operator.get("/api/logs", params={"subject": "jobmaster.other",
                                                     "text": "HELLO"})).json()
    assert [r["message"] for r in found] == ["hello info"]
    since = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await operator.get("/api/logs", params={"since": since})).json() == []


async def test_openapi_and_dashboard_assets(operator: httpx.AsyncClient) -> None:
    document = (await operator.get("/api/openapi.json")).json()
    assert "/api/jobs" in document["paths"] and "/api/schedules/{schedule_id}/pause" in \
        document["paths"]
    assert (await operator.get("/api/docs")).status_code in (302, 307)
    index = await operator.get("/")
    assert index.status_code == 200 and "static/app.js" in index.text
    for asset in ("app.js", "core.js", "jobs.js", "overview.js", "pages.js", "style.css"):
        assert (await operator.get(f"/static/{asset}")).status_code == 200
    for script in ("app.js", "core.js", "jobs.js", "overview.js", "pages.js"):
        assert "innerHTML" not in (await operator.get(f"/static/{script}")).text


async def test_mountable_in_a_starlette_app(cluster: Cluster) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from .conftest import OPERATOR_KEY

    outer = Starlette(routes=[Mount("/ops", app=cluster.asgi)])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                 headers={"x-api-key": OPERATOR_KEY}) as client:
        assert (await client.get("/ops/api/jobs")).status_code == 200
        assert (await client.get("/ops/")).status_code == 200
        assert (await client.get("/ops/static/app.js")).status_code == 200
        assert (await client.get("/api/jobs")).status_code == 404


async def test_only_json_bodies_are_accepted(operator: httpx.AsyncClient) -> None:
    import pickle

    blob = pickle.dumps({"definition_id": "greet"})
    for content_type in ("application/python-pickle", "application/x-yaml",
                         "application/octet-stream"):
        response = await operator.post("/api/jobs", content=blob,
                                       headers={"content-type": content_type})
        assert 400 <= response.status_code < 500, (content_type, response.status_code)
