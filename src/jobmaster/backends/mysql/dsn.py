"""Parsing MySQL/MariaDB DSNs into asyncmy connection arguments (no server needed).

``mysql://user:password@host:3306/database?ssl_mode=verify_identity&ssl_ca=/etc/ca.pem``

- Schemes: ``mysql``, ``mariadb`` (also ``mysql+asyncmy``). User, password and database are
  percent-decoded. The port defaults to 3306, the host to ``localhost``.
- Unix socket: ``?unix_socket=/run/mysqld/mysqld.sock`` or a percent-encoded path as the host
  (``mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/test``).
- TLS: ``ssl_mode`` = ``disabled`` | ``required`` (encrypt, do not verify) | ``verify_ca`` |
  ``verify_identity`` (CA and host name); ``ssl=true`` means ``verify_identity`` and
  ``ssl=false`` means ``disabled``. ``ssl_ca``, ``ssl_cert`` and ``ssl_key`` name PEM files.
- ``connect_timeout`` (seconds, default 10).

Unknown options raise :class:`~jobmaster.errors.ConfigurationError` naming the option.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ...errors import ConfigurationError
from .._sqlcommon.dsn import positive_seconds, split_dsn

_SCHEMES = {"mysql", "mariadb", "mysql+asyncmy", "mariadb+asyncmy"}
_SSL_MODES = {"disabled", "required", "verify_ca", "verify_identity"}
_SSL_ALIASES = {"true": "verify_identity", "1": "verify_identity", "yes": "verify_identity",
                "false": "disabled", "0": "disabled", "no": "disabled"}
_OPTIONS = {"unix_socket", "ssl", "ssl_mode", "ssl_ca", "ssl_cert", "ssl_key", "connect_timeout"}


@dataclass(frozen=True, slots=True)
class MysqlDsn:
    """Where and how to connect; ``location`` is safe to print (no credentials)."""

    host: str = "localhost"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = ""
    unix_socket: str | None = None
    ssl_mode: str = "disabled"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    connect_timeout: float = 10.0

    @property
    def location(self) -> str:
        """``host:port/database`` (or ``unix:path/database``) for messages."""
        where = f"unix:{self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"
        return f"{where}/{self.database or '(no database)'}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``ssl_mode`` (None when TLS is off or a socket is used)."""
        if self.ssl_mode == "disabled" or self.unix_socket:
            return None
        context = ssl.create_default_context(cafile=self.ssl_ca)
        if self.ssl_mode == "required":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ssl_mode == "verify_ca":
            context.check_hostname = False
        if self.ssl_cert:
            context.load_cert_chain(self.ssl_cert, self.ssl_key)
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncmy.connect`` / ``asyncmy.create_pool``."""
        kwargs: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "db": self.database or None,
            "connect_timeout": self.connect_timeout,
            "charset": "utf8mb4",
        }
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        else:
            kwargs["host"], kwargs["port"] = self.host, self.port
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl"] = context
        return kwargs


def parse_dsn(dsn: str) -> MysqlDsn:
    """Parse a ``mysql://`` DSN; raises ConfigurationError naming the bad part."""
    parts, port, options = split_dsn(dsn, label="mysql dsn", schemes=_SCHEMES,
                                     scheme_text="mysql:// or mariadb://", known_options=_OPTIONS)
    port = port or 3306
    host = unquote(parts.hostname or "") if parts.hostname else "localhost"
    raw_host = unquote(parts.netloc.rpartition("@")[2])
    socket_path = options.get("unix_socket") or (raw_host if raw_host.startswith("/") else None)
    if socket_path and raw_host.startswith("/"):
        host, port = "localhost", 3306
    return MysqlDsn(
        host=host,
        port=port,
        user=unquote(parts.username) if parts.username else "root",
        password=unquote(parts.password) if parts.password else "",
        database=unquote(parts.path.lstrip("/")),
        unix_socket=socket_path,
        ssl_mode=_ssl_mode(options),
        ssl_ca=options.get("ssl_ca") or None,
        ssl_cert=options.get("ssl_cert") or None,
        ssl_key=options.get("ssl_key") or None,
        connect_timeout=positive_seconds(options, "connect_timeout", 10.0, label="mysql dsn"),
    )


def _ssl_mode(options: dict[str, str]) -> str:
    if "ssl_mode" in options:
        mode = options["ssl_mode"].lower()
    elif "ssl" in options:
        mode = _SSL_ALIASES.get(options["ssl"].lower(), options["ssl"].lower())
    else:
        mode = "verify_ca" if options.get("ssl_ca") else "disabled"
    if mode not in _SSL_MODES:
        raise ConfigurationError(
            "mysql dsn option 'ssl_mode'", f"{mode!r} is not one of {sorted(_SSL_MODES)}")
    return mode

