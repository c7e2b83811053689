"""Credential primitives: password and API-key hashes, signed tokens, rate limits.

Only the standard library: passwords are hashed with scrypt (memory-hard, RFC 7914), API keys
with SHA-256 (they are long random strings, so a fast hash is enough), and every comparison of a
secret is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = _SCRYPT_N) -> str:
    """A storable scrypt hash of ``password``: ``scrypt$n$r$p$salt$hash`` (base64url)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a :func:`hash_password` hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
        return hmac.compare_digest(digest, _unb64(expected))
    except (ValueError, TypeError):
        return False


#: A valid hash used to spend the same time when the user name is unknown (no user enumeration).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16), n=2**14)


def burn_password_check(password: str) -> None:
    """Spend as long as a real check, for unknown user names."""
    verify_password(password, _DUMMY_HASH)


def hash_api_key(key: str) -> str:
    """The stored form of an API key: ``sha256$<hex>``. Keep only this, never the key."""
    return "sha256$" + hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key (32 bytes of entropy)."""
    return "jm_" + secrets.token_urlsafe(32)


def api_key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_api_key(key).encode(), stored_hash.encode())


class Signer:
    """HMAC-SHA256 signed, expiring values (session cookies, CSRF tokens)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("session_secret must be at least 32 bytes")
        self._secret = secret

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}|{payload}".encode(), "sha256").digest())

    def sign(self, purpose: str, value: str, ttl_seconds: int) -> str:
        """``value.expiry.mac``; ``value`` must not contain dots."""
        payload = f"{_b64(value.encode())}.{int(time.time()) + ttl_seconds}"
        return f"{payload}.{self._mac(purpose, payload)}"

    def unsign(self, purpose: str, token: str) -> str | None:
        """The value of a valid, unexpired token, else None."""
        try:
            encoded, expiry, mac = token.split(".")
        except ValueError:
            return None
        payload = f"{encoded}.{expiry}"
        if not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        if not expiry.isdigit() or int(expiry) < time.time():
            return None
        try:
            return _unb64(encoded).decode()
        except ValueError:
            return None


class RateLimiter:
    """Token buckets per key (client address, principal); bounded memory (LRU of keys)."""

    def __init__(self, capacity: float, per_second: float, max_keys: int = 10_000) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token: 0.0 when allowed, else the seconds to wait (for Retry-After)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.per_second
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait
