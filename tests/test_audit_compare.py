"""How the audit compares two sources' answers inside DuckDB: agree, disagree (with run ids), held by one only, and
silent — numbers within tolerance count as one answer, 'keys' questions compare only who holds what."""

from __future__ import annotations

import duckdb

from temporal_lens.analysis.audit.catalogue import GenericQuestion, _verdicts

ROWS = {
    "history": [("Order", "r1", "a #1", "failed"), ("Order", "r1", "a #2", "completed"),
                ("Order", "r2", "a #1", "completed"), ("Order", "r3", "p50", 100.0), ("Refund", "r9", "a #1", "x")],
    "traces": [("Order", "r1", "a #1", "failed"), ("Order", "r1", "a #2", "failed"),
               ("Order", "r4", "a #1", "completed"), ("Order", "r3", "p50", 110.0)],
}


def _answers(conn: duckdb.DuckDBPyConnection) -> None:
    for source, rows in ROWS.items():
        conn.execute(f"CREATE TEMP TABLE audit_answer_{source} (workflow_type VARCHAR, run_id VARCHAR,"
                     " subject VARCHAR, value VARCHAR)")
        conn.executemany(f"INSERT INTO audit_answer_{source} VALUES (?, ?, ?, ?)", rows)


def test_values_questions_name_the_runs_that_differ_and_what_only_one_holds() -> None:
    conn = duckdb.connect()
    _answers(conn)
    order, refund = _verdicts(conn, GenericQuestion("q", "q"), ["history", "traces"])
    assert (order.workflow_type, order.rows, order.silent) == ("Order", {"history": 4, "traces": 4}, [])
    (pair,) = order.pairs
    # r3's 100 vs 110 is within tolerance; r1's second attempt differs; r2 only in history, r4 only in traces
    assert (pair.agree, pair.disagree, pair.disagreeing_runs) == (2, 1, ["r1"])
    assert (pair.only_first, pair.only_first_runs, pair.only_second, pair.only_second_runs) == (1, ["r2"], 1, ["r4"])
    assert (refund.rows, refund.silent, refund.pairs) == ({"history": 1}, ["traces"], [])


def test_keys_questions_do_not_compare_values() -> None:
    conn = duckdb.connect()
    _answers(conn)
    order = _verdicts(conn, GenericQuestion("q", "q", compare="keys"), ["history", "traces"])[0]
    assert (order.pairs[0].agree, order.pairs[0].disagree) == (3, 0)
