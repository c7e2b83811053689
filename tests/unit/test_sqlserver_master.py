"""SQL Server master features without a server: what the Python side sends for held jobs,
schedules, slots, leader leases, retention, logs and the agent registry, and how it reads the
rows back (a recording fake connection answers with canned rows). The SQL itself is checked in
``test_sqlserver.py``; the conformance suite runs both against a real server when
JOBMASTER_SQLSERVER_DSN names one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobmaster.backends._sqlcommon.rows import schedule_from, schedule_params
from jobmaster.backends.sqlserver import SqlServerAgent, SqlServerMaster
from jobmaster.backends.sqlserver.codec import like_literal, split_delta
from jobmaster.backends.sqlserver.connection import SqlServerStore
from jobmaster.config import BackendSpec
from jobmaster.model import AgentRecord, JobQuery, JobStatus, LogQuery
from jobmaster.recurring.records import SlotOutcome, SlotRecord

from .test_sqlserver import FakeConnection, _held_row, _job, _job_row, _schedule

SPEC = BackendSpec("sqlserver", "mssql://sa:pw@127.0.0.1:1433/jobs", "jmx_")
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Server:
    """The fake server: every batch executed (with its parameters) and the canned answers."""

    log: list[tuple[str, dict[str, Any] | None]]
    canned: dict[str, Any]
    master: SqlServerMaster
    agent: SqlServerAgent

    def calls(self, marker: str) -> list[dict[str, Any]]:
        """The parameters of every batch containing ``marker``."""
        return [params or {} for sql, params in self.log if marker in sql]


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    log: list[tuple[str, dict[str, Any] | None]] = []
    canned: dict[str, Any] = {}
    monkeypatch.setattr(SqlServerStore, "connect", lambda self: FakeConnection(log, canned))
    found = Server(log, canned, SqlServerMaster(SPEC), SqlServerAgent(SPEC, "standalone"))
    await found.master.open()
    await found.agent.open()
    yield found
    await found.master.close()
    await found.agent.close()


def test_every_master_feature_is_on() -> None:
    capabilities = SqlServerMaster(SPEC).capabilities
    assert capabilities.held_jobs and capabilities.recurring_schedules
    assert capabilities.log_store and capabilities.purge_history and capabilities.agent_registry


async def test_hold_jobs_sends_each_job_once_and_names_the_holders(server: Server) -> None:
    first, keyed, same_key = _job(), _job("k"), _job("k")
    server.canned["INTO jmx_held_job"] = [{"id": first.id}]
    server.canned["AS job_id, 0 AS src"] = [{"idempotency_key": "k", "job_id": "holder"}]
    results = await server.master.hold_jobs([first, keyed, same_key, first])
    assert [(r.id, r.created) for r in results] == [
        (first.id, True), ("holder", False), ("holder", False), (first.id, False)]
    [hold] = server.calls("INTO jmx_held_job")
    assert [job["id"] for job in json.loads(hold["jobs"])] == [first.id, keyed.id]
    [keys] = server.calls("AS job_id, 0 AS src")
    assert json.loads(keys["keys"]) == ["k"]


async def test_claimed_rows_become_held_jobs(server: Server) -> None:
    later, sooner = _held_row(scheduled_at=datetime(2026, 1, 2)), _held_row(promote_takes=2)
    server.canned["promote_takes + 1"] = [later, sooner]
    taken = await server.master.claim_held("promoter-1", due_within=timedelta(seconds=90.5),
                                           limit=10, lease=timedelta(seconds=30))
    assert [held.job.id for held in taken] == [sooner["id"], later["id"]]
    assert [held.retaken for held in taken] == [True, False]
    assert all(held.token.startswith("promoter-1:") for held in taken)
    assert taken[0].scheduled_at.tzinfo is UTC and taken[0].created_at.tzinfo is UTC
    [params] = server.calls("promote_takes + 1")
    assert (params["due_s"], params["due_us"], params["lease_s"]) == (90, 500_000, 30)


async def test_a_job_missing_from_the_history_is_looked_for_among_held_jobs(
        server: Server) -> None:
    held = {**_job_row(), "status": "scheduled", "agent": ""}
    server.canned["FROM jmx_held_job WHERE id"] = [held]
    info = await server.master.get_job(held["id"])
    assert info is not None and info.status is JobStatus.SCHEDULED and info.attempts == []
    assert server.calls("FROM jmx_attempt") == []


async def test_job_lists_merge_history_and_held_jobs_newest_first(server: Server) -> None:
    old = {**_job_row(), "status": "succeeded", "created_at": datetime(2026, 1, 1)}
    new = {**_job_row(), "status": "scheduled", "created_at": datetime(2026, 1, 3)}
    middle = {**_job_row(), "status": "failed", "created_at": datetime(2026, 1, 2)}
    server.canned["FROM jmx_held_job\nWHERE"] = [new]
    server.canned["FROM jmx_job\nWHERE"] = [middle, old]
    page = await server.master.list_jobs(JobQuery(limit=2))
    assert [info.id for info in page.items] == [new["id"], middle["id"]]
    assert page.next_cursor is not None
    # Attempts are asked for the history rows kept on the page only.
    [attempts] = server.calls("FROM jmx_attempt WHERE job_id IN")
    assert json.loads(attempts["ids"]) == [middle["id"]]
    server.log.clear()
    await server.master.list_jobs(JobQuery(status=JobStatus.SCHEDULED))
    assert server.calls("FROM jmx_job\nWHERE") == []
    [held_query] = server.calls("FROM jmx_held_job\nWHERE")
    assert "status" not in held_query
    server.log.clear()
    await server.master.list_jobs(JobQuery(status=JobStatus.FAILED))
    assert server.calls("FROM jmx_held_job\nWHERE") == []


async def test_slots_created_are_reported_by_position(server: Server) -> None:
    slots = [SlotRecord("s", T0 + timedelta(seconds=2), "j2", SlotOutcome.PLANNED),
             SlotRecord("s", T0, "j0", SlotOutcome.PLANNED),
             SlotRecord("s", T0 + timedelta(seconds=2), "again", SlotOutcome.PLANNED)]
    server.canned["MERGE jmx_schedule_slot"] = [{"n": 0}]
    assert await server.master.insert_slots(slots) == [True, False, False]
    [params] = server.calls("MERGE jmx_schedule_slot")
    document = json.loads(params["slots"])
    # One entry per slot (a repeated one would make MERGE fail), in key order.
    assert [(entry["n"], entry["slot_at"]) for entry in document] == [
        (1, "2030-01-01T00:00:00.000000"), (0, "2030-01-01T00:00:02.000000")]


async def test_slot_lists_read_aware_times(server: Server) -> None:
    server.canned["FROM jmx_schedule_slot\nWHERE"] = [{
        "schedule_id": "s", "slot_at": datetime(2030, 1, 1), "job_id": "j",
        "outcome": "enqueued", "created_at": datetime(2029, 12, 31)}]
    [slot] = await server.master.list_slots("s", after=T0, outcome=SlotOutcome.ENQUEUED)
    assert slot == SlotRecord("s", T0, "j", SlotOutcome.ENQUEUED, datetime(2029, 12, 31,
                                                                           tzinfo=UTC))
    [params] = server.calls("FROM jmx_schedule_slot\nWHERE")
    assert params["after"] == datetime(2030, 1, 1) and params["outcome"] == "enqueued"


def test_schedule_rows_round_trip() -> None:
    record = _schedule(T0).changed(end_before=T0 + timedelta(days=1), allow_overlap=False,
                                   planned_until=T0, missed_count=4, generation=2)
    params = schedule_params(record)
    assert params["allow_overlap"] is False  # sent as BIT
    assert all(not isinstance(v, datetime) or v.tzinfo is None for v in params.values())
    stored = {**params, "created_at": datetime(2029, 1, 1), "updated_at": datetime(2029, 1, 2),
              "last_declared_at": None, "version": 3}
    read = schedule_from(stored)
    assert read == record.changed(created_at=datetime(2029, 1, 1, tzinfo=UTC),
                                  updated_at=datetime(2029, 1, 2, tzinfo=UTC), version=3)


async def test_update_schedule_is_fenced_by_the_version_read(server: Server) -> None:
    record = _schedule(T0).changed(version=7)
    assert await server.master.update_schedule(record) is None  # no row: someone else won
    [params] = server.calls("UPDATE jmx_schedule SET\n")
    assert params["version"] == 7 and "kind" not in params


async def test_leader_lease_token(server: Server) -> None:
    server.canned["MERGE jmx_leader"] = [{"token": "abc"}]
    assert await server.master.acquire_leader("planner", "me", timedelta(seconds=1.25)) == "abc"
    [params] = server.calls("MERGE jmx_leader")
    assert (params["ttl_s"], params["ttl_us"], params["owner"]) == (1, 250_000, "me")
    del server.canned["MERGE jmx_leader"]
    assert await server.master.acquire_leader("planner", "other", timedelta(seconds=1)) is None
    assert not await server.master.renew_leader("planner", "abc", timedelta(seconds=1))


@pytest.mark.parametrize(("text", "pattern"), [
    ("jobmaster.work", "jobmaster.work"),
    ("100%_", "100!%!_"),
    ("[x]!", "![x]!!"),
])
def test_like_patterns_match_literally(text: str, pattern: str) -> None:
    assert like_literal(text) == pattern


async def test_log_filters_become_literal_patterns(server: Server) -> None:
    server.canned["FROM jmx_log\n"] = [{"at": datetime(2030, 1, 1), "level": 30,
                                        "logger": "jobmaster.syncer", "message": "lag",
                                        "host": "h", "pid": 7}]
    [entry] = await server.master.list_logs(LogQuery(logger_prefix="jobmaster.work%",
                                                     text="LAG_", since=T0))
    assert entry.at == T0 and entry.level == 30 and entry.pid == 7
    [params] = server.calls("FROM jmx_log\n")
    assert params["logger_like"] == "jobmaster.work!%%"
    assert params["text_like"] == "%lag!_%" and params["since"] == datetime(2030, 1, 1)
    server.log.clear()
    await server.master.list_logs(LogQuery())
    [params] = server.calls("FROM jmx_log\n")
    assert params["logger_like"] is None and params["text_like"] is None


async def test_purge_removes_logs_and_history_in_one_transaction(server: Server) -> None:
    server.canned["AS purged"] = [{"purged": 3}]
    assert await server.master.purge_history(timedelta(days=1, seconds=0.5), limit=50) == 3
    logs, history = server.log[-2:]  # one transaction: the logs, then jobs and attempts
    assert "FROM jmx_log" in logs[0] and "FROM jmx_attempt" in history[0]
    assert logs[1] == history[1] == {"older_s": 86400, "older_us": 500_000, "limit": 50}
    assert await server.master.purge_history(timedelta(days=1), limit=0) == 0


async def test_agents_are_registered_once_per_name(server: Server) -> None:
    await server.master.register_agents([AgentRecord("b", "nats", "n:4222"),
                                         AgentRecord("a", "postgres", "db/jobs"),
                                         AgentRecord("b", "nats", "n2:4222")])
    [params] = server.calls("MERGE jmx_agent")
    assert json.loads(params["agents"]) == [
        {"name": "a", "kind": "postgres", "location": "db/jobs"},
        {"name": "b", "kind": "nats", "location": "n2:4222"}]
    server.canned["FROM jmx_agent ORDER BY"] = [{
        "name": "a", "kind": "postgres", "location": "db/jobs",
        "first_seen": datetime(2030, 1, 1), "last_seen": datetime(2030, 1, 1)}]
    [agent] = await server.master.list_agents()
    assert agent.first_seen == T0 and agent.last_seen == T0


async def test_next_due_in_reads_microseconds(server: Server) -> None:
    server.canned["AS due_in_us"] = [{"due_in_us": 1_500_000}]
    assert await server.agent.next_due_in(["d"], None) == timedelta(seconds=1.5)
    [params] = server.calls("AS due_in_us")
    assert params["every_lane"] is True and params["lanes"] == "[]"
    server.canned["AS due_in_us"] = [{"due_in_us": None}]
    assert await server.agent.next_due_in(["d"], ["a"]) is None
    assert server.calls("AS due_in_us")[-1]["lanes"] == '["a"]'
    assert await server.agent.next_due_in([], None) is None


def test_spans_beyond_dateadd_are_cut() -> None:
    assert split_delta(timedelta(seconds=-1.5)) == (-2, 500_000)
    assert split_delta(timedelta(days=36_500)) == (2**31 - 1, 0)
    assert split_delta(-timedelta(days=36_500)) == (-(2**31 - 1), 0)
