"""docs/api.md lists every operation of the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import jobmaster as jm
from jobmaster.api import create_app
from jobmaster.testing import memory_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_operation_is_documented() -> None:
    document = create_app(jm.JobMaster(memory_config())).openapi()
    text = DOC.read_text()
    missing = [f"{method.upper()} {path}" for path, operations in document["paths"].items()
               for method in operations if f"| `{method.upper()}` | `{path}` |" not in text]
    assert not missing, f"add these to docs/api.md: {missing}"
