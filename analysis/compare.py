"""The comparison of every source's answer to a question with the ground truth, as one SQL statement.

Both sides are materialized first (`truth` once per question, each `answer` once); the statement built here
(`sources_units_sql`) groups them by source and by the question's unit (an order, or a group) and judges unit by
unit: right, missing, incomplete (every answered row right, some missing) or wrong. The truth's half of that work (its
units, signed and grouped) is the same for every source, so scoring materializes it once per question too
(`truth_side_tables`). The per-unit rows come back for scoring to count and store, so scoring 10k orders costs what
DuckDB costs.

Values compare as the question means them, whatever SQL type each side chose: numbers as numbers (HUGEINT, DECIMAL
and DOUBLE alike, to 6 decimals), timestamps as instants (with or without time zone), everything else as its text.
Where the two sides name different columns, or hold a different kind of value in one (a number on one side, text
on the other), no row can match: a number never equals the string that spells it.

Units, keys and rows are compared by a 64-bit hash of those values (DuckDB's `hash`), not by their text: grouping
and joining integers is what keeps a pass over 10k orders cheap. Two different rows of one unit would have to
collide in 64 bits to be taken as equal: at a million rows, a chance of about 3 in 100 million.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from temporal_lens.analysis.catalogue import PER_ORDER_EXACT, Question
from temporal_lens.analysis.causes import INCOMPLETE, MISSING, RIGHT, WRONG

_NUMERIC = re.compile(r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|REAL|DECIMAL(\(.*\))?)$")
_DIFFERS = "'≠'"
_FINGERPRINT = "count(*) AS n, sum(r) AS f1, bit_xor(r) AS f2"
"""A unit's rows as a multiset, whatever their order: their number, and the sum and the exclusive or of their 64-bit
hashes."""
_OBSERVED = "_observed_"
"""Prefix of the carried column telling whether an observed column holds a value."""


class MissingColumn(ValueError):
    """The answer (or the truth) lacks a column the question compares."""


@dataclass(frozen=True)
class Comparison:
    total: int
    right: int
    missing: int
    example: str | None


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_numeric(data_type: str) -> bool:
    return bool(_NUMERIC.match(data_type))


def _value(column: str, data_type: str, table: str) -> str:
    """`column` as a comparable value: a rounded DOUBLE, epoch microseconds, or the column itself."""
    ref = f"{table}.{quote(column)}"
    if _is_numeric(data_type):
        return f"(round(CAST({ref} AS DOUBLE), 6) + 0.0)"  # + 0.0: -0.0 and 0.0 are one number
    if data_type.startswith(("TIMESTAMP", "DATETIME")):
        return f"epoch_us({ref})"
    return ref


def _kind(data_type: str) -> str:
    """What a column's values are, as far as equality goes: columns of different kinds never hold equal values."""
    if _is_numeric(data_type):
        return "number"
    if data_type.startswith(("TIMESTAMP", "DATETIME")):
        return "instant"
    if data_type in ("BOOLEAN", "DATE") or data_type.endswith("]"):  # lists compare as lists of their own type
        return data_type
    return "text"


def _comparable(column: str, data_type: str, table: str) -> str:
    """`column` as the value its kind compares by: a rounded DOUBLE, epoch microseconds, the value itself where
    both sides hold the same type (booleans, dates, lists), or else its text."""
    kind = _kind(data_type)
    if kind in ("number", "instant") or kind == data_type:
        return _value(column, data_type, table)
    return f"CAST({table}.{quote(column)} AS VARCHAR)"


def _signature(columns: list[tuple[str, str]], table: str, *, differs: bool = False) -> str:
    """One 64-bit hash of several columns in name order, each as `_comparable` (a NULL hashes alike whatever its
    type, and unlike any value). `differs`: the other side's columns have other names or kinds of value, so no row
    of this side may equal one of the other (a number never equals the text spelling it): a marker joins the hash."""
    parts = [_comparable(name, data_type, table) for name, data_type in sorted(columns)]
    if differs:
        parts.insert(0, _DIFFERS)
    return "hash(" + (", ".join(parts) or "''") + ")"


def _differs(ours: list[tuple[str, str]], theirs: list[tuple[str, str]]) -> bool:
    return sorted((name, _kind(t)) for name, t in ours) != sorted((name, _kind(t)) for name, t in theirs)


def _display(unit: list[tuple[str, str]], table: str) -> str:
    """The unit as people read it (`order-1`, `completed / 2026-11-27`), for naming a wrong one."""
    return "concat_ws(' / ', " + ", ".join(
        f"coalesce(CAST({_value(name, data_type, table)} AS VARCHAR), 'None')" for name, data_type in unit
    ) + ")"


def _pick(columns: dict[str, str], names: tuple[str, ...], side: str) -> list[tuple[str, str]]:
    absent = [name for name in names if name not in columns]
    if absent:
        raise MissingColumn(f"the {side} has no column {', '.join(absent)} (it has {', '.join(columns) or 'none'})")
    return [(name, columns[name]) for name in names]


def _compared_by_rows(q: Question) -> bool:
    return q.kind == PER_ORDER_EXACT or not (q.timed or q.observed)


def _truth_side(q: Question, truth: dict[str, str], truth_table: str, *, keys: str = "tk",
                rows: str = "tr") -> dict[str, str]:
    """The parts of `units_sql` that read the truth alone, by CTE name: the truth's units (`tu`: signature, how
    people read it, the order it names, and for a question compared by rows the fingerprint of its rows) and its
    rows: for a question compared by rows, their unit and row signatures (`tr`; `tu` reads them as `rows`); for
    one compared by key, every column with the unit and key signatures (`tk`; read as `keys`), and its distinct
    keys (`td`)."""
    truth_unit = _pick(truth, q.unit, "truth")
    t_unit, shown = _signature(truth_unit, "x"), _display(truth_unit, "x")
    order = f"CAST(x.{quote('order_id')} AS VARCHAR)" if "order_id" in q.unit else "CAST(NULL AS VARCHAR)"
    if _compared_by_rows(q):
        t_row = _signature([(n, t) for n, t in truth.items() if n not in q.unit], "x")
        return {"tr": f"SELECT {t_unit} AS u, {t_row} AS r, {shown} AS shown, {order} AS order_id "
                      f"FROM {truth_table} AS x",
                "tu": f"SELECT u, min(shown) AS shown, min(order_id) AS order_id, {_FINGERPRINT} FROM {rows} "
                      "GROUP BY u"}
    t_key = _signature(_pick(truth, q.key, "truth"), "x")
    return {"tk": f"SELECT *, {t_unit} AS _u, {t_key} AS _k, {shown} AS _shown, {order} AS _order "
                  f"FROM {truth_table} AS x",
            "tu": f"SELECT _u AS u, min(_shown) AS shown, min(_order) AS order_id, count(*) AS n, "
                  f"count(DISTINCT _k) AS keys FROM {keys} GROUP BY 1",
            "td": f"SELECT DISTINCT _u, _k FROM {keys}"}


def truth_side_tables(q: Question, truth: dict[str, str], *, truth_table: str) -> list[tuple[str, str]]:
    """(table, statement) pairs, in order, materializing the truth's side of `units_sql` once for every source's
    comparison (`units_sql(..., truth_prepared=True)` reads them): that part of the work is the same for each answer.

    Raises:
        MissingColumn: the truth lacks a column the comparison needs.
    """
    parts = _truth_side(q, truth, truth_table, keys=f"{truth_table}_tk", rows=f"{truth_table}_tr")
    return [(f"{truth_table}_{cte}", select) for cte, select in parts.items()]


def truth_units_sql(q: Question, truth: dict[str, str], *, truth_table: str, truth_prepared: bool = False) -> str:
    """The truth's units of `q` as people read them (`unit`), one row each: the units every source is judged on, so
    a unit not among a source's units not right is one it got right.

    Raises:
        MissingColumn: the truth lacks a column its units need.
    """
    if truth_prepared:
        return f"SELECT shown AS unit FROM {truth_table}_tu"
    side = _truth_side(q, truth, truth_table)
    return f"WITH {', '.join(f'{cte} AS ({select})' for cte, select in side.items())} SELECT shown AS unit FROM tu"


def literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def check_answer(q: Question, truth: dict[str, str], answer: dict[str, str]) -> None:
    """Raise MissingColumn where `answer` (or `truth`) lacks a column the comparison of `q` reads."""
    _pick(truth, q.unit, "truth")
    _pick(answer, q.unit, "answer")
    if not _compared_by_rows(q):
        _pick(truth, q.key, "truth")
        _pick(truth, tuple(t for _, t in q.timed), "truth")
        _pick(answer, q.key, "answer")
        _pick(answer, tuple(a for a, _ in q.timed) + q.observed, "answer")


def sources_units_sql(q: Question, truth: dict[str, str], answers: dict[str, dict[str, str]], *, truth_table: str,
                      answer_tables: dict[str, str], truth_prepared: bool = False) -> str:
    """The statement judging every source's answer (`answer_tables[source]`, columns `answers[source]`) against
    `truth_table` for `q` at once: one row per source and truth unit, with `source`, `unit` (as people read it),
    `order_id` (the order the unit names, NULL for groups of orders), `outcome` (right, missing, incomplete,
    wrong), `expected` (truth rows), `answered` (answer rows), `matched` (answer rows equal to, or within tolerance
    of, a truth row). Columns are name -> DuckDB type. `truth_prepared`: the tables of `truth_side_tables` for
    `truth_table` exist; the truth's side is read from them.

    Raises:
        MissingColumn: the truth or an answer lacks a column the question compares (`check_answer` tells which).
    """
    if not answers:
        raise ValueError("no answer to judge")
    truth_unit = _pick(truth, q.unit, "truth")
    side = _truth_side(q, truth, truth_table)
    if truth_prepared:
        side = {cte: f"SELECT * FROM {truth_table}_{cte}" for cte in side}
    # Answers are numbered by table within the statement (grouping and joining on a small integer is cheaper than on
    # a name): sources reading one table (the same statement) are compared once, and named at the end.
    for answer in answers.values():
        check_answer(q, truth, answer)
    table_number = {table: i for i, table in enumerate(dict.fromkeys(answer_tables[s] for s in answers))}
    number = {source: table_number[answer_tables[source]] for source in answers}
    first: dict[int, str] = {}
    for source, i in number.items():
        first.setdefault(i, source)
    sources = ("SELECT * FROM (VALUES " + ", ".join(f"({i}, {literal(s)})" for s, i in number.items())
               + ") AS src(s, name)")
    tables = "SELECT * FROM (VALUES " + ", ".join(f"({i})" for i in first) + ") AS tab(s)"
    if _compared_by_rows(q):
        t_rest = [(n, t) for n, t in truth.items() if n not in q.unit]
        rows = []
        for i, source in first.items():
            answer = answers[source]
            answer_unit = _pick(answer, q.unit, "answer")
            a_rest = [(n, t) for n, t in answer.items() if n not in q.unit]
            rows.append(f"SELECT {i} AS s, "
                        f"{_signature(answer_unit, 'x', differs=_differs(truth_unit, answer_unit))} AS u, "
                        f"{_signature(a_rest, 'x', differs=_differs(t_rest, a_rest))} AS r "
                        f"FROM {answer_tables[source]} AS x")
        # Rows are a multiset per unit: the same count, sum and exclusive or of row hashes (order-free), right. Only
        # units that differ are taken apart to count, per row, how often both sides hold it (matched) and how often
        # the answer holds it beyond the truth (extra): nothing extra, some unmatched is incomplete; extra is wrong.
        return f"""
            WITH a AS ({" UNION ALL ".join(rows)}),
                 tr AS ({side["tr"]}),
                 tu AS ({side["tu"]}),
                 tab AS ({tables}),
                 au AS (SELECT s, u, {_FINGERPRINT} FROM a GROUP BY s, u),
                 j AS (SELECT tab.s, tu.u, tu.shown, tu.order_id, tu.n AS t_n, au.n AS a_n,
                              au.n = tu.n AND au.f1 = tu.f1 AND au.f2 = tu.f2 AS same
                       FROM tu CROSS JOIN tab LEFT JOIN au ON au.s = tab.s AND au.u = tu.u),
                 odd AS (SELECT s, u FROM j WHERE NOT same),
                 t_odd AS (SELECT odd.s, odd.u, tr.r, count(*) AS n FROM odd JOIN tr USING (u) GROUP BY ALL),
                 a_odd AS (SELECT a.s, a.u, a.r, count(*) AS n FROM a SEMI JOIN odd USING (s, u) GROUP BY ALL),
                 d AS (SELECT s, u, sum(least(coalesce(t_odd.n, 0), coalesce(a_odd.n, 0))) AS matched,
                              sum(greatest(coalesce(a_odd.n, 0) - coalesce(t_odd.n, 0), 0)) AS extra
                       FROM t_odd FULL JOIN a_odd USING (s, u, r) GROUP BY s, u)
            SELECT src.name AS source, j.shown AS unit, j.order_id,
                   CASE WHEN j.a_n IS NULL THEN '{MISSING}' WHEN j.same THEN '{RIGHT}'
                        WHEN d.extra > 0 THEN '{WRONG}' ELSE '{INCOMPLETE}' END AS outcome,
                   j.t_n AS expected, coalesce(j.a_n, 0) AS answered,
                   CASE WHEN j.same THEN j.t_n ELSE coalesce(d.matched, 0) END AS matched
            FROM j LEFT JOIN d USING (s, u) JOIN ({sources}) AS src USING (s)"""

    truth_key = _pick(truth, q.key, "truth")
    timed_truth = _pick(truth, tuple(t for _, t in q.timed), "truth")
    below, above = q.tolerance_ms
    # Each source's answer has columns of its own: only what the comparison reads is carried into the union, timed
    # columns as numbers, observed ones as whether they hold a value (a positive one where numeric).
    keyed = []
    for i, source in first.items():  # every source reading this table is joined to its comparison at the end
        answer = answers[source]
        answer_unit, answer_key = _pick(answer, q.unit, "answer"), _pick(answer, q.key, "answer")
        values = "".join(f", CAST(x.{quote(a)} AS DOUBLE) AS {quote(a)}" for a in dict.fromkeys(a for a, _ in q.timed))
        values += "".join(f", {_observed(c, answer[c])} AS {quote(_OBSERVED + c)}" for c in dict.fromkeys(q.observed))
        keyed.append(f"SELECT {i} AS s, "
                     f"{_signature(answer_unit, 'x', differs=_differs(truth_unit, answer_unit))} AS _u, "
                     f"{_signature(answer_key, 'x', differs=_differs(truth_key, answer_key))} AS _k{values} "
                     f"FROM {answer_tables[source]} AS x")
    checks = ["TRUE"]
    for (answer_column, _), (truth_column, _) in zip(q.timed, timed_truth, strict=True):
        got, floor = f"a.{quote(answer_column)}", f"t.{quote(truth_column)}"
        checks.append(f"{got} IS NOT NULL AND {got} BETWEEN {floor} - {below} AND {floor} + {above}")
    checks += [f"a.{quote(_OBSERVED + column)}" for column in q.observed]
    # Per unit: right when the answer names each key once, names only keys the truth has, as many as the truth has
    # (so the same set), and every truth row's key is answered within tolerance (timed) and present (observed).
    # Incomplete: the same, except that some of the truth's keys are not named.
    unique = "au.n = au.keys AND hk.keys = au.keys"
    return f"""
        WITH tk AS ({side["tk"]}),
             ak AS ({" UNION ALL ".join(keyed)}),
             tu AS ({side["tu"]}),
             td AS ({side["td"]}),
             src AS ({sources}),
             akd AS (SELECT s, _u, _k, count(*) AS n FROM ak GROUP BY ALL),
             au AS (SELECT s, _u AS u, sum(n) AS n, count(*) AS keys FROM akd GROUP BY 1, 2),
             hk AS (SELECT a.s, a._u AS u, count(*) AS keys FROM akd AS a JOIN td AS t ON t._u = a._u AND t._k = a._k
                    GROUP BY 1, 2),
             hit AS (SELECT a.s, t._u AS u, count(*) AS pairs,
                            count(*) FILTER (WHERE {' AND '.join(f'({c})' for c in checks)}) AS ok
                     FROM tk AS t JOIN ak AS a ON t._u = a._u AND t._k = a._k GROUP BY 1, 2)
        SELECT src.name AS source, tu.shown AS unit, tu.order_id,
               CASE WHEN au.u IS NULL THEN '{MISSING}'
                    WHEN coalesce({unique} AND au.keys = tu.keys AND hit.ok = tu.n, FALSE) THEN '{RIGHT}'
                    WHEN coalesce({unique} AND hit.ok = hit.pairs, FALSE) THEN '{INCOMPLETE}'
                    ELSE '{WRONG}' END AS outcome,
               tu.n AS expected, coalesce(au.n, 0) AS answered, coalesce(hit.ok, 0) AS matched
        FROM tu CROSS JOIN src LEFT JOIN au ON au.s = src.s AND au.u = tu.u
        LEFT JOIN hk ON hk.s = src.s AND hk.u = tu.u LEFT JOIN hit ON hit.s = src.s AND hit.u = tu.u"""


def _observed(column: str, data_type: str) -> str:
    """Whether an observed column holds a value (a positive one where numeric), as a boolean whatever its type."""
    got = f"x.{quote(column)}"
    return f"coalesce({got} IS NOT NULL" + (f" AND {got} > 0" if _is_numeric(data_type) else "") + ", FALSE)"


def units_sql(q: Question, truth: dict[str, str], answer: dict[str, str], *, truth_table: str,
              answer_table: str, truth_prepared: bool = False) -> str:
    """`sources_units_sql` for one answer (its rows' `source` is 'answer')."""
    return sources_units_sql(q, truth, {"answer": answer}, truth_table=truth_table,
                             answer_tables={"answer": answer_table}, truth_prepared=truth_prepared)


def comparison_sql(q: Question, truth: dict[str, str], answer: dict[str, str], *, truth_table: str,
                   answer_table: str) -> str:
    """One row summing up `units_sql`: units, right, missing, and the first not-right unit."""
    units = units_sql(q, truth, answer, truth_table=truth_table, answer_table=answer_table)
    return f"""
        SELECT count(*), count(*) FILTER (WHERE outcome = '{RIGHT}'), count(*) FILTER (WHERE outcome = '{MISSING}'),
               min(unit) FILTER (WHERE outcome <> '{RIGHT}')
        FROM ({units})"""


def parse(row: tuple) -> Comparison:
    total, right, missing, example = row
    return Comparison(int(total), int(right), int(missing), example)
