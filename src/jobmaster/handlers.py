"""Job handlers: the :class:`JobHandler` base class, the :func:`job_handler` decorator, the job
context handlers receive, and the registry that resolves handlers and their dependencies.
"""

from __future__ import annotations

import asyncio
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeAlias

from .errors import ConfigurationError, MissingDependencyError, UnknownHandlerError
from .messages import MessageData, Metadata
from .model import DEFAULT_LANE, Backoff, Priority, TriggerSource


@dataclass(slots=True)
class JobContext:
    """What a handler receives: the job, its data and a cooperative cancellation signal."""

    id: str
    cluster_id: str
    definition_id: str
    msg_data: MessageData
    metadata: Metadata
    scheduled_at: datetime
    created_at: datetime
    attempt: int
    max_retries: int
    timeout: timedelta
    priority: Priority
    lane: str
    trigger: TriggerSource = TriggerSource.ONCE
    schedule_id: str | None = None
    #: Set when the job is cancelled, its lease is lost or the worker stops: finish quickly.
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def is_cancelled(self) -> bool:
        """Thread-safe check of :attr:`cancelled`, for synchronous handlers."""
        return self.cancelled.is_set()

    @property
    def is_last_attempt(self) -> bool:
        """True when a failure now will not be retried."""
        return self.attempt > self.max_retries


class JobHandler:
    """Base class of class-based handlers. Override :meth:`handle` (async or plain ``def``).

    Optional class attributes configure every job of this handler; each can be overridden per
    job when scheduling. Constructor parameters are resolved by their type annotation from the
    application's ``services``.
    """

    definition_id: ClassVar[str | None] = None
    max_retries: ClassVar[int | None] = None
    timeout: ClassVar[timedelta | float | None] = None
    priority: ClassVar[Priority] = Priority.MEDIUM
    lane: ClassVar[str | None] = None
    metadata: ClassVar[Mapping[str, Any]] = {}
    backoff: ClassVar[Backoff | None] = None

    def handle(self, job: JobContext) -> Awaitable[None] | None:
        """Run the job. Raise to fail the attempt (it is retried while attempts remain)."""
        raise NotImplementedError


HandlerFunc: TypeAlias = Callable[[JobContext], Any]
HandlerRef: TypeAlias = "type[JobHandler] | HandlerFunc | str"
Services: TypeAlias = "Mapping[type[Any], Any] | Callable[[type[Any]], Any] | None"


@dataclass(frozen=True, slots=True)
class HandlerOptions:
    """The options attached to a function by :func:`job_handler`."""

    definition_id: str | None = None
    max_retries: int | None = None
    timeout: timedelta | float | None = None
    priority: Priority = Priority.MEDIUM
    lane: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    backoff: Backoff | None = None


_OPTIONS_ATTR = "__jobmaster_handler__"


@typing.overload
def job_handler(func: HandlerFunc, /) -> HandlerFunc: ...
@typing.overload
def job_handler(
    *,
    definition_id: str | None = None,
    max_retries: int | None = None,
    timeout: timedelta | float | None = None,
    priority: Priority = Priority.MEDIUM,
    lane: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    backoff: Backoff | None = None,
) -> Callable[[HandlerFunc], HandlerFunc]: ...
def job_handler(func: HandlerFunc | None = None, /, **options: Any) -> Any:
    """Turn a function (async or sync) taking a :class:`JobContext` into a handler.

    Usable bare (``@job_handler``) or with options (``@job_handler(max_retries=5)``).
    """

    def decorate(target: HandlerFunc) -> HandlerFunc:
        if options.get("metadata") is None:
            options.pop("metadata", None)
        setattr(target, _OPTIONS_ATTR, HandlerOptions(**options))
        return target

    return decorate(func) if func is not None else decorate


def default_definition_id(target: object) -> str:
    """``module.QualName`` of a handler class or function."""
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


@dataclass(slots=True)
class HandlerSpec:
    """A registered handler, resolved: its defaults and how to run it."""

    definition_id: str
    target: object
    is_async: bool
    max_retries: int | None
    timeout: timedelta | None
    priority: Priority
    lane: str
    metadata: Mapping[str, Any]
    backoff: Backoff
    invoke: Callable[[JobContext], Any] = field(repr=False, default=lambda job: None)


def _as_timedelta(value: timedelta | float | None, where: str) -> timedelta | None:
    if value is None:
        return None
    result = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    if result <= timedelta(0):
        raise ConfigurationError(where, f"timeout must be positive, got {value!r}")
    return result


class HandlerRegistry:
    """Handlers by definition id, with their dependencies resolved once at start-up."""

    def __init__(self, handlers: Iterable[object], services: Services = None) -> None:
        self._by_id: dict[str, HandlerSpec] = {}
        self._by_target: dict[object, HandlerSpec] = {}
        self._services = services
        for handler in handlers:
            self.add(handler)

    def add(self, handler: object) -> HandlerSpec:
        """Register one handler class or decorated function."""
        spec = self._build(handler)
        existing = self._by_id.get(spec.definition_id)
        if existing is not None and existing.target is not handler:
            raise ConfigurationError(
                f"handlers[{spec.definition_id!r}]",
                f"definition id used by both {existing.target!r} and {handler!r}",
            )
        self._by_id[spec.definition_id] = spec
        self._by_target[handler] = spec
        return spec

    @property
    def definition_ids(self) -> list[str]:
        """Every registered definition id."""
        return list(self._by_id)

    def get(self, definition_id: str) -> HandlerSpec | None:
        """The handler of a definition id, if registered."""
        return self._by_id.get(definition_id)

    def resolve(self, ref: object) -> HandlerSpec:
        """The spec of a handler class, function or definition id; UnknownHandlerError otherwise."""
        spec = self._by_id.get(ref) if isinstance(ref, str) else self._by_target.get(ref)
        if spec is None:
            name = ref if isinstance(ref, str) else default_definition_id(ref)
            raise UnknownHandlerError(
                f"handler {name!r} is not registered: pass it in JobMaster(handlers=[...])"
            )
        return spec

    def _build(self, handler: object) -> HandlerSpec:
        if isinstance(handler, type) and issubclass(handler, JobHandler):
            return self._build_class(handler)
        options = getattr(handler, _OPTIONS_ATTR, None)
        if callable(handler) and not isinstance(handler, type):
            return self._build_function(handler, options or HandlerOptions())
        raise ConfigurationError(
            "handlers", f"{handler!r} is neither a JobHandler subclass nor a function"
        )

    def _build_class(self, cls: type[JobHandler]) -> HandlerSpec:
        definition_id = cls.definition_id or default_definition_id(cls)
        if cls.handle is JobHandler.handle:
            raise ConfigurationError(f"handlers[{definition_id!r}]", "handle() is not implemented")
        arguments = self._constructor_arguments(cls, definition_id)

        def invoke(job: JobContext) -> Any:
            return cls(**arguments).handle(job)

        return HandlerSpec(
            definition_id=definition_id,
            target=cls,
            is_async=inspect.iscoroutinefunction(cls.handle),
            max_retries=cls.max_retries,
            timeout=_as_timedelta(cls.timeout, f"handlers[{definition_id!r}].timeout"),
            priority=Priority(cls.priority),
            lane=cls.lane or DEFAULT_LANE,
            metadata=dict(cls.metadata),
            backoff=cls.backoff or Backoff(),
            invoke=invoke,
        )

    def _build_function(self, func: Callable[..., Any], options: HandlerOptions) -> HandlerSpec:
        definition_id = options.definition_id or default_definition_id(func)
        return HandlerSpec(
            definition_id=definition_id,
            target=func,
            is_async=inspect.iscoroutinefunction(func),
            max_retries=options.max_retries,
            timeout=_as_timedelta(options.timeout, f"handlers[{definition_id!r}].timeout"),
            priority=Priority(options.priority),
            lane=options.lane or DEFAULT_LANE,
            metadata=dict(options.metadata),
            backoff=options.backoff or Backoff(),
            invoke=func,
        )

    def _constructor_arguments(self, cls: type[JobHandler], definition_id: str) -> dict[str, Any]:
        """Resolve every constructor parameter by its annotated type, now (not at job time)."""
        if cls.__init__ is object.__init__:
            return {}
        try:
            hints = typing.get_type_hints(cls.__init__)
        except Exception as exc:  # unresolvable forward references
            raise ConfigurationError(
                f"handlers[{definition_id!r}]", f"cannot read constructor annotations: {exc}"
            ) from None
        arguments: dict[str, Any] = {}
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            wanted = hints.get(name)
            if wanted is None:
                raise MissingDependencyError(
                    f"handler {definition_id!r}: constructor parameter {name!r} has no type "
                    "annotation, so it cannot be resolved from services"
                )
            found, value = self._lookup(wanted)
            if not found:
                if param.default is not param.empty:
                    continue
                raise MissingDependencyError(
                    f"handler {definition_id!r} needs a {_type_name(wanted)} (parameter "
                    f"{name!r}) but services has none: pass services={{{_type_name(wanted)}: ...}}"
                )
            arguments[name] = value
        return arguments

    def _lookup(self, wanted: Any) -> tuple[bool, Any]:
        # `Clock | None` (or Optional[Clock]): look up each type of the union but None.
        if typing.get_origin(wanted) in (typing.Union, types.UnionType):
            for option in typing.get_args(wanted):
                if option is not type(None):
                    found, value = self._lookup(option)
                    if found:
                        return found, value
            return False, None
        services = self._services
        if services is None:
            return False, None
        if isinstance(services, Mapping):
            if wanted in services:
                return True, services[wanted]
            for key, value in services.items():
                if isinstance(key, type) and isinstance(wanted, type) and issubclass(key, wanted):
                    return True, value
            return False, None
        try:
            return True, services(wanted)
        except LookupError:
            return False, None


def _type_name(value: Any) -> str:
    return getattr(value, "__qualname__", None) or repr(value)
