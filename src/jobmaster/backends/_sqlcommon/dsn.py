"""Helpers for parsing the URL-style DSNs of the SQL dialects (no server needed)."""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, urlsplit

from ...errors import ConfigurationError


def split_dsn(dsn: str, *, label: str, schemes: set[str], scheme_text: str,
              known_options: set[str]) -> tuple[SplitResult, int | None, dict[str, str]]:
    """Split a DSN into its URL parts, its port and its query options.

    ``label`` names the DSN in errors (``"mysql dsn"``); ``scheme_text`` lists the accepted
    schemes for people (``"mysql:// or mariadb://"``).

    Raises:
        ConfigurationError: the URL or its port is invalid, the scheme is not one of
            ``schemes``, or an option is not one of ``known_options``.
    """
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(label, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in schemes:
        raise ConfigurationError(
            label, f"scheme must be {scheme_text}, got {parts.scheme!r}://")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - known_options)
    if unknown:
        raise ConfigurationError(f"{label} option {unknown[0]!r}",
                                 f"unknown (known: {', '.join(sorted(known_options))})")
    return parts, port, options


def positive_seconds(options: dict[str, str], name: str, default: float, *, label: str) -> float:
    """The option ``name`` as a positive number of seconds, ``default`` when it is absent.

    Raises:
        ConfigurationError: the option is not a positive number.
    """
    if name not in options:
        return default
    try:
        value = float(options[name])
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigurationError(f"{label} option {name!r}",
                                 f"must be a positive number of seconds, got {options[name]!r}")
    return value
