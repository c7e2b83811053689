"""The skeleton both SQL dialects' stores share: names, queries, schema versions, retries."""

from __future__ import annotations

from typing import ClassVar

from ...abc import SchemaState
from ...config import BackendSpec
from ...errors import BackendUnavailableError, SchemaError
from ..sql import Migration, Queries, load_migrations, required_version

#: How often a transaction is tried when the server reports a deadlock or lock timeout.
TRANSACTION_RETRIES = 8


def retry_pause(attempt: int) -> float:
    """Seconds to wait before retrying a transaction after failed attempt number ``attempt``."""
    return 0.002 * (1 << attempt)


class SqlStore:
    """Naming, named queries and schema-version checks of an agent or master store.

    Subclasses set ``package`` (where the dialect's ``queries.sql`` and migrations live) and
    ``role``, and add the pool, transactions and migrations of their driver.
    """

    role = "agent"
    package: ClassVar[str]

    def __init__(self, spec: BackendSpec, location: str) -> None:
        self.spec = spec
        self.location = location
        self.prefix = spec.table_prefix
        self.q = Queries(self.package, spec.table_prefix)

    def not_open(self) -> RuntimeError:
        """The error for an operation on a store that was never opened (or was closed)."""
        return RuntimeError(f"the {self.role} store at {self.location} is not open")

    def unavailable(self, exc: BaseException) -> BackendUnavailableError:
        """The error for a failed connection, with the driver's message on one line."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return BackendUnavailableError(self.role, self.location, reason)

    def schema_state_at(self, current: int) -> SchemaState:
        """The schema state of this role given the version the server holds."""
        return SchemaState(current, required_version(self.package, self.role))

    def pending_migrations(self, current: int) -> list[Migration]:
        """The migrations to apply over schema version ``current``, in order.

        Raises:
            SchemaError: the server's schema is newer than this code.
        """
        required = required_version(self.package, self.role)
        if current > required:
            raise SchemaError(f"the {self.role} schema at {self.location} is version "
                              f"{current}, newer than this code ({required})")
        return [m for m in load_migrations(self.package, self.role) if m.version > current]
