"""``jobmaster schedules ls|show|pause|resume|cancel`` on the CLI test app's memory space."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from jobmaster import cli, testing
from tests.unit import cli_app

APP = "tests.unit.cli_app:app"


@pytest.fixture(autouse=True)
def _fresh_space() -> Iterator[None]:
    testing.reset_memory_space(cli_app.SPACE)
    yield
    testing.reset_memory_space(cli_app.SPACE)


def create_schedule() -> str:
    async def go() -> str:
        config = testing.memory_config(space=cli_app.SPACE)
        async with testing.manual(handlers=[cli_app.greet], config=config) as app:
            info = await app.scheduler.recurring(cli_app.greet, "every 5 minutes", {"N": 1})
            return info.id

    return asyncio.run(go())


def test_schedules_commands(capsys: pytest.CaptureFixture[str]) -> None:
    schedule_id = create_schedule()
    assert cli.main(["schedules", "ls", "--app", APP]) == 0
    listed = capsys.readouterr().out
    assert schedule_id in listed and "every 5 minutes" in listed and "active" in listed
    assert cli.main(["schedules", "show", schedule_id, "--app", APP]) == 0
    shown = capsys.readouterr().out
    assert "cli.greet" in shown and "misfire: skip" in shown and "'N': 1" in shown
    assert cli.main(["schedules", "pause", schedule_id, "--app", APP]) == 0
    assert capsys.readouterr().out.strip() == "paused"
    assert cli.main(["schedules", "pause", schedule_id, "--app", APP]) == 1
    assert "it is paused" in capsys.readouterr().err
    assert cli.main(["schedules", "ls", "--status", "paused", "--app", APP]) == 0
    assert schedule_id in capsys.readouterr().out
    assert cli.main(["schedules", "resume", schedule_id, "--app", APP]) == 0
    assert cli.main(["schedules", "cancel", schedule_id, "--app", APP]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert cli.main(["schedules", "show", "nope", "--app", APP]) == 1
    assert "not found" in capsys.readouterr().err
    assert cli.main(["schedules", "cancel", "nope", "--app", APP]) == 1
    assert "unknown schedule" in capsys.readouterr().err
