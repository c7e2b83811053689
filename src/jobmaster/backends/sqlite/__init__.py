"""SQLite backend: master and agent on a local file, safe for several worker processes.

The standard library's ``sqlite3`` runs on one dedicated thread per store instance, so the event
loop never blocks; every contract call is one transaction on that thread. Write transactions use
``BEGIN IMMEDIATE`` on a WAL database, which serializes claims across processes. SQLite cannot
notify, so workers poll (``listen_notify=False``).
"""

from __future__ import annotations

from ...config import BackendSpec
from .agent import SqliteAgent
from .connection import SQLITE_CAPABILITIES
from .master import SqliteMaster


def make_master(spec: BackendSpec) -> SqliteMaster:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return SqliteMaster(spec.target, prefix=spec.table_prefix)


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> SqliteAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`; ``role`` needs no tuning here
    (each instance owns exactly one connection and one thread)."""
    return SqliteAgent(spec.target, agent_name=agent_name, prefix=spec.table_prefix,
                       colocated_master=colocated_master)


__all__ = ["SQLITE_CAPABILITIES", "SqliteAgent", "SqliteMaster", "make_agent", "make_master"]
