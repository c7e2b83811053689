"""The ``jobmaster`` command: help, jobs ls/show/cancel/retry, and one-line errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmaster import cli, testing
from tests.unit import cli_app

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.unit.cli_app:app"


@pytest.fixture(autouse=True)
def _fresh_space() -> Iterator[None]:
    testing.reset_memory_space(cli_app.SPACE)
    yield
    testing.reset_memory_space(cli_app.SPACE)


def schedule(*, run: bool) -> str:
    """Schedule a job on the CLI app's memory space (and run it when ``run``)."""

    async def go() -> str:
        config = testing.memory_config(space=cli_app.SPACE)
        async with testing.manual(handlers=[cli_app.greet], config=config) as app:
            job = await app.scheduler.once_now(cli_app.greet, {"Name": "Ada"})
            if run:
                await testing.drain(app)
            await app.sync_now()
            return job.id

    return asyncio.run(go())


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "jobmaster", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "worker", "migrate", "jobs"):
        assert command in out


def test_jobs_ls_lists_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    done = schedule(run=True)
    waiting = schedule(run=False)
    assert cli.main(["jobs", "ls", "--app", APP]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "status", "definition", "lane", "attempts", "created"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows[done][1:5] == ["succeeded", "cli.greet", "default", "1"]
    assert rows[waiting][1:5] == ["queued", "cli.greet", "default", "0"]
    assert cli.main(["jobs", "ls", "--app", APP, "--status", "queued"]) == 0
    queued = capsys.readouterr().out
    assert waiting in queued and done not in queued


def test_jobs_ls_pages(capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        schedule(run=False)
    assert cli.main(["jobs", "ls", "--app", "tests.unit.cli_app:make_app", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 4 and "next page: --cursor " in out


def test_jobs_show(capsys: pytest.CaptureFixture[str]) -> None:
    job_id = schedule(run=True)
    assert cli.main(["jobs", "show", job_id, "--app", APP]) == 0
    out = capsys.readouterr().out
    assert f"id: {job_id}" in out and "status: succeeded" in out
    assert "attempts: 1 of 4" in out and "'Name': 'Ada'" in out and "#1 succeeded" in out


def test_jobs_show_unknown_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["jobs", "show", "no-such-job", "--app", APP]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == "job no-such-job not found"


def test_jobs_cancel_and_retry(capsys: pytest.CaptureFixture[str]) -> None:
    job_id = schedule(run=False)
    assert cli.main(["jobs", "retry", job_id, "--app", APP]) == 0
    assert cli.main(["jobs", "cancel", job_id, "--app", APP]) == 0
    assert cli.main(["jobs", "cancel", job_id, "--app", APP]) == 1
    assert cli.main(["jobs", "retry", job_id, "--app", APP]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "due now",
        "cancelled",
        "not cancelled: unknown or already finished",
        "not retried: the job is not waiting",
    ]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("no_colon", "expected module:app, got 'no_colon'"),
        ("tests.unit.no_such_module:app", "cannot import 'tests.unit.no_such_module'"),
        ("tests.unit.cli_app:not_an_app", "is not a JobMaster application"),
        ("tests.unit.cli_app:missing", "is not a JobMaster application"),
    ],
)
def test_bad_app_reference_is_one_line(reference: str, expected: str) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["jobs", "ls", "--app", reference])
    message = caught.value.code
    assert isinstance(message, str) and "\n" not in message
    assert message.startswith("jobmaster: ") and expected in message


def test_bad_app_reference_from_the_command_line() -> None:
    result = run_cli("jobs", "ls", "--app", "tests.unit.no_such_module:app")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot import" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_postgres_is_exit_2_and_one_line() -> None:
    pytest.importorskip("asyncpg")
    result = run_cli("jobs", "ls", "--app", "tests.unit.cli_app:unreachable")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jobmaster: ") and "127.0.0.1:1" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_jobs_need_an_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JOBMASTER_APP", raising=False)
    with pytest.raises(SystemExit) as caught:
        cli.main(["jobs", "ls"])
    assert caught.value.code == 2
    assert "--app" in capsys.readouterr().err
