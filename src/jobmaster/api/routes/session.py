"""``/api/session``: dashboard login (signed HttpOnly cookie + CSRF token), logout, whoami."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response

from ..auth import SESSION_COOKIE, SESSION_TTL
from ..deps import fail, principal, retry_after, state
from ..schemas import LoginRequest
from ..security import burn_password_check, verify_password

router = APIRouter(prefix="/api/session", tags=["session"])
log = logging.getLogger("jobmaster.api")


@router.get("", summary="Who am I (and the CSRF token of my session)")
async def whoami(request: Request) -> dict[str, Any]:
    """The caller's name, role and authentication method, the CSRF token to send as
    ``X-CSRF-Token`` on actions (sessions only) and the dashboard's poll interval."""
    api = state(request)
    who = principal(request)
    body: dict[str, Any] = {
        "authenticated": who is not None,
        "auth_configured": api.auth.config.configured,
        "poll_interval_seconds": api.settings.min_poll_interval,
    }
    if who is not None:
        body.update(user=who.name, role=who.role.value, method=who.method,
                    cluster_id=api.app.config.cluster_id)
        if who.session_id is not None:
            body["csrf_token"] = api.auth.csrf_token(who.session_id)
    return body


@router.post("/login", summary="Log in to the dashboard")
async def login(request: Request, body: LoginRequest, response: Response) -> dict[str, Any]:
    """Checks the password (scrypt), sets the session cookie (HttpOnly, SameSite=Strict,
    signed) and returns the CSRF token. 10 attempts per minute per address and per user."""
    api = state(request)
    client = (request.client.host if request.client else "?")
    for key in (f"ip:{client}", f"user:{body.username}"):
        wait = api.login_limiter.take(key)
        if wait:
            fail(429, "too many login attempts", retry_after(wait))
    user = api.auth.users.get(body.username)
    if user is None:
        burn_password_check(body.password)
    if user is None or not verify_password(body.password, user.password_hash):
        log.info("dashboard login refused for a user name of %d characters", len(body.username))
        fail(401, "wrong user name or password")
    cookie, csrf = api.auth.session_cookie(user)
    secure = api.auth.config.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_TTL, httponly=True,
                        samesite="strict", secure=secure, path="/")
    log.info("dashboard login: %s (%s)", user.name, user.role.value)
    return {"user": user.name, "role": user.role.value, "csrf_token": csrf}


@router.post("/logout", summary="Log out")
async def logout(response: Response) -> dict[str, Any]:
    """Clears the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return {"ok": True}
