"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis): no
input may produce a 5xx. Bounded: a few examples per operation, the whole run < 60 s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from jobmaster.api import ApiSettings
from jobmaster.testing import EagerJobMaster

from .conftest import HANDLERS, OPERATOR_KEY, auth_config, seed
from .live import LiveServer


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    app = EagerJobMaster(handlers=HANDLERS, eager=False)
    server = LiveServer(app, auth_config(), prepare=seed,
                        settings=ApiSettings(requests_per_second=10_000, burst_requests=10_000,
                                             enqueues_per_second=10_000, burst_enqueues=10_000))
    yield server.start()
    server.stop()


def test_no_operation_returns_a_server_error(live: LiveServer) -> None:
    api_schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json",
                                               headers={"x-api-key": OPERATOR_KEY})
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(headers={"x-api-key": OPERATOR_KEY}, timeout=10)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        check()
    assert operations >= 20
    assert not failures, failures
    assert statuses[200] > 20, statuses  # the fuzzer got past authentication
