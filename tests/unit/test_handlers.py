"""Handlers: class attributes, function handlers, dependency injection, duplicates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import jobmaster as jm
from jobmaster import testing
from jobmaster.handlers import HandlerRegistry
from jobmaster.model import DEFAULT_LANE


class Mailer:
    def __init__(self) -> None:
        self.sent: list[str] = []


class SmtpMailer(Mailer):
    pass


class Clock:
    pass


class SendWelcome(jm.JobHandler):
    definition_id = "send-welcome"
    max_retries = 5
    timeout = timedelta(seconds=30)
    priority = jm.Priority.HIGH
    lane = "emails"
    metadata = {"team": "growth"}
    backoff = jm.Backoff(initial=timedelta(seconds=10), factor=3.0, jitter=0.0)

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    async def handle(self, job: jm.JobContext) -> None:
        self.mailer.sent.append(job.msg_data.get_str("UserId"))


class Plain(jm.JobHandler):
    timeout = 2.5

    def handle(self, job: jm.JobContext) -> None:
        return None


class NeedsClock(jm.JobHandler):
    def __init__(self, mailer: Mailer, clock: Clock) -> None:
        self.mailer, self.clock = mailer, clock

    async def handle(self, job: jm.JobContext) -> None:
        return None


class OptionalClock(jm.JobHandler):
    def __init__(self, mailer: Mailer, clock: Clock | None = None) -> None:
        self.mailer, self.clock = mailer, clock

    async def handle(self, job: jm.JobContext) -> None:
        self.mailer.sent.append("optional")


@jm.job_handler
async def bare(job: jm.JobContext) -> None:
    return None


@jm.job_handler(
    definition_id="reports.build",
    max_retries=5,
    lane="reports",
    timeout=4,
    priority=jm.Priority.LOW,
    metadata={"kind": "report"},
)
def build_report(job: jm.JobContext) -> None:
    return None


def test_class_handler_attributes() -> None:
    spec = HandlerRegistry([SendWelcome], {Mailer: Mailer()}).resolve(SendWelcome)
    assert spec.definition_id == "send-welcome"
    assert spec.max_retries == 5
    assert spec.timeout == timedelta(seconds=30)
    assert spec.priority is jm.Priority.HIGH
    assert spec.lane == "emails"
    assert spec.metadata == {"team": "growth"}
    assert spec.backoff == jm.Backoff(initial=timedelta(seconds=10), factor=3.0, jitter=0.0)
    assert spec.is_async


def test_class_handler_defaults() -> None:
    registry = HandlerRegistry([Plain])
    spec = registry.resolve(Plain)
    assert spec.definition_id == f"{__name__}.Plain"
    assert registry.resolve(spec.definition_id) is spec
    assert spec.timeout == timedelta(seconds=2.5)  # float seconds
    assert spec.max_retries is None  # the cluster's default_max_retries applies
    assert spec.priority is jm.Priority.MEDIUM
    assert spec.lane == DEFAULT_LANE
    assert spec.backoff == jm.Backoff()
    assert not spec.is_async


def test_function_handlers_bare_and_with_options() -> None:
    registry = HandlerRegistry([bare, build_report])
    plain = registry.resolve(bare)
    assert plain.definition_id == f"{__name__}.bare"
    assert plain.is_async and plain.lane == DEFAULT_LANE and plain.max_retries is None
    report = registry.resolve(build_report)
    assert report.definition_id == "reports.build"
    assert not report.is_async
    assert (report.max_retries, report.lane, report.priority) == (5, "reports", jm.Priority.LOW)
    assert report.timeout == timedelta(seconds=4)
    assert report.metadata == {"kind": "report"}


def test_undecorated_function_is_a_handler_too() -> None:
    def anything(job: jm.JobContext) -> None:
        return None

    assert (
        HandlerRegistry([anything])
        .resolve(anything)
        .definition_id.endswith("test_undecorated_function_is_a_handler_too.<locals>.anything")
    )


@pytest.mark.parametrize("timeout", [0, -1.0, timedelta(0)])
def test_non_positive_timeout_is_refused(timeout: Any) -> None:
    @jm.job_handler(timeout=timeout)
    async def handler(job: jm.JobContext) -> None:
        return None

    with pytest.raises(jm.ConfigurationError, match="timeout"):
        HandlerRegistry([handler])


def test_not_a_handler_is_refused() -> None:
    with pytest.raises(jm.ConfigurationError, match="neither"):
        HandlerRegistry([Mailer])


def test_handle_not_implemented_is_refused() -> None:
    class Empty(jm.JobHandler):
        pass

    with pytest.raises(jm.ConfigurationError, match="handle"):
        HandlerRegistry([Empty])


async def test_dependencies_resolved_by_type_from_a_dict() -> None:
    mailer = Mailer()
    async with testing.eager(handlers=[SendWelcome], services={Mailer: mailer}) as app:
        job = await app.scheduler.once_now(SendWelcome, jm.MessageData(UserId="u1"))
        await testing.assert_job_succeeded(app, job.id)
    assert mailer.sent == ["u1"]


async def test_dependencies_resolved_through_a_subclass_key() -> None:
    mailer = SmtpMailer()
    async with testing.eager(handlers=[SendWelcome], services={SmtpMailer: mailer}) as app:
        await app.scheduler.once_now(SendWelcome, {"UserId": "u2"})
    assert mailer.sent == ["u2"]


async def test_dependencies_resolved_from_a_resolver_callable() -> None:
    mailer = Mailer()
    asked: list[type[Any]] = []

    def resolve(wanted: type[Any]) -> Any:
        asked.append(wanted)
        if wanted is Mailer:
            return mailer
        raise LookupError(wanted)

    async with testing.eager(handlers=[SendWelcome, OptionalClock], services=resolve) as app:
        await app.scheduler.once_now(SendWelcome, {"UserId": "u3"})
        await app.scheduler.once_now(OptionalClock)
    assert mailer.sent == ["u3", "optional"]
    assert Mailer in asked


async def test_optional_dependency_is_injected_when_provided() -> None:
    clock = Clock()
    registry = HandlerRegistry([OptionalClock], {Mailer: Mailer(), Clock: clock})
    spec = registry.resolve(OptionalClock)
    seen: list[Clock | None] = []
    original = OptionalClock.handle

    async def spy(self: OptionalClock, job: jm.JobContext) -> None:
        seen.append(self.clock)

    OptionalClock.handle = spy  # type: ignore[method-assign]
    try:
        await spec.invoke(None)  # type: ignore[arg-type]
    finally:
        OptionalClock.handle = original  # type: ignore[method-assign]
    assert seen == [clock]


async def test_missing_dependency_fails_at_start_naming_handler_and_type() -> None:
    app = jm.JobMaster(testing.memory_config(), handlers=[NeedsClock], services={Mailer: Mailer()})
    with pytest.raises(jm.MissingDependencyError) as caught:
        await app.start()
    message = str(caught.value)
    assert f"{__name__}.NeedsClock" in message and "Clock" in message and "'clock'" in message
    with pytest.raises(jm.NotStartedError):
        await app.list_jobs()


async def test_missing_dependency_without_services_fails_at_start() -> None:
    app = jm.JobMaster(testing.memory_config(), handlers=[SendWelcome])
    with pytest.raises(jm.MissingDependencyError, match=r"send-welcome.*Mailer"):
        await app.start()


async def test_resolver_lookup_error_is_a_missing_dependency() -> None:
    def resolve(wanted: type[Any]) -> Any:
        raise KeyError(wanted)

    app = jm.JobMaster(testing.memory_config(), handlers=[SendWelcome], services=resolve)
    with pytest.raises(jm.MissingDependencyError, match="Mailer"):
        await app.start()


def test_unannotated_constructor_parameter_is_refused() -> None:
    class Untyped(jm.JobHandler):
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

        async def handle(self, job: jm.JobContext) -> None:
            return None

    with pytest.raises(jm.MissingDependencyError, match="'thing' has no type annotation"):
        HandlerRegistry([Untyped], {Mailer: Mailer()})


async def test_a_handler_instance_per_job() -> None:
    instances: list[int] = []

    class Counting(jm.JobHandler):
        def __init__(self, mailer: Mailer) -> None:
            instances.append(id(self))

        async def handle(self, job: jm.JobContext) -> None:
            return None

    async with testing.eager(handlers=[Counting], services={Mailer: Mailer()}) as app:
        await app.scheduler.bulk_once_now(Counting, [{}, {}])
    assert len(instances) == 2


async def test_duplicate_definition_ids_are_rejected_at_start() -> None:
    @jm.job_handler(definition_id="send-welcome")
    async def impostor(job: jm.JobContext) -> None:
        return None

    app = jm.JobMaster(
        testing.memory_config(), handlers=[SendWelcome, impostor], services={Mailer: Mailer()}
    )
    with pytest.raises(jm.ConfigurationError, match="send-welcome") as caught:
        await app.start()
    assert caught.value.setting == "handlers['send-welcome']"


def test_registering_the_same_handler_twice_is_harmless() -> None:
    registry = HandlerRegistry([bare, bare])
    assert registry.definition_ids == [f"{__name__}.bare"]


def test_unknown_handler_names_it() -> None:
    with pytest.raises(jm.UnknownHandlerError, match=r"nobody\.knows"):
        HandlerRegistry([]).resolve("nobody.knows")
    with pytest.raises(jm.UnknownHandlerError, match=f"{__name__}.bare"):
        HandlerRegistry([]).resolve(bare)


async def test_context_fields_seen_by_the_handler() -> None:
    recorder = testing.JobRecorder()
    handler = recorder.handler("ctx", max_retries=2, lane="special", timeout=7, metadata={"m": 1})
    async with testing.eager(handlers=[handler]) as app:
        job = await app.scheduler.once_now(handler, {"k": "v"}, priority=jm.Priority.CRITICAL)
    [context] = recorder.for_job(job.id)
    assert context.cluster_id == "test"
    assert context.definition_id == "ctx"
    assert context.msg_data == jm.MessageData(k="v")
    assert context.metadata.get_int("m") == 1
    assert context.attempt == 1 and context.max_retries == 2 and not context.is_last_attempt
    assert context.timeout == timedelta(seconds=7)
    assert context.lane == "special" and context.priority is jm.Priority.CRITICAL
    assert context.trigger is jm.TriggerSource.ONCE and context.schedule_id is None
    assert not context.is_cancelled
