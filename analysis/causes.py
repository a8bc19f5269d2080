"""Why a source gets a unit not-right: one outcome per judged unit, and one cause from a fixed vocabulary.

The comparison in SQL (compare.py) tells each unit's outcome: right, missing (the answer has nothing for it),
incomplete (every answered row is right, some are missing) or wrong (a value differs, or a row the truth lacks).
A cause is then read from facts the ground truth holds, never guessed:

- a missing or incomplete unit of an order whose run was deleted, in a source the server deletes with the run:
  run deleted before collection;
- any not-right unit of an order the driver deleted but the server still held when the sources were read (deletion
  is asynchronous), in Temporal asked in place (Describe, queries and Visibility answer from what the deletion has
  not reached yet): deletion pending; such a run is scored as present, never as deleted, and its exported history,
  collected whole, gets the causes any present run's would;
- any not-right unit of an order whose payloads a codec encrypted, in a source that stores those payloads:
  payload not recorded;
- a not-right unit of an order whose run completed while its business status is another (canceled, expired), in a
  question about that status, in a spans source: the status exists only in the run's result payload, which spans do
  not record;
- a missing or incomplete unit of an order whose worker was killed, in a source the killed process exports:
  process killed before export;
- otherwise by outcome: missing -> not recorded by this source, incomplete -> answer incomplete, wrong -> answer wrong.

A unit naming one order (the order, or the order at a moment) reads that order's facts. A group of orders (a status,
a day, a customer) holds many, so membership cannot name its cause: such a group gets a fact-based cause only when
the answer equals the truth recomputed without those orders (the answer is exactly what is left after the deletion,
encryption or kill).
"""

from __future__ import annotations

from dataclasses import dataclass

RIGHT, MISSING, INCOMPLETE, WRONG = "right", "missing", "incomplete", "wrong"
OUTCOMES = (RIGHT, MISSING, INCOMPLETE, WRONG)

_HISTORY_SOURCES = ("temporal", "history", "history_traces")
"""Sources read from what the Temporal server stores: deleted with the run, payloads as the codec wrote them."""
_EXPORTED_SOURCES = ("traces", "logs")
"""Sources a worker process hands over itself: what it held when it was killed never arrives."""


@dataclass(frozen=True)
class Cause:
    """One reason a unit is not right.

    Args:
        code: stored in `answerability_units.cause`.
        one: the cause after a count of one ("1 run deleted before collection").
        many: the cause after a larger count.
        meaning: one sentence for the report's method section.
        outcomes: the unit outcomes the cause can explain.
        sources: the sources it applies to (empty: every source).
        orders: which orders it concerns: (table, column, SQL condition) alternatives, each used when the ground
            truth has that table and column; None for causes read from the outcome alone.
        unless: orders it never concerns, though `orders` names them: alternatives of the same shape, each used
            when the ground truth has that table and column (older databases lack some columns).
        questions: the questions it can explain (empty: every question); a cause read from what an order's answer
            holds (its status) says nothing about another question's units of that order.
    """

    code: str
    one: str
    many: str
    meaning: str
    outcomes: tuple[str, ...]
    sources: tuple[str, ...] = ()
    orders: tuple[tuple[str, str, str], ...] | None = None
    unless: tuple[tuple[str, str, str], ...] = ()
    questions: tuple[str, ...] = ()

    def counted(self, count: int) -> str:
        return f"{count} {self.one if count == 1 else self.many}"


RUN_DELETED = Cause(
    "run_deleted", "run deleted before collection", "runs deleted before collection",
    "the run was deleted (or passed retention) before the source was read, and the server deletes its history "
    "with it", (MISSING, INCOMPLETE), _HISTORY_SOURCES,
    (("ground_truth", "deleted", "deleted"),),
    (("ground_truth", "deletion", "deletion = 'pending'"),),
)
DELETION_PENDING = Cause(
    "deletion_pending", "deletion pending", "deletions pending",
    "the run was deleted, but the server still held it when the source was read (deletion is asynchronous): it "
    "counts as present", (MISSING, INCOMPLETE, WRONG), ("temporal",),
    (("ground_truth", "deletion", "deletion = 'pending'"),),
)
PAYLOAD_NOT_RECORDED = Cause(
    "payload_not_recorded", "payload not recorded", "payloads not recorded",
    "the values asked for are payloads the source does not hold readably (encrypted by a codec, or the source "
    "records no payloads)", (MISSING, INCOMPLETE, WRONG), _HISTORY_SOURCES,
    (("ground_truth", "codec", "codec"),),
)
STATUS_IN_PAYLOAD = Cause(
    "status_in_payload", "status only in the result payload", "statuses only in the result payload",
    "the order's run completed, but its business status (canceled, expired) is only in the workflow's result payload, "
    "which spans do not record: they show the run completed", (MISSING, INCOMPLETE, WRONG),
    ("traces", "history_traces"),
    (("ground_truth", "expected_order_status",
      "expected_status = 'completed' AND expected_order_status <> 'completed'"),),
    questions=("order_status", "orders_by_status"),
)
PROCESS_KILLED = Cause(
    "process_killed", "process killed before export", "processes killed before export",
    "a worker was killed mid-step, and what it had not yet exported (an unfinished span, buffered records) never "
    "arrived", (MISSING, INCOMPLETE), _EXPORTED_SOURCES,
    (("ground_truth", "crashed", "crashed"),
     ("ground_truth_crashes", "order_id", "order_id IN (SELECT order_id FROM {main}.ground_truth_crashes)"),
     ("ground_truth_attempts", "outcome",
      "order_id IN (SELECT order_id FROM {main}.ground_truth_attempts WHERE outcome = 'lost')")),
)
NOT_RECORDED = Cause(
    "not_recorded", "not recorded by this source", "not recorded by this source",
    "the source holds nothing the question's query can derive this unit from", (MISSING,),
)
ANSWER_INCOMPLETE = Cause(
    "incomplete", "answer incomplete", "answers incomplete",
    "every row the source answered is right, some rows are missing", (INCOMPLETE,),
)
ANSWER_WRONG = Cause(
    "wrong", "answer wrong", "answers wrong",
    "a value differs from the truth, or the answer has a row the truth lacks", (WRONG,),
)

FACT_CAUSES = (RUN_DELETED, DELETION_PENDING, PAYLOAD_NOT_RECORDED, STATUS_IN_PAYLOAD, PROCESS_KILLED)
"""Causes read from the ground truth, in precedence order (a deleted run explains everything missing from it)."""
OUTCOME_CAUSES = {MISSING: NOT_RECORDED, INCOMPLETE: ANSWER_INCOMPLETE, WRONG: ANSWER_WRONG}
CAUSES = (*FACT_CAUSES, NOT_RECORDED, ANSWER_INCOMPLETE, ANSWER_WRONG)
CAUSE_BY_CODE = {cause.code: cause for cause in CAUSES}


def orders_condition(cause: Cause, main: str, columns: dict[str, set[str]]) -> str | None:
    """SQL condition over `main`.ground_truth naming the orders `cause` concerns, or None if the truth cannot tell.

    Args:
        main: the database's main schema, quoted (`"lens".main`), so the condition never reads a shadowing view.
        columns: ground truth table -> its column names (what this database's ground truth has).
    """
    def present(choices: tuple[tuple[str, str, str], ...]) -> list[str]:
        return [condition.format(main=main) for table, column, condition in choices
                if column in columns.get(table, set())]

    alternatives, exceptions = present(cause.orders or ()), present(cause.unless)
    if not alternatives:
        return None
    condition = " OR ".join(f"({a})" for a in alternatives)
    if exceptions:
        condition = f"({condition}) AND NOT coalesce({' OR '.join(f'({e})' for e in exceptions)}, FALSE)"
    return condition


def applies(cause: Cause, source: str) -> bool:
    return not cause.sources or source in cause.sources


def explains(cause: Cause, question_id: str) -> bool:
    """Whether `cause` can explain a unit of question `question_id`."""
    return not cause.questions or question_id in cause.questions
