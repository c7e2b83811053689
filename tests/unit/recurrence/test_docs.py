"""docs/expressions.md shows occurrences computed by the current library."""

from __future__ import annotations

import pytest

from .docs_examples import DOCS, render, tables


def test_every_example_table_is_present() -> None:
    if not DOCS.exists():
        pytest.skip("docs/expressions.md is not in this checkout")
    document = DOCS.read_text(encoding="utf-8")
    for name in tables():
        assert f"<!-- examples:{name} -->" in document


def test_example_tables_match_the_library() -> None:
    if not DOCS.exists():
        pytest.skip("docs/expressions.md is not in this checkout")
    document = DOCS.read_text(encoding="utf-8")
    assert render(document) == document, (
        "regenerate with: python -m tests.unit.recurrence.docs_examples --write"
    )
