"""Authentication and authorization: default deny, each auth mode's 401, viewer 403 on every
action, sessions with CSRF, rate limits, headers and error hygiene (faults.md §3, S1-S18)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jobmaster.api import ApiSettings, AuthConfig, JwtConfig, create_app

from .conftest import AUDIENCE, BASE, HS_KEY, ISSUER, OPERATOR_KEY, VIEWER_KEY, Cluster, make_jwt


def routes(asgi: Any) -> list[tuple[str, str]]:
    """Every (method, concrete path) the application serves, path parameters filled in."""
    found = []
    for route in _walk(asgi.routes):
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or {"GET"}
        concrete = path.replace("{job_id}", "j").replace("{worker_id}", "w") \
            .replace("{schedule_id}", "s")
        if "{" in concrete:
            concrete = concrete.split("{")[0] + "x"
        for method in methods - {"HEAD"}:
            found.append((method, concrete or "/"))
    found.append(("GET", "/static/app.js"))
    return found


def _walk(table: list[Any]) -> list[Any]:
    flat = []
    for route in table:
        inner = getattr(route, "original_router", None)
        flat.extend(_walk(inner.routes) if inner is not None else [route])
    return flat


def actions(asgi: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes(asgi)
            if m not in ("GET", "HEAD", "OPTIONS") and not p.startswith("/api/session")]


async def test_every_route_is_denied_from_a_non_loopback_client(open_cluster: Cluster) -> None:
    table = routes(open_cluster.asgi)
    assert len(table) > 25
    async with open_cluster.client(client_addr=("203.0.113.7", 4000)) as client:
        for method, path in table:
            response = await client.request(method, path)
            assert response.status_code == 401, (method, path, response.status_code)


async def test_loopback_behind_a_proxy_or_public_bind_is_denied(open_cluster: Cluster) -> None:
    async with open_cluster.client() as client:
        assert (await client.get("/api/jobs")).status_code == 200
        response = await client.get("/api/jobs", headers={"x-forwarded-for": "203.0.113.7"})
        assert response.status_code == 401
    public = create_app(open_cluster.app, listen_host="0.0.0.0")
    transport = httpx.ASGITransport(app=public, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        assert (await client.get("/api/jobs")).status_code == 401
        assert (await client.get("/")).status_code == 401


async def test_anonymous_local_actions_need_csrf(open_cluster: Cluster) -> None:
    job = open_cluster.queued[0]
    async with open_cluster.client() as client:
        assert (await client.post(f"/api/jobs/{job}/cancel")).status_code == 403
        token = (await client.get("/api/session")).json()["csrf_token"]
        response = await client.post(f"/api/jobs/{job}/cancel", headers={"x-csrf-token": token,
                                                                         "origin": BASE})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": "wrong-key-0123456789"},
    {"x-api-key": OPERATOR_KEY[:-1]},
    {"authorization": "Bearer not-a-jwt"},
    {"authorization": "Basic b2xpdmlhOm9wZXJhdG9yLXBhc3M="},
    {"authorization": "Bearer " + make_jwt(exp=int(time.time()) - 3600)},
    {"authorization": "Bearer " + make_jwt(iss="https://evil.test")},
    {"authorization": "Bearer " + make_jwt(aud="someone-else")},
    {"authorization": "Bearer " + make_jwt(key="z" * 40)},
    {"cookie": "jm_session=forged.9999999999.AAAA"},
], ids=["none", "bad-key", "truncated-key", "garbage-jwt", "basic", "expired-jwt", "wrong-iss",
        "wrong-aud", "wrong-secret", "forged-cookie"])
async def test_bad_credentials_get_401(cluster: Cluster, headers: dict[str, str]) -> None:
    async with cluster.client(headers) as client:
        assert (await client.get("/api/jobs")).status_code == 401
        assert (await client.get("/metrics")).status_code == 401


async def test_jwt_without_exp_or_with_alg_none_is_refused(cluster: Cluster) -> None:
    import jwt

    no_exp = jwt.encode({"sub": "a", "iss": ISSUER, "aud": AUDIENCE}, HS_KEY, algorithm="HS256")
    none_alg = jwt.encode({"sub": "a", "iss": ISSUER, "aud": AUDIENCE,
                           "exp": int(time.time()) + 60}, None, algorithm="none")
    for token in (no_exp, none_alg):
        async with cluster.client({"authorization": f"Bearer {token}"}) as client:
            assert (await client.get("/api/jobs")).status_code == 401


async def test_jwt_hs256_roles(cluster: Cluster) -> None:
    async with cluster.client({"authorization": "Bearer " + make_jwt("operator")}) as client:
        me = (await client.get("/api/session")).json()
        assert (me["user"], me["role"], me["method"]) == ("alice", "operator", "jwt")
        assert (await client.post(f"/api/jobs/{cluster.queued[0]}/cancel")).status_code == 200


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


async def test_jwt_rs256_and_revocation(cluster: Cluster) -> None:
    private, public = _rsa_pair()
    other_private, _ = _rsa_pair()
    auth = AuthConfig(jwt=JwtConfig(key=public, issuer=ISSUER, audience=AUDIENCE,
                                    algorithm="RS256",
                                    is_revoked=lambda claims: claims.get("jti") == "revoked"))
    asgi = create_app(cluster.app, auth)

    async def status(token: str) -> int:
        transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                     headers={"authorization": f"Bearer {token}"}) as client:
            return (await client.get("/api/jobs")).status_code

    assert await status(make_jwt(key=private, algorithm="RS256")) == 200
    assert await status(make_jwt(key=other_private, algorithm="RS256")) == 401
    assert await status(make_jwt(key=private, algorithm="RS256", jti="revoked")) == 401
    # an HS256 token signed with the public key (algorithm confusion) is refused
    import jwt as pyjwt

    with pytest.raises(pyjwt.InvalidKeyError):
        make_jwt(key=public, algorithm="HS256")


async def _session(cluster: Cluster, user: str, password: str) -> tuple[httpx.AsyncClient, str]:
    client = cluster.client({"origin": BASE})
    response = await client.post("/api/session/login", json={"username": user,
                                                            "password": password})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


async def test_viewer_gets_403_on_every_action_in_every_mode(cluster: Cluster) -> None:
    table = actions(cluster.asgi)
    assert len(table) >= 11
    viewer_session, csrf = await _session(cluster, "victor", "viewer-pass")
    clients = [cluster.client({"x-api-key": VIEWER_KEY}),
               cluster.client({"authorization": "Bearer " + make_jwt("viewer")}),
               viewer_session]
    for client in clients:
        try:
            for method, path in table:
                response = await client.request(method, path, json={},
                                                headers={"x-csrf-token": csrf})
                assert response.status_code == 403, (method, path, response.text)
            assert (await client.get("/api/jobs")).status_code == 200
        finally:
            await client.aclose()


async def test_session_cookie_flags_and_csrf(cluster: Cluster) -> None:
    client, csrf = await _session(cluster, "olivia", "operator-pass")
    try:
        response = await client.post("/api/session/login", json={"username": "olivia",
                                                                 "password": "operator-pass"})
        csrf = response.json()["csrf_token"]
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "operator-pass" not in cookie and "operator-pass" not in response.text
        job = cluster.queued[0]
        assert (await client.post(f"/api/jobs/{job}/cancel")).status_code == 403  # no token
        bad = await client.post(f"/api/jobs/{job}/cancel", headers={"x-csrf-token": "x.1.y"})
        assert bad.status_code == 403
        foreign = await client.post(f"/api/jobs/{job}/cancel", headers={
            "x-csrf-token": csrf, "origin": "https://evil.example"})
        assert foreign.status_code == 403
        ok = await client.post(f"/api/jobs/{job}/cancel", headers={"x-csrf-token": csrf})
        assert ok.status_code == 200, ok.text
        me = (await client.get("/api/session")).json()
        assert me["user"] == "olivia" and me["method"] == "session"
        assert (await client.post("/api/session/logout",
                                  headers={"x-csrf-token": csrf})).status_code == 200
    finally:
        await client.aclose()


async def test_wrong_password_and_login_rate_limit(cluster: Cluster) -> None:
    async with cluster.client() as client:
        codes = [(await client.post("/api/session/login", json={
            "username": "olivia", "password": f"wrong-{i}"})).status_code for i in range(12)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        limited = await client.post("/api/session/login", json={"username": "olivia",
                                                                "password": "operator-pass"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        unknown = await client.post("/api/session/login", json={"username": "nobody",
                                                                "password": "whatever1"})
        assert unknown.status_code in (401, 429)


def test_api_keys_and_passwords_are_stored_hashed() -> None:
    auth = AuthConfig(jwt=JwtConfig(key=HS_KEY, issuer=ISSUER, audience=AUDIENCE))
    auth.add_api_key("ci", OPERATOR_KEY, "operator").add_user("u", "pass-word-1")
    text = repr(auth)
    assert OPERATOR_KEY not in text and "pass-word-1" not in text and HS_KEY not in text
    assert repr(auth.session_secret) not in text
    assert auth.api_keys[0].key_hash.startswith("sha256$")
    assert auth.users[0].password_hash.startswith("scrypt$")


async def test_security_headers_everywhere(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    async with cluster.client() as anonymous:
        responses = [await operator.get("/"), await operator.get("/api/jobs"),
                     await operator.get("/static/app.js"), await anonymous.get("/api/jobs")]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_500_returns_a_correlation_id_only(cluster: Cluster,
                                                operator: httpx.AsyncClient,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    async def broken(job_id: str) -> None:
        raise RuntimeError("connect failed: postgresql://admin:s3cret@db.internal/prod "
                           "SELECT * FROM jm_job")

    monkeypatch.setattr(cluster.app, "get_job", broken)
    response = await operator.get("/api/jobs/abc")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"detail", "correlation_id"}
    assert "s3cret" not in response.text and "SELECT" not in response.text
    assert body["correlation_id"] in caplog.text


async def test_enqueue_rate_limit_and_queue_cap(cluster: Cluster) -> None:
    asgi = create_app(cluster.app, AuthConfig().add_api_key("ops", OPERATOR_KEY, "operator"),
                      settings=ApiSettings(enqueues_per_second=0.01, burst_enqueues=2,
                                           max_queue_depth=3))
    transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                 headers={"x-api-key": OPERATOR_KEY}) as client:
        body = {"definition_id": "slow"}
        assert (await client.post("/api/jobs", json=body)).status_code == 201
        capped = await client.post("/api/jobs", json=body)  # 3 queued now
        assert capped.status_code == 429 and "queue depth" in capped.text
        limited = await client.post("/api/jobs", json=body)
        assert limited.status_code == 429 and "retry-after" in limited.headers


async def test_request_rate_limit_and_cached_overview(cluster: Cluster) -> None:
    asgi = create_app(cluster.app, AuthConfig().add_api_key("ops", OPERATOR_KEY, "operator"),
                      settings=ApiSettings(requests_per_second=0.1, burst_requests=5,
                                           min_poll_interval=60))
    transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                 headers={"x-api-key": OPERATOR_KEY}) as client:
        first = (await client.get("/api/overview")).json()
        second = (await client.get("/api/overview")).json()
        assert first["taken_at"] == second["taken_at"]  # min interval enforced server-side
        codes = [(await client.get("/api/overview")).status_code for _ in range(5)]
        assert 429 in codes


async def test_body_size_limit(cluster: Cluster, operator: httpx.AsyncClient) -> None:
    response = await operator.post("/api/session/login", content=b"x" * (2 * 1024 * 1024),
                                   headers={"content-type": "application/json"})
    assert response.status_code == 413
