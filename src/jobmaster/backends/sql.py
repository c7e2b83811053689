"""What SQL backends share: named query files, migrations files, and table-prefix rendering.

Each SQL backend keeps ``queries.sql`` (blocks introduced by ``-- name: <query_name>``) and
``migrations/NNNN_<role>_<title>.sql`` in its package. Every dialect defines the same query names
(a unit test checks this). ``{p}`` in a query or migration is replaced by the table prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")


def check_prefix(prefix: str) -> str:
    """Table prefixes are identifiers: letters, digits and '_' (they are put into SQL text)."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"table_prefix: {prefix!r} must match {_PREFIX.pattern}")
    return prefix


@cache
def load_queries(package: str) -> dict[str, str]:
    """The named queries of ``<package>/queries.sql``."""
    text = resources.files(package).joinpath("queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{package}/queries.sql defines {name!r} twice")
        queries[name] = body.strip().rstrip(";").strip()
    return queries


class Queries:
    """The queries of one dialect with the table prefix filled in."""

    def __init__(self, package: str, prefix: str) -> None:
        prefix = check_prefix(prefix)
        self._sql = {
            name: body.replace("{p}", prefix) for name, body in load_queries(package).items()
        }

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def names(self) -> set[str]:
        """Every query name."""
        return set(self._sql)


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: applied in ``version`` order for its ``role`` (master or agent)."""

    version: int
    role: str
    name: str
    sql: str

    def statements(self, prefix: str) -> list[str]:
        """The statements of the file (split on ';' at line ends), prefix filled in."""
        text = self.sql.replace("{p}", check_prefix(prefix))
        return [s.strip() for s in re.split(r";\s*$", text, flags=re.MULTILINE) if s.strip()]


_MIGRATION_FILE = re.compile(r"^(\d{4})_(master|agent)_([a-z0-9_]+)\.sql$")


@cache
def load_migrations(package: str, role: str) -> tuple[Migration, ...]:
    """The migrations of one role, in version order."""
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match and match.group(2) == role:
            found.append(
                Migration(
                    int(match.group(1)), role, match.group(3), entry.read_text(encoding="utf-8")
                )
            )
    found.sort(key=lambda m: m.version)
    return tuple(found)


def required_version(package: str, role: str) -> int:
    """The schema version this code needs for a role (its last migration)."""
    migrations = load_migrations(package, role)
    return migrations[-1].version if migrations else 0
