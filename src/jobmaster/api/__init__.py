"""HTTP API and dashboard of JobMaster (install with ``pip install 'jobmaster[api]'``).

>>> from jobmaster.api import AuthConfig, create_app   # doctest: +SKIP
>>> asgi = create_app(app, AuthConfig().add_api_key("ci", key, role="operator"))  # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .auth import ApiKey, AuthConfig, JwtConfig, Principal, Role, User
from .security import hash_api_key, hash_password, new_api_key, verify_password
from .settings import ApiSettings

__all__ = [
    "ApiKey",
    "ApiSettings",
    "AuthConfig",
    "JwtConfig",
    "Principal",
    "Role",
    "User",
    "create_app",
    "hash_api_key",
    "hash_password",
    "new_api_key",
    "verify_password",
]
