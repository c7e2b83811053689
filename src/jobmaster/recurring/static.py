"""Static schedules: declared in code by profiles, upserted at every start.

```python
class Nightly(jm.StaticProfile):
    profile_id = "nightly"
    def define(self, s: jm.StaticSchedules) -> None:
        s.add(BackupHandler, "every day at 02:00 tz Europe/Paris", id="db-backup")
```
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..handlers import JobHandler, default_definition_id

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class StaticProfile:
    """A group of schedules declared in code. Subclass it, set ``profile_id`` and implement
    :meth:`define`; pass the class in ``JobMaster(..., static_profiles=[...])``.

    ``lane`` (optional) is the default lane of the profile's schedules.
    """

    profile_id: ClassVar[str] = ""
    lane: ClassVar[str | None] = None

    def define(self, s: StaticSchedules) -> None:
        """Declare the schedules of this profile with ``s.add(...)``."""
        raise NotImplementedError(f"{type(self).__name__}.define() is not implemented")


@dataclass(slots=True)
class StaticDeclaration:
    """One ``s.add(...)`` call: everything needed to upsert the schedule."""

    profile_id: str
    key: str
    handler: object
    expression: Any
    data: Any
    options: dict[str, Any] = field(default_factory=dict)


class StaticSchedules:
    """The collection a profile's :meth:`StaticProfile.define` fills."""

    def __init__(self, profile_id: str, lane: str | None = None) -> None:
        self.profile_id = profile_id
        self.lane = lane
        self.declarations: list[StaticDeclaration] = []

    def add(
        self, handler: object, expression: Any, data: Any = None, *, id: str | None = None,
        **options: Any,
    ) -> StaticSchedules:
        """Declare a schedule of ``handler``. ``id`` (default: the handler's definition id,
        with ``-2``, ``-3``, ... on repeats) must be stable across deploys: it identifies the
        schedule. ``options`` are those of ``scheduler.recurring`` (``start_after``,
        ``end_before``, ``misfire``, ``allow_overlap``, ``catch_up_limit``, ``priority``,
        ``lane``, ``timeout``, ``max_retries``, ``backoff``, ``metadata``)."""
        taken = {d.key for d in self.declarations}
        if id is not None:
            if not isinstance(id, str) or not _ID.match(id):
                raise ValueError(f"static schedule id {id!r} must match {_ID.pattern}")
            if id in taken:
                raise ValueError(f"profile {self.profile_id!r} declares id {id!r} twice")
            key = id
        else:
            base = _definition_id(handler)
            key, n = base, 1
            while key in taken:
                n += 1
                key = f"{base}-{n}"
        if self.lane is not None:
            options.setdefault("lane", self.lane)
        self.declarations.append(
            StaticDeclaration(self.profile_id, key, handler, expression, data, options))
        return self


def _definition_id(handler: object) -> str:
    if isinstance(handler, type) and issubclass(handler, JobHandler) and handler.definition_id:
        return handler.definition_id
    options = getattr(handler, "__jobmaster_handler__", None)
    explicit = getattr(options, "definition_id", None)
    return explicit if isinstance(explicit, str) and explicit else default_definition_id(handler)


def collect(profiles: Iterable[object]) -> list[StaticDeclaration]:
    """Run every profile's ``define`` and return the declarations, checking profile ids."""
    declarations: list[StaticDeclaration] = []
    seen: set[str] = set()
    for entry in profiles:
        profile = entry() if isinstance(entry, type) else entry
        if not isinstance(profile, StaticProfile):
            raise TypeError(f"static_profiles: {entry!r} is not a jobmaster.StaticProfile")
        profile_id = type(profile).profile_id
        if not isinstance(profile_id, str) or not _ID.match(profile_id):
            raise ValueError(
                f"static profile {type(profile).__name__}: profile_id {profile_id!r} must be "
                f"set and match {_ID.pattern}")
        if profile_id in seen:
            raise ValueError(f"static profile id {profile_id!r} is used twice")
        seen.add(profile_id)
        schedules = StaticSchedules(profile_id, type(profile).lane)
        profile.define(schedules)
        declarations.extend(schedules.declarations)
    return declarations
