"""Creating stores from :class:`~jobmaster.config.BackendSpec`: the one place that maps a backend
kind to its classes (imported lazily, so an unused driver need not be installed)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..abc import AgentTransport, MasterStore
from ..config import BackendSpec
from ..errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class _Kind:
    module: str
    extra: str


_KINDS = {
    "memory": _Kind("jobmaster.backends.memory", ""),
    "sqlite": _Kind("jobmaster.backends.sqlite", ""),
    "postgres": _Kind("jobmaster.backends.postgres", "postgres"),
    "mysql": _Kind("jobmaster.backends.mysql", "mysql"),
    "sqlserver": _Kind("jobmaster.backends.sqlserver", "sqlserver"),
    "nats": _Kind("jobmaster.backends.nats", "nats"),
}


def _module(spec: BackendSpec) -> object:
    kind = _KINDS.get(spec.kind)
    if kind is None:
        raise ConfigurationError("backend", f"unknown backend kind {spec.kind!r}")
    try:
        return importlib.import_module(kind.module)
    except ImportError as exc:
        raise ConfigurationError(
            "backend",
            f"the {spec.kind} backend needs `pip install jobmaster[{kind.extra}]` ({exc})",
        ) from None


def make_master(spec: BackendSpec) -> MasterStore:
    """A (not yet opened) master store for ``spec``."""
    module = _module(spec)
    master: MasterStore = module.make_master(spec)  # type: ignore[attr-defined]
    return master


def make_agent(spec: BackendSpec, agent_name: str, *, role: str = "agent",
               colocated_master: bool = False) -> AgentTransport:
    """A (not yet opened) agent transport for ``spec``. ``role`` tunes pooling ("agent" for the
    main connection pool, "leases" for a worker's lease-keeper connection).
    ``colocated_master`` says the master uses the same database and table prefix (standalone),
    so the outbox can be synced by one server-side statement."""
    module = _module(spec)
    agent: AgentTransport = module.make_agent(  # type: ignore[attr-defined]
        spec, agent_name, role, colocated_master
    )
    return agent
