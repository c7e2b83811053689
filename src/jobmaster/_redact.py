"""Redaction of secrets in text that leaves the process (logs, API responses)."""

from __future__ import annotations

import re

_DSN_USER_PASSWORD = re.compile(r"//([^:/@]+):[^@]*@")
_DSN_PASSWORD = re.compile(r"(?i)(password|pwd)=([^&;\s]+)")


def redact_text(text: str) -> str:
    """Hide ``user:password@`` and ``password=...`` in connection strings."""
    return _DSN_PASSWORD.sub(r"\1=***", _DSN_USER_PASSWORD.sub(r"//\1:***@", text))
