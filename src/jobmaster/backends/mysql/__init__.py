"""MySQL / MariaDB backend (asyncmy): master store and agent transport.

Needs MariaDB >= 10.6 or MySQL >= 8.0 (``FOR UPDATE SKIP LOCKED`` and ``JSON_TABLE``). Claims
take a batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` in a short transaction, then set the
leases with one ``UPDATE`` and commit; finished attempts reach the outbox with
``INSERT ... SELECT`` in the transaction that records them. Every time is the server's
``UTC_TIMESTAMP(6)``. The server cannot notify, so workers poll (``listen_notify`` is
False). The master has every feature of the other masters: held jobs, recurring schedules,
logs, history retention and the agent registry (see ``docs/providers/mysql.md``). Install with
``pip install jobmaster[mysql]``.

Driver: asyncmy. It is a maintained asyncio driver (PyMySQL's protocol compiled with Cython:
the fastest pure-asyncio choice, typed, with a pool, unix sockets and TLS contexts), and it
speaks both MySQL and MariaDB. aiomysql is the alternative: same API family, pure Python,
slower on the hot path and released less often.
"""

from __future__ import annotations

from ...config import BackendSpec
from .agent import MysqlAgent
from .connection import MYSQL_CAPABILITIES
from .dsn import MysqlDsn, parse_dsn
from .master import MysqlMaster


def make_master(spec: BackendSpec) -> MysqlMaster:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return MysqlMaster(spec)


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> MysqlAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`. ``role="leases"`` gives a
    one-connection pool for a worker's lease keeper."""
    return MysqlAgent(spec, agent_name, pool_role="leases" if role == "leases" else "agent",
                      colocated_master=colocated_master)


__all__ = [
    "MYSQL_CAPABILITIES",
    "MysqlAgent",
    "MysqlDsn",
    "MysqlMaster",
    "make_agent",
    "make_master",
    "parse_dsn",
]
