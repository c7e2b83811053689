"""Applications for the CLI tests (``tests.unit.cli_app:app`` and friends)."""

from __future__ import annotations

import jobmaster as jm

#: The memory space the CLI tests fill before running ``jobmaster jobs ...`` in process.
SPACE = "cli-tests"


@jm.job_handler(definition_id="cli.greet")
async def greet(job: jm.JobContext) -> None:
    return None


app = jm.JobMaster(jm.ClusterConfig.standalone("cli").use_memory(SPACE), handlers=[greet])


def make_app() -> jm.JobMaster:
    """A factory: ``module:make_app`` is called to get the application."""
    return jm.JobMaster(jm.ClusterConfig.standalone("cli").use_memory(SPACE), handlers=[greet])


#: PostgreSQL on a port nothing listens on: start must fail with one line, exit code 2.
unreachable = jm.JobMaster(
    jm.ClusterConfig.standalone("cli").use_postgres("postgresql://postgres@127.0.0.1:1/x"),
    handlers=[greet],
)

not_an_app = object()
