"""The question catalogue: each operator question, the SQL that asks it of every source, and how to check it.

Adding a question: a folder `questions/<id>/` with `truth.sql` (what the ground truth says), one `<source>.sql`
per source that can ask it (each file's first line a comment saying what it asks), and an entry below with a
one-line reason for every source left without SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

SOURCES = ("history", "traces", "logs", "app_db", "history_traces")
SOURCE_TITLES = {"history": "history", "traces": "traces", "logs": "logs", "app_db": "app db",
                 "history_traces": "history→traces"}
SOURCE_ROWS = {
    "history": "SELECT count(*) FROM history_events",
    "traces": "SELECT count(*) FROM spans WHERE source <> 'history'",
    "logs": "SELECT count(*) FROM logs",
    "app_db": "SELECT count(*) FROM app_orders",
    "history_traces": "SELECT count(*) FROM spans WHERE source = 'history'",
}
"""How many rows each source holds: a source with none scores `cannot` ('no data collected')."""

# How a source's answer is compared with the ground truth.
PER_ORDER_EXACT = "per_order_exact"
"""Per order, the answer's rows equal the truth's rows."""
PER_ORDER_TIMING = "per_order_timing"
"""Per order, the same keys, and each timed column within tolerance of the truth's floor."""
PER_ORDER_MEASURE = "per_order_measure"
"""Per order, a measurement (bytes, counts) the source can take at all: every observed column present, > 0."""
AGGREGATE = "aggregate"
"""Per group (the question's `unit` columns) across orders: exact, or timed when the question has `timed`."""
KINDS = (PER_ORDER_EXACT, PER_ORDER_TIMING, PER_ORDER_MEASURE, AGGREGATE)

# Categories the premise's claims are judged by.
STATE, FAILURES, TIMING, ACROSS, TOPOLOGY, CUSTOMER_DATA, FAULTS, COST = (
    "state", "failures", "timing", "across orders", "topology", "customer data", "fault tolerance", "cost"
)

_NO_SPAN_SERVICES = "history-derived spans name no service (only 'temporal-history'): nothing says which process ran"
_NO_PAYLOADS_IN_SPANS = "spans carry ids, timings and outcomes, not payloads (payload recording is opt-in and off)"
_APP_DB_ONE_ROW = "the orders table keeps one row per order (status, amount, address, two timestamps), no steps"


@dataclass(frozen=True)
class Question:
    """One operator question.

    Args:
        id: folder name under `questions/`; holds `truth.sql` and one `<source>.sql` per source that can ask it,
            and optionally `params.sql` (one row of named values bound into every query, e.g. a period).
        text: the question as an operator would ask it.
        category: what kind of question it is (the claims are judged per category).
        kind: how answers are compared with the truth (one of KINDS).
        unit: the columns identifying one scored unit: an order, or a group for aggregate questions.
        key: the columns that identify one answer row within a unit; for exact kinds all columns are compared.
        timed: (answer column, truth column) pairs compared within `tolerance_ms`: the answer must lie within
            [truth - tolerance_ms[0], truth + tolerance_ms[1]] (the truth is a floor: the work the driver injected).
        observed: answer columns that must be present (and positive where numeric) for a unit to count.
        counts_of: (question id, column): for a source without its own SQL file, count that question's answer
            rows per value of the column (orders per status from each order's status), so one derivation serves
            both questions.
        cannot: why a source without SQL cannot answer.
    """

    id: str
    text: str
    category: str
    kind: str = PER_ORDER_EXACT
    unit: tuple[str, ...] = ("order_id",)
    key: tuple[str, ...] = ()
    timed: tuple[tuple[str, str], ...] = ()
    tolerance_ms: tuple[float, float] = (15.0, 1500.0)
    observed: tuple[str, ...] = ()
    counts_of: tuple[str, str] | None = None
    cannot: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"question {self.id}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def unit_noun(self) -> str:
        return "orders" if self.unit == ("order_id",) else " and ".join(self.unit) + " groups"

    def folder(self) -> Traversable:
        return files(__package__).joinpath("questions", self.id)

    def sql(self, source: str) -> str | None:
        """The SQL asking this question of `source`, or None where the source cannot express it."""
        path = self.folder().joinpath(f"{source}.sql")
        if path.is_file():
            return path.read_text(encoding="utf-8")
        if self.counts_of is None:
            return None
        base_id, column = self.counts_of
        base = question(base_id).sql(source)
        if base is None:
            return None
        return (f"-- {self.text} The answers of {base_id} for this source, counted per {column}.\n"
                f"SELECT {column}, count(*) AS orders FROM (\n{base.strip().rstrip(';')}\n) GROUP BY 1;\n")

    def truth_sql(self) -> str:
        return self.folder().joinpath("truth.sql").read_text(encoding="utf-8")

    def params_sql(self) -> str | None:
        path = self.folder().joinpath("params.sql")
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def cannot_reason(self, source: str) -> str:
        return self.cannot.get(source, "no query: the source does not record what this question needs")


CATALOGUE: tuple[Question, ...] = (
    # ---- state of one order ----------------------------------------------------------------------------------
    Question(
        id="order_status",
        text="Did order X complete, and with what final status?",
        category=STATE,
    ),
    Question(
        id="signals_updates",
        text="Which signals and updates did order X receive, and was each accepted?",
        category=STATE,
        key=("kind", "name"),
        cannot={"app_db": "the orders table keeps the resulting status and address, not the messages that changed "
                          "them"},
    ),
    Question(
        id="timers",
        text="Which durable timers did order X start, and did each fire or get canceled?",
        category=STATE,
        cannot={"logs": "no record is written when a timer starts, fires or is canceled",
                "app_db": "the orders table shows 'expired' or 'canceled', not the timer behind it"},
    ),
    Question(
        id="loyalty_points",
        text="How many loyalty points does customer C hold, across every continue-as-new run?",
        category=STATE,
        kind=AGGREGATE,
        unit=("customer",),
        cannot={
            "traces": _NO_PAYLOADS_IN_SPANS + ": the points a signal adds are not on its span",
            "logs": "'signal received' records name the signal, not the points it carried",
            "app_db": "the orders service keeps no loyalty balance",
            "history_traces": "history-derived spans keep signal names as events, not their payloads",
        },
    ),
    # ---- failures and retries --------------------------------------------------------------------------------
    Question(
        id="failed_step",
        text="For a failed order X: which step failed for good, and with what error?",
        category=FAILURES,
        cannot={"app_db": "the status names the business outcome (payment_declined), not the failing step or error"},
    ),
    Question(
        id="payment_attempts",
        text="How many attempts did payment authorization take for order X, and what failed on each?",
        category=FAILURES,
        key=("attempt",),
        cannot={"app_db": "the orders table keeps the order's status, not the attempts of its steps",
                "history_traces": "history keeps only the last attempt: earlier ones become a 'retry' event "
                                  "without their attempt number"},
    ),
    Question(
        id="retried_steps",
        text="Which steps of order X were retried, and how did each attempt end (failed, timed out, completed)?",
        category=FAILURES,
        key=("step", "attempt"),
        cannot={"app_db": _APP_DB_ONE_ROW,
                "history_traces": "history keeps only the last attempt of a step; earlier attempts appear as a "
                                  "'retry' event carrying one failure"},
    ),
    Question(
        id="compensated_orders",
        text="Which orders were compensated, and by which steps in what order?",
        category=FAILURES,
        cannot={"app_db": "the status says the order failed or stopped, not which compensations ran"},
    ),
    # ---- timing ----------------------------------------------------------------------------------------------
    Question(
        id="step_durations",
        text="How long did each completed step of order X take?",
        category=TIMING,
        kind=PER_ORDER_TIMING,
        key=("step",),
        timed=(("duration_ms", "work_ms"),),
        cannot={"app_db": "the orders table keeps one updated_at per order, not the start and end of each step"},
    ),
    Question(
        id="queue_wait",
        text="Per activity type: p50/p95 execution time, and is the time spent waiting in the task queue visible?",
        category=TIMING,
        kind=AGGREGATE,
        unit=("step",),
        timed=(("exec_p50_ms", "work_p50_ms"), ("exec_p95_ms", "work_p95_ms")),
        observed=("queue_p50_ms", "queue_p95_ms"),
        cannot={"app_db": _APP_DB_ONE_ROW},
    ),
    Question(
        id="order_latency",
        text="How long did order X take end to end?",
        category=TIMING,
        kind=PER_ORDER_TIMING,
        timed=(("latency_ms", "floor_ms"),),
        # the floor is the work the driver injected; waits (timeouts, backoff, signals, timers) come on top
        tolerance_ms=(15.0, 30_000.0),
    ),
    # ---- across orders ---------------------------------------------------------------------------------------
    Question(
        id="closed_in_period",
        text="Which orders closed in the hour after the first order started ('orders closed last hour')?",
        category=ACROSS,
    ),
    Question(
        id="orders_by_status",
        text="How many orders ended in each status?",
        category=ACROSS,
        kind=AGGREGATE,
        unit=("status",),
        counts_of=("order_status", "status"),
    ),
    Question(
        id="revenue_by_day",
        text="What revenue did completed orders bring per day and customer?",
        category=ACROSS,
        kind=AGGREGATE,
        unit=("day", "customer"),
        cannot={"traces": _NO_PAYLOADS_IN_SPANS + ": no amount to add up",
                "logs": "payment records carry the amount but no record names the order's customer",
                "history_traces": "history-derived spans keep no payloads: no amount to add up"},
    ),
    # ---- topology --------------------------------------------------------------------------------------------
    Question(
        id="step_services",
        text="Which service ran each step of order X?",
        category=TOPOLOGY,
        key=("step",),
        cannot={"app_db": _APP_DB_ONE_ROW, "history_traces": _NO_SPAN_SERVICES},
    ),
    Question(
        id="causal_path",
        text="Which service called which for order X (caller → callee per step)?",
        category=TOPOLOGY,
        key=("caller", "callee", "step"),
        cannot={"logs": "a log record carries its own span id, not its caller's: who called whom is not recorded",
                "app_db": _APP_DB_ONE_ROW, "history_traces": _NO_SPAN_SERVICES},
    ),
    # ---- customer data ---------------------------------------------------------------------------------------
    Question(
        id="customer_address",
        text="What is order X's shipping address (after any accepted change)?",
        category=CUSTOMER_DATA,
        cannot={"traces": _NO_PAYLOADS_IN_SPANS,
                "history_traces": "history-derived spans keep no payloads"},
    ),
    Question(
        id="card_number",
        text="Which card number did order X's customer pay with?",
        category=CUSTOMER_DATA,
        cannot={"traces": _NO_PAYLOADS_IN_SPANS,
                "logs": "the payments service logs a masked card (****1234), never the number",
                "app_db": "the orders table has no card column (card data stays with the payment provider)",
                "history_traces": "history-derived spans keep no payloads"},
    ),
    # ---- fault tolerance -------------------------------------------------------------------------------------
    Question(
        id="crash_recovery",
        text="Order X's worker was killed mid-step: which attempts were lost, and did one complete after restart?",
        category=FAULTS,
        key=("step", "attempt"),
        cannot={"app_db": "the orders table shows only the final status: a crash and its recovery leave no row",
                "history_traces": "history keeps only the last attempt; the lost one becomes a 'retry' event"},
    ),
    # ---- cost ------------------------------------------------------------------------------------------------
    Question(
        id="storage_bytes",
        text="How many bytes does the source keep for order X (every column's value as text, a timestamp as 8 bytes)?",
        category=COST,
        kind=PER_ORDER_MEASURE,
        observed=("bytes",),
    ),
)


def question(question_id: str) -> Question:
    for q in CATALOGUE:
        if q.id == question_id:
            return q
    known = ", ".join(q.id for q in CATALOGUE)
    raise KeyError(f"unknown question {question_id!r}; known: {known}")
