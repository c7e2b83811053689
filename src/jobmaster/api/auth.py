"""Who is calling: API keys, JWT bearer tokens and dashboard sessions, mapped to a role.

Roles: ``viewer`` reads everything; ``operator`` may also act (cancel, retry, reschedule,
enqueue, drain, edit schedules). Configure with :class:`AuthConfig`; see docs/auth.md.
"""

from __future__ import annotations

import enum
import ipaddress
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from .security import Signer, api_key_matches, hash_api_key, hash_password

SESSION_COOKIE = "jm_session"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = 8 * 3600


class Role(enum.StrEnum):
    """What a principal may do."""

    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``method`` is api_key | jwt | session | local."""

    name: str
    role: Role
    method: str
    session_id: str | None = None

    @property
    def can_act(self) -> bool:
        """True for operators."""
        return self.role is Role.OPERATOR


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key by owner name; only its hash is kept (see :func:`hash_api_key`)."""

    name: str
    key_hash: str
    role: Role = Role.VIEWER


@dataclass(frozen=True, slots=True)
class User:
    """A dashboard user; ``password_hash`` from :func:`hash_password`."""

    name: str
    password_hash: str
    role: Role = Role.VIEWER


@dataclass(frozen=True, slots=True)
class JwtConfig:
    """JWT bearer validation. HS256 takes a shared ``key``; RS256 a PEM public key.

    ``issuer``, ``audience`` and ``exp`` are required and checked. The role comes from the claim
    ``role_claim`` (``viewer`` unless it says ``operator``); ``is_revoked`` receives the claims
    and may reject a token (e.g. by its ``jti``).
    """

    key: str = field(repr=False)
    issuer: str
    audience: str
    algorithm: str = "HS256"
    role_claim: str = "role"
    leeway_seconds: int = 30
    is_revoked: Callable[[Mapping[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ("HS256", "RS256"):
            raise ValueError(f"JwtConfig.algorithm must be HS256 or RS256, got {self.algorithm!r}")
        if self.algorithm == "HS256" and len(self.key) < 32:
            raise ValueError("JwtConfig.key must be at least 32 characters for HS256")


@dataclass(slots=True)
class AuthConfig:
    """Authentication settings of the API and dashboard.

    With no method configured the server answers only loopback clients on a loopback address
    (local development); anything else gets 401. ``allow_anonymous_local=False`` requires
    credentials even on loopback.
    """

    api_keys: list[ApiKey] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    jwt: JwtConfig | None = None
    api_key_header: str = "x-api-key"
    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    allow_anonymous_local: bool = True
    #: Extra origins accepted on state-changing requests (the server's own is always accepted).
    trusted_origins: tuple[str, ...] = ()
    secure_cookies: bool | None = None  # None: Secure when the request came over https

    def add_api_key(self, name: str, key: str, role: Role | str = Role.VIEWER) -> AuthConfig:
        """Register a key (stored hashed). Returns self for chaining."""
        if len(key) < 16:
            raise ValueError(f"api key {name!r}: must be at least 16 characters")
        self.api_keys.append(ApiKey(name, hash_api_key(key), Role(role)))
        return self

    def add_user(self, name: str, password: str, role: Role | str = Role.VIEWER) -> AuthConfig:
        """Register a dashboard user (password stored as a scrypt hash)."""
        if len(password) < 8:
            raise ValueError(f"user {name!r}: password must be at least 8 characters")
        self.users.append(User(name, hash_password(password), Role(role)))
        return self

    @property
    def configured(self) -> bool:
        """True when at least one authentication method is set up."""
        return bool(self.api_keys or self.users or self.jwt)

    def signer(self) -> Signer:
        """The signer of sessions and CSRF tokens."""
        return Signer(self.session_secret)


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Resolves the principal of a request from its headers and cookies."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.signer = config.signer()
        self.users = {u.name: u for u in config.users}

    def from_api_key(self, key: str) -> Principal | None:
        # Check every key (no early exit) so timing does not reveal which one nearly matched.
        found: ApiKey | None = None
        for entry in self.config.api_keys:
            if api_key_matches(key, entry.key_hash):
                found = entry
        return Principal(found.name, found.role, "api_key") if found else None

    def from_jwt(self, token: str) -> Principal | None:
        settings = self.config.jwt
        if settings is None:
            return None
        try:
            claims = jwt.decode(
                token,
                settings.key,
                algorithms=[settings.algorithm],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        if settings.is_revoked is not None and settings.is_revoked(claims):
            return None
        role = Role.OPERATOR if claims.get(settings.role_claim) == "operator" else Role.VIEWER
        return Principal(str(claims["sub"]), role, "jwt")

    def from_session(self, cookie: str) -> Principal | None:
        value = self.signer.unsign("session", cookie)
        if value is None:
            return None
        name, _, session_id = value.partition("|")
        user = self.users.get(name)
        return Principal(user.name, user.role, "session", session_id) if user else None

    def session_cookie(self, user: User) -> tuple[str, str]:
        """A new signed session cookie value and its CSRF token."""
        session_id = secrets.token_urlsafe(16)
        cookie = self.signer.sign("session", f"{user.name}|{session_id}", SESSION_TTL)
        return cookie, self.csrf_token(session_id)

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token bound to one session."""
        return self.signer.sign("csrf", session_id, SESSION_TTL)

    def csrf_valid(self, principal: Principal, token: str | None) -> bool:
        """True when ``token`` is the CSRF token of the principal's session."""
        if token is None or principal.session_id is None:
            return False
        return self.signer.unsign("csrf", token) == principal.session_id

    def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Principal | None:
        """The principal of a request, or None (one method per request, by precedence)."""
        key = headers.get(self.config.api_key_header)
        if key:
            return self.from_api_key(key)
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            return self.from_jwt(token.strip()) if scheme.lower() == "bearer" else None
        cookie = cookies.get(SESSION_COOKIE)
        return self.from_session(cookie) if cookie else None


def local_principal() -> Principal:
    """The anonymous operator of an unconfigured, loopback-only server."""
    return Principal("local", Role.OPERATOR, "local", session_id="local")


def names(values: Iterable[Role]) -> list[str]:
    """Role names (for docs and errors)."""
    return [v.value for v in values]
