"""NATS JetStream agent transport (agent only: the master of a cluster stays SQL).

Install with ``pip install jobmaster[nats]``; configure with
``ClusterConfig.add_agent_connection(name).use_nats_jetstream_for_agent(urls)``.
See ``docs/providers/nats.md``.
"""

from __future__ import annotations

from ...abc import MasterStore
from ...config import BackendSpec
from ...errors import ConfigurationError
from .agent import NATS_CAPABILITIES, NatsAgent
from .layout import Layout, NatsSettings


def make_master(spec: BackendSpec) -> MasterStore:
    """NATS cannot be a master: it holds in-flight work, not history."""
    raise ConfigurationError(
        "master", "NATS JetStream can only be an agent connection; use PostgreSQL, MySQL, "
        "SQL Server or SQLite for the master (use_*_for_master)")


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> NatsAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return NatsAgent(NatsSettings.from_spec(spec), agent_name, role)


__all__ = ["NATS_CAPABILITIES", "Layout", "NatsAgent", "NatsSettings"]
