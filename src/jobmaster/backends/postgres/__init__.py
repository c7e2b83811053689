"""PostgreSQL backend (asyncpg): master store and agent transport.

Claims use ``FOR UPDATE SKIP LOCKED`` in batches; idle workers wait on LISTEN/NOTIFY (coalesced:
never one NOTIFY per job). Install with ``pip install jobmaster[postgres]``.
"""

from __future__ import annotations

from ...config import BackendSpec
from .agent import PostgresAgent
from .connection import POSTGRES_CAPABILITIES
from .master import PostgresMaster


def make_master(spec: BackendSpec) -> PostgresMaster:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return PostgresMaster(spec)


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> PostgresAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`. ``role="leases"`` gives a
    one-connection pool for a worker's lease keeper."""
    return PostgresAgent(spec, agent_name, pool_role="leases" if role == "leases" else "agent",
                         colocated_master=colocated_master)


__all__ = ["POSTGRES_CAPABILITIES", "PostgresAgent", "PostgresMaster", "make_agent", "make_master"]
