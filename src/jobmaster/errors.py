"""Exceptions of JobMaster. Each message names the field, setting or location at fault."""

from __future__ import annotations


class JobMasterError(Exception):
    """Base class of every JobMaster error."""


class ConfigurationError(JobMasterError, ValueError):
    """A setting is invalid; ``setting`` names it (e.g. ``workers[1].agent``)."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


class BackendUnavailableError(JobMasterError, ConnectionError):
    """A database or broker cannot be reached. The message is one line naming where."""

    def __init__(self, role: str, location: str, reason: str) -> None:
        super().__init__(f"cannot reach the {role} at {location}: {reason}")
        self.role = role
        self.location = location


class SchemaError(JobMasterError):
    """The store's schema is not the one this code needs (newer, or behind with auto-migrate off)."""


class UnknownHandlerError(JobMasterError, LookupError):
    """A job names a handler that is not registered in this application."""


class PayloadTooLargeError(JobMasterError, ValueError):
    """Encoded message data and metadata exceed ``max_message_bytes``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"job payload is {size} bytes, over the limit of {limit} bytes "
            "(max_message_bytes); pass a reference (an id, a URL) instead of the data"
        )
        self.size = size
        self.limit = limit


class MissingDependencyError(JobMasterError, LookupError):
    """A handler's constructor needs a service that the application was not given."""


class NotStartedError(JobMasterError, RuntimeError):
    """The application was used before ``start()`` (or after ``stop()``)."""
