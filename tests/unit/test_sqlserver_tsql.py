"""SQL Server batches checked against the rules SQL Server applies when it compiles them,
without a server: variables declared, statements before a common table expression and every
MERGE terminated, as many values as columns in every INSERT and OUTPUT ... INTO, and the columns
the Python side reads returned. Parameters and dialect checks are in ``test_sqlserver.py``."""

from __future__ import annotations

import re

import pytest

from jobmaster.backends.sql import Queries

from .test_sqlserver import (
    EXPECTED_PARAMS,
    PACKAGE,
    PLACEHOLDER,
    PREFIX,
    SCHEDULE_COLUMNS,
    _code,
)


@pytest.fixture(scope="module")
def queries() -> Queries:
    return Queries(PACKAGE, PREFIX)


def _batch(queries: Queries, name: str) -> str:
    """A query as the server gets it (final ';'), without comments, strings or placeholders."""
    return PLACEHOLDER.sub("@param", _code(queries[name] + ";"))


#: Named parameters of system procedures (not variables of the batch).
PROCEDURE_PARAMETERS = {"@Resource", "@LockMode", "@LockOwner", "@LockTimeout"}
#: What may start a line (column 0) of a MERGE statement; anything else there is a statement
#: that follows a MERGE not terminated by ';' (SQL Server refuses it).
MERGE_CLAUSES = ("MERGE", "USING", "ON", "WHEN", "OUTPUT", "OPTION", ")")


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_tsql_batch_rules(queries: Queries, name: str) -> None:
    """Rules SQL Server checks when it compiles a batch: every variable is declared, the
    statement before a common table expression and every MERGE end with ';'."""
    code = _batch(queries, name)
    declared = set(re.findall(r"\bDECLARE\s+(@\w+)", code))
    used = set(re.findall(r"(?<![@\w])@\w+", code)) - {"@param"} - PROCEDURE_PARAMETERS
    assert used <= declared, f"{name}: undeclared {sorted(used - declared)}"
    for cte in re.finditer(r"\bWITH\s+\w+\s+AS\s*\(", code):
        before = code[: cte.start()].rstrip()
        assert not before or before.endswith(";"), f"{name}: statement before WITH not ended"
    for statement in code.split(";"):
        if "MERGE " in statement:
            lines = statement.strip().splitlines()
            starts = [line for line in lines if line.strip() and not line[0].isspace()]
            assert all(line.startswith(MERGE_CLAUSES) for line in starts), (name, starts)


def _group(text: str, start: int) -> tuple[str, int]:
    """The text inside the parentheses that open at ``text[start]``, and the index after."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1:index], index + 1
    raise AssertionError(f"unbalanced: {text[start:start + 60]}")


def _items(text: str) -> list[str]:
    """The comma-separated items of a list, commas inside parentheses left alone."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return [*items, current.strip()]


_LIST_END = re.compile(r"\b(?:INTO|FROM|WHERE|SELECT|OUTPUT|VALUES|ORDER|UNION)\b|;")


def _select_list(text: str, start: int) -> tuple[str, int]:
    """A SELECT or OUTPUT list from ``start`` to the first keyword outside parentheses."""
    depth = 0
    for index in range(start, len(text)):
        if depth == 0 and _LIST_END.match(text, index):
            return text[start:index], index
        depth += {"(": 1, ")": -1}.get(text[index], 0)
    return text[start:], len(text)


def _column_counts(code: str) -> list[tuple[str, int, int]]:
    """(target, columns named, values given) of every INSERT and OUTPUT ... INTO."""
    counts = []
    for insert in re.finditer(r"\bINSERT\b(?:\s+INTO\s+([@\w]+))?\s*\(", code):
        columns, after = _group(code, insert.end() - 1)
        rest = code[after:]
        if rest.lstrip().startswith("VALUES"):
            values = _group(rest, rest.index("("))[0]
        else:  # [OUTPUT ...] SELECT [TOP (n)] values FROM ...
            select = re.match(r"\s*(?:OUTPUT\b.*?)?\bSELECT\s+(?:TOP\s*\([^)]*\)\s*)?",
                              rest, re.DOTALL)
            assert select, rest[:80]
            values = _select_list(rest, select.end())[0]
        counts.append((insert.group(1) or "MERGE", len(_items(columns)), len(_items(values))))
    for output in re.finditer(r"\bOUTPUT\b", code):
        values, end = _select_list(code, output.end())
        into = re.match(r"INTO\s+([@\w]+)\s*\(", code[end:])
        if into:
            columns = _group(code, end + into.end() - 1)[0]
            counts.append((into.group(1), len(_items(columns)), len(_items(values))))
    return counts


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_inserted_columns_match_their_values(queries: Queries, name: str) -> None:
    code = _batch(queries, name)
    for target, columns, values in _column_counts(code):
        assert columns == values, f"{name}: {target} names {columns} columns, given {values}"


def test_column_count_check_sees_every_insert(queries: Queries) -> None:
    """The check above parses what it should: one count per INSERT and OUTPUT ... INTO."""
    def targets(name: str) -> list[str]:
        return [target for target, _, _ in _column_counts(_batch(queries, name))]

    assert targets("finish") == [f"{PREFIX}agent_outbox"] * 2
    assert targets("cancel_held") == [f"{PREFIX}job"]
    assert targets("insert_schedule") == [f"{PREFIX}schedule"]
    assert targets("insert_slots") == ["MERGE"]
    assert _column_counts("INSERT INTO t (a, b) SELECT x FROM y;") == [("t", 2, 1)]


def _result_names(code: str) -> set[str]:
    """The names of the columns every SELECT and OUTPUT list of a batch returns."""
    names: set[str] = set()
    for clause in re.finditer(r"\b(?:SELECT|OUTPUT)\s+(?:TOP\s*\([^)]*\)\s*)?", code):
        for item in _items(_select_list(code, clause.end())[0]):
            found = re.search(r"(?:\bAS\s+(\w+)|(\w+))\s*$", item)
            if found:
                names.add(found.group(1) or found.group(2))
    return names


HISTORY_COLUMNS = {"id", "version", "status", "definition_id", "lane", "priority",
                   "scheduled_at", "created_at", "msg_data", "metadata", "attempt_count",
                   "max_retries", "timeout_ms", "idempotency_key", "schedule_id",
                   "trigger_source", "last_error", "finished_at", "agent"}
SCHEDULE_ROW = set(SCHEDULE_COLUMNS) | {"created_at", "updated_at", "last_declared_at", "version"}
#: The columns the Python side reads from each query's rows.
READ_COLUMNS: dict[str, set[str]] = {
    "get_job": HISTORY_COLUMNS, "list_jobs": HISTORY_COLUMNS,
    "get_held": HISTORY_COLUMNS, "list_held": HISTORY_COLUMNS,
    "hold_jobs": {"id"}, "find_held_keys": {"idempotency_key", "job_id"},
    "find_idempotent": {"id"},
    "claim_held": {"id", "definition_id", "lane", "priority", "scheduled_at", "created_at",
                   "msg_data", "metadata", "max_retries", "timeout_ms", "backoff",
                   "idempotency_key", "schedule_id", "trigger_source", "promote_takes"},
    "get_schedule": SCHEDULE_ROW, "list_schedules": SCHEDULE_ROW, "update_schedule": SCHEDULE_ROW,
    "retire_undeclared": {"id"}, "insert_slots": {"n"},
    "list_slots": {"schedule_id", "slot_at", "job_id", "outcome", "created_at"},
    "trim_slots": {"trimmed"}, "acquire_leader": {"token"}, "purge_history": {"purged"},
    "list_logs": {"at", "level", "logger", "message", "host", "pid"},
    "list_agents": {"name", "kind", "location", "first_seen", "last_seen"},
    "next_due_in": {"due_in_us"},
}


@pytest.mark.parametrize("name", sorted(READ_COLUMNS))
def test_queries_return_the_columns_read(queries: Queries, name: str) -> None:
    missing = READ_COLUMNS[name] - _result_names(_batch(queries, name))
    assert not missing, f"{name} does not return {sorted(missing)}"
