"""SQL Server backend (python-tds): master store and agent transport. SQL Server 2017 or later
(also Azure SQL Database): OPENJSON, DATETIME2, ``OUTPUT`` clauses and ``READPAST``.

Claims take a batch with ``UPDATE`` of a ``TOP (n) ... WITH (UPDLOCK, READPAST, ROWLOCK)``
CTE and return it with ``OUTPUT``; finished attempts write their outbox event in the same
statement through ``OUTPUT ... INTO``; upserts use MERGE (or UPDATE-then-INSERT); every time is
the server's ``SYSUTCDATETIME()``. SQL Server cannot notify
idle clients here, so workers poll. Install with ``pip install jobmaster[sqlserver]``.

The master also holds jobs for later (:mod:`.held`), stores recurring schedules with their
slots and leader leases (:mod:`.schedules`), process logs and the agent registry, and purges
old history.

Driver: python-tds (``pytds``), a maintained pure-Python TDS implementation. It needs no ODBC
driver manager, no vendor driver and no compiler, so ``pip install`` is all a machine needs;
TLS comes from pyOpenSSL. It is synchronous: each store runs its connections on a small pool of
worker threads so the event loop never blocks. The alternatives were aioodbc (asyncio, but its
last release is from 2023 and it needs unixODBC plus Microsoft's msodbcsql driver installed
from Microsoft's own repositories) and Microsoft's mssql-python (synchronous as well, binary
wheels only).

This backend has not been run against a server on our machines; see docs/providers/sqlserver.md.
"""

from __future__ import annotations

from ...config import BackendSpec
from .agent import SqlServerAgent
from .connection import SQLSERVER_CAPABILITIES
from .dsn import SqlServerDsn, parse_dsn
from .master import SqlServerMaster


def make_master(spec: BackendSpec) -> SqlServerMaster:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return SqlServerMaster(spec)


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> SqlServerAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`. ``role="leases"`` gives a
    one-connection pool for a worker's lease keeper."""
    return SqlServerAgent(spec, agent_name, pool_role="leases" if role == "leases" else "agent",
                          colocated_master=colocated_master)


__all__ = [
    "SQLSERVER_CAPABILITIES",
    "SqlServerAgent",
    "SqlServerDsn",
    "SqlServerMaster",
    "make_agent",
    "make_master",
    "parse_dsn",
]
