"""Parsing SQL Server DSNs into python-tds connection arguments (no server needed).

``mssql://user:password@host:1433/database?encrypt=true&ca_file=/etc/ssl/certs/ca.pem``

- Schemes: ``mssql`` or ``sqlserver``. The port defaults to 1433; ``instance=NAME`` names a
  named instance (resolved through the SQL Browser when no port is given).
- ``encrypt``: ``false`` (default: no TLS), ``true`` (TLS for the whole session), ``login`` (TLS
  for the login packet only). TLS needs a CA file: ``ca_file=...``, else the system bundle.
  ``validate_host=false`` accepts a certificate whose name does not match the host.
- ``login_timeout`` and ``timeout`` (seconds; defaults 15 and 60), ``application_name``.

Unknown options raise :class:`~jobmaster.errors.ConfigurationError` naming the option.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ...errors import ConfigurationError
from .._sqlcommon.dsn import positive_seconds, split_dsn

_LABEL = "sqlserver dsn"
_SCHEMES = {"mssql", "sqlserver", "mssql+pytds"}
_ENCRYPT = {"false": "off", "no": "off", "off": "off", "optional": "off", "true": "on",
            "yes": "on", "on": "on", "mandatory": "on", "strict": "on", "login": "login"}
_OPTIONS = {"encrypt", "ca_file", "validate_host", "instance", "login_timeout", "timeout",
            "application_name"}


@dataclass(frozen=True, slots=True)
class SqlServerDsn:
    """Where and how to connect; ``location`` is safe to print (no credentials)."""

    host: str = "localhost"
    port: int | None = 1433
    user: str = "sa"
    password: str = ""
    database: str = ""
    instance: str | None = None
    encrypt: str = "off"
    ca_file: str | None = None
    validate_host: bool = True
    login_timeout: float = 15.0
    timeout: float = 60.0
    application_name: str = "jobmaster"

    @property
    def location(self) -> str:
        """``host:port/database`` (``host\\instance/database`` for a named instance)."""
        where = f"{self.host}\\{self.instance}" if self.instance else f"{self.host}:{self.port}"
        return f"{where}/{self.database or '(default)'}"

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pytds.connect``."""
        kwargs: dict[str, Any] = {
            "dsn": f"{self.host}\\{self.instance}" if self.instance else self.host,
            "database": self.database or None,
            "user": self.user,
            "password": self.password,
            "login_timeout": self.login_timeout,
            "timeout": self.timeout,
            "appname": self.application_name,
            "autocommit": False,
            "as_dict": True,
        }
        if self.port is not None:
            kwargs["port"] = self.port
        if self.encrypt != "off":
            kwargs["cafile"] = self.ca_file or ssl.get_default_verify_paths().cafile
            kwargs["validate_host"] = self.validate_host
            kwargs["enc_login_only"] = self.encrypt == "login"
            if not kwargs["cafile"]:
                raise ConfigurationError("sqlserver dsn option 'ca_file'",
                                         "encrypt needs a CA file and no system bundle was found")
        return kwargs


def parse_dsn(dsn: str) -> SqlServerDsn:
    """Parse an ``mssql://`` DSN; raises ConfigurationError naming the bad part."""
    parts, port, options = split_dsn(dsn, label=_LABEL, schemes=_SCHEMES,
                                     scheme_text="mssql:// or sqlserver://",
                                     known_options=_OPTIONS)
    encrypt = options.get("encrypt", "false").lower()
    if encrypt not in _ENCRYPT:
        raise ConfigurationError("sqlserver dsn option 'encrypt'",
                                 f"{encrypt!r} is not one of true, false, login")
    instance = options.get("instance") or None
    return SqlServerDsn(
        host=unquote(parts.hostname) if parts.hostname else "localhost",
        port=port or (None if instance else 1433),
        user=unquote(parts.username) if parts.username else "sa",
        password=unquote(parts.password) if parts.password else "",
        database=unquote(parts.path.lstrip("/")),
        instance=instance,
        encrypt=_ENCRYPT[encrypt],
        ca_file=options.get("ca_file") or None,
        validate_host=options.get("validate_host", "true").lower() not in ("false", "0", "no"),
        login_timeout=positive_seconds(options, "login_timeout", 15.0, label=_LABEL),
        timeout=positive_seconds(options, "timeout", 60.0, label=_LABEL),
        application_name=options.get("application_name") or "jobmaster",
    )

