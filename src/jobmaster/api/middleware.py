"""The guard in front of every route: security headers, body limit, authentication, role and
CSRF checks, rate limits, and 500s that reveal nothing but a correlation id.

It is plain ASGI so that it wraps the API, the docs and the dashboard assets alike: a route
cannot be forgotten (default deny).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .auth import CSRF_HEADER, Authenticator, Principal, is_loopback, local_principal
from .security import RateLimiter
from .settings import ApiSettings

log = logging.getLogger("jobmaster.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Reachable without credentials once authentication is configured (they hold no data).
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/", "/favicon.ico", "/api/health", "/api/session",
                          "/api/session/login"})
#: State-changing routes a viewer may call (their own session).
VIEWER_ACTIONS = frozenset({"/api/session/login", "/api/session/logout"})

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class GuardMiddleware:
    """See the module docstring. ``listen_host`` is the address the server binds (CLI)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, settings: ApiSettings,
                 listen_host: str | None = None) -> None:
        self.app = app
        self.auth = authenticator
        self.settings = settings
        self.listen_host = listen_host
        self.requests = RateLimiter(settings.burst_requests, settings.requests_per_second)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = local_path(scope)
        send = _with_headers(send)
        correlation = uuid.uuid4().hex[:16]
        try:
            denial = self._check(scope, path)
            if denial is not None:
                await _json(send, *denial)
                return
            receive = _limit_body(scope, receive, self.settings.max_body_bytes)
            await self.app(scope, receive, send)
        except BodyTooLarge:
            await _json(send, 413, {"detail": "request body too large",
                                    "limit_bytes": self.settings.max_body_bytes})
        except Exception:
            # The trace goes to the server log with the id; the client sees the id only.
            log.exception("unhandled error in %s %s [correlation_id=%s]",
                          scope.get("method"), path, correlation)
            await _json(send, 500, {"detail": "internal error", "correlation_id": correlation})

    def _check(self, scope: Scope, path: str) -> tuple[int, dict[str, Any], float] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method: str = scope["method"]
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > self.settings.max_body_bytes:
            return 413, {"detail": "request body too large",
                         "limit_bytes": self.settings.max_body_bytes}, 0
        bad = _nul_parameter(scope)
        if bad is not None:
            return 422, {"detail": [{"loc": list(bad), "msg": "NUL characters are not allowed",
                                     "type": "value_error"}]}, 0
        principal = self._principal(scope, headers)
        if principal is None and not (self.auth.config.configured and _public(path)):
            return 401, {"detail": "authentication required"}, 0
        state = scope.setdefault("state", {})
        state["principal"] = principal
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.requests.take(principal.name if principal else f"ip:{client}")
        if wait:
            return 429, {"detail": "too many requests"}, wait
        if method in SAFE_METHODS:
            return None
        if not _origin_ok(headers, scope, self.auth.config.trusted_origins):
            return 403, {"detail": "cross-origin request refused"}, 0
        if principal is None:
            return None  # the login route; it checks its own input
        if path not in VIEWER_ACTIONS and not principal.can_act:
            return 403, {"detail": f"role {principal.role.value!r} may not perform actions"}, 0
        if principal.method in ("session", "local") and path != "/api/session/login" and \
                not self.auth.csrf_valid(principal, headers.get(CSRF_HEADER)):
            return 403, {"detail": "missing or invalid CSRF token"}, 0
        return None

    def _principal(self, scope: Scope, headers: dict[str, str]) -> Principal | None:
        cookies = _cookies(headers.get("cookie", ""))
        principal = self.auth.authenticate(headers, cookies)
        if principal is not None or self.auth.config.configured:
            return principal
        if self.auth.config.allow_anonymous_local and self._all_local(scope, headers):
            return local_principal()
        return None

    def _all_local(self, scope: Scope, headers: dict[str, str]) -> bool:
        # A proxy on the same host makes every client look local: forwarded requests and
        # servers bound to a public address are never "local".
        if "x-forwarded-for" in headers or "forwarded" in headers:
            return False
        if self.listen_host is not None and not is_loopback(self.listen_host):
            return False
        server = (scope.get("server") or ("", 0))[0]
        client = (scope.get("client") or ("", 0))[0]
        return is_loopback(str(server)) and is_loopback(str(client))


class BodyTooLarge(Exception):
    """The request body went over the limit while streaming."""


def _nul_parameter(scope: Scope) -> tuple[str, str] | None:
    """The first query parameter (or the path) holding a NUL character: databases refuse them."""
    if "\x00" in scope["path"]:
        return ("path", "path")
    raw = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in raw and "\x00" not in raw:
        return None
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return ("query", name.replace("\x00", ""))
    return None


def local_path(scope: Scope) -> str:
    """The request path inside this app (without the prefix it is mounted under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path or "/"


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _origin_ok(headers: dict[str, str], scope: Scope, trusted: tuple[str, ...]) -> bool:
    origin = headers.get("origin") or headers.get("referer")
    if not origin:
        return True  # non-browser clients send none; browsers always send Origin on POST
    parts = urlsplit(origin)
    candidate = f"{parts.scheme}://{parts.netloc}"
    host = headers.get("host", "")
    scheme = scope.get("scheme", "http")
    return candidate == f"{scheme}://{host}" or candidate in trusted


def _cookies(raw: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}


def _limit_body(scope: Scope, receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return limited


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", [])
                       if k.lower() not in {h for h, _ in SECURITY_HEADERS}]
            headers.extend(SECURITY_HEADERS)
            message["headers"] = headers
        await send(message)

    return wrapped


async def _json(send: Send, status: int, body: dict[str, Any], retry_after: float = 0) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(max(1, round(retry_after + 0.5))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
