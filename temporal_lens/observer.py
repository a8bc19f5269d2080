"""Temporal asked in place, while it matters: Describe and the status query for the open orders on a fixed cadence,
Visibility List and Count once the last order closed and again at the end, each answer stored with when it was seen.

The observer only reads: it never signals, updates or starts anything, so the orders run as they would without it.
Its load stays light: one tick asks at most `orders_per_tick` open orders two calls each (the least recently asked
first), never more than `concurrency` calls at once, and each call is bounded by `rpc_timeout_s` (a query to a
workflow whose worker is down waits for that worker: it is stored as unanswered and the observer goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

OPEN, CLOSED, FINAL = "open", "closed", "final"
"""Phases: while orders run; right after the last order closed; at the end, after the driver's deletions."""
DESCRIBE, QUERY = "describe", "query"
LIST, COUNT = "list", "count"
NOT_FOUND, TIMED_OUT = "not found", "timed out"

SCHEMA = """
CREATE TABLE IF NOT EXISTS temporal_observations (
    observed_at        TIMESTAMPTZ NOT NULL,  -- when the answer arrived
    asked_at           TIMESTAMPTZ NOT NULL,  -- when the call was made
    phase              VARCHAR NOT NULL,      -- 'open', 'closed' or 'final'
    workflow_id        VARCHAR NOT NULL,
    run_id             VARCHAR,               -- the run Describe named (NULL when unanswered before any answer)
    api                VARCHAR NOT NULL,      -- 'describe' or 'query'
    query_name         VARCHAR,               -- a query's name
    answered           BOOLEAN NOT NULL,
    status             VARCHAR,               -- Describe: the execution status (RUNNING, COMPLETED, FAILED, ...)
    answer             JSON,                  -- a query's result
    pending_activities JSON,                  -- Describe: [{activity_id, activity_type, state, attempt,
                                              --   maximum_attempts, last_failure_message, last_failure_type,
                                              --   last_heartbeat_time, last_started_time, scheduled_time}]
    pending_children   JSON,                  -- Describe: [{workflow_id, run_id, workflow_type}]
    search_attributes  JSON,                  -- Describe: the run's custom search attributes
    start_time         TIMESTAMPTZ,
    close_time         TIMESTAMPTZ,
    history_length     BIGINT,
    error              VARCHAR                -- why unanswered: 'not found', 'timed out', or the server's message
);
CREATE TABLE IF NOT EXISTS observed_instants (
    workflow_id VARCHAR NOT NULL,
    moment      TIMESTAMPTZ NOT NULL,         -- a moment the run was open and asked about: a Describe's sending,
                                              -- a query answer's arrival
    api         VARCHAR NOT NULL              -- whose answer: 'describe' or 'query' (each question asks at its own)
);
CREATE TABLE IF NOT EXISTS temporal_visibility (
    observed_at TIMESTAMPTZ NOT NULL,
    phase       VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,             -- what the operator asks, e.g. 'closed_last_hour'
    query       VARCHAR NOT NULL,             -- the list filter as sent
    kind        VARCHAR NOT NULL,             -- 'list' or 'count'
    result      JSON,                         -- list: [{workflow_id, run_id, status, start_time, close_time,
                                              --   search_attributes}]; count: {count, groups}
    error       VARCHAR
);
"""
"""The observer's two tables: what each API call answered, and when."""

ORDER_STATUSES = ("received", "stock_reserved", "awaiting_payment", "payment_authorized", "shipped", "completed",
                  "payment_declined", "out_of_stock", "canceled", "expired")
"""The orders' business statuses (the values of their OrderStatus search attribute): an operator's vocabulary."""


@dataclass(frozen=True)
class ObserverSettings:
    """How often and how hard the observer asks.

    Args:
        cadence_s: seconds between two ticks over the open orders (0: the observer is off).
        rpc_timeout_s: the bound of each call; a query no worker answers in time is stored as unanswered.
        concurrency: calls in flight at once.
        orders_per_tick: open orders asked about in one tick at most, those asked longest ago first: with more
            open (a crash window's), each is asked every few ticks. The default is the driver's default number in
            flight on 2 cores, so each open order is asked every tick: asked every other tick (a bound of 8), Describe
            missed a retried payment's attempt 2 in the default study, and Temporal in place lost a right answer.
    """

    cadence_s: float = 1.0
    rpc_timeout_s: float = 5.0
    concurrency: int = 4
    orders_per_tick: int = 16

    def __post_init__(self) -> None:
        if self.cadence_s < 0 or self.rpc_timeout_s <= 0 or self.concurrency < 1 or self.orders_per_tick < 1:
            raise ValueError(f"observer settings out of range: {self}")

    @property
    def enabled(self) -> bool:
        return self.cadence_s > 0


@dataclass(frozen=True)
class VisibilityQuestion:
    name: str
    kind: str
    query: str


def visibility_questions(workflow_type: str, since: datetime) -> list[VisibilityQuestion]:
    """The Visibility questions an operator asks of the orders started since `since` (a shared namespace holds other
    runs): orders closed in the last hour, each business status counted, what is still open and waiting."""
    scope = f'WorkflowType = "{workflow_type}" AND StartTime >= "{_iso(since)}"'
    questions = [
        VisibilityQuestion("closed_last_hour", LIST, f'{scope} AND CloseTime >= "{{last_hour}}"'),
        VisibilityQuestion("by_execution_status", COUNT, f"{scope} GROUP BY ExecutionStatus"),
        VisibilityQuestion("waiting_for_payment", COUNT,
                           f'{scope} AND ExecutionStatus = "Running" AND OrderStatus = "awaiting_payment"'),
    ]
    questions += [VisibilityQuestion(f"status:{status}", COUNT, f'{scope} AND OrderStatus = "{status}"')
                  for status in ORDER_STATUSES]
    return questions


class Observer:
    """Asks Temporal about the planned workflows and keeps every answer with its time.

    Args:
        workflow_ids: the orders' workflow ids, planned before any starts (one not started yet is not asked about).
        query_name: the open orders' status query.
        finals: (workflow id, query name) pairs asked once at the end (the loyalty accounts' points).
        workflow_type: the orders' type, for the Visibility questions.
        told_of_starts: a planned workflow is asked about only once `started` named it (the driver tells): with
            a thousand orders planned and a few dozen in flight, asking about the rest every tick would be most of
            the server's work. False: every planned one is asked about from the first tick.
    """

    def __init__(self, workflow_ids: Sequence[str], *, query_name: str, workflow_type: str,
                 settings: ObserverSettings | None = None, finals: Sequence[tuple[str, str]] = (),
                 told_of_starts: bool = False) -> None:
        self.client: Client | None = None
        self.query_name, self.workflow_type = query_name, workflow_type
        self.settings = settings or ObserverSettings()
        self.planned = list(dict.fromkeys(workflow_ids))
        self.finals = list(finals)
        self.since = datetime.now(UTC) - timedelta(minutes=1)  # slack for a server clock behind ours
        self.observations: list[dict[str, Any]] = []
        self.visibility: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._instants: list[dict[str, Any]] = []
        self._described_at: dict[str, datetime] = {}
        self._gone: set[str] = set()
        self._done: set[str] = set()
        self._started: set[str] | None = set() if told_of_starts else None
        self._last_tick: dict[str, int] = {}
        self._slots = asyncio.Semaphore(self.settings.concurrency)

    # ---- while orders are open ---------------------------------------------------------------------------------

    def started(self, workflow_id: str) -> None:
        """The driver started `workflow_id`: from the next tick on, it is asked about (with `told_of_starts`)."""
        if self._started is not None:
            self._started.add(workflow_id)

    async def watch(self, client: Client) -> None:
        """Tick until every planned order was seen closed (or gone after being seen), then ask Visibility.

        `client`'s data converter must read the workflows' payloads (the driver's codec)."""
        self.client = client
        loop = asyncio.get_running_loop()
        ticks = 0
        while len(self._done) < len(self.planned):
            tick, ticks = loop.time(), ticks + 1
            pending = [w for w in self.planned
                       if w not in self._done and (self._started is None or w in self._started)]
            pending.sort(key=lambda w: self._last_tick.get(w, 0))  # stable: never asked first, then in plan order
            asking = pending[:self.settings.orders_per_tick]
            self._last_tick.update(dict.fromkeys(asking, ticks))
            await asyncio.gather(*(self._observe(w) for w in asking))
            await asyncio.sleep(max(0.0, self.settings.cadence_s - (loop.time() - tick)))
        await self.ask_visibility(CLOSED)

    async def _observe(self, workflow_id: str) -> None:
        description = await self.describe(workflow_id, OPEN, record_missing=workflow_id in self._seen)
        if description is None:
            if workflow_id in self._seen and workflow_id in self._gone:
                self._done.add(workflow_id)  # seen, then gone: deleted (a Describe that timed out is asked again)
            return
        self._seen.add(workflow_id)
        # Closed or open, the status query says what the workflow reports; a closed one is asked once more, then
        # left alone.
        asked = await self.query(workflow_id, self.query_name, OPEN, run_id=description.run_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            self._done.add(workflow_id)
            return
        # The moments the open-state questions are asked of every source. Describe is answered by the server from
        # the run's state as the request arrives: its moment is when it was sent. A query waits for a worker to take
        # it up, then returns at once: its moment is when the answer arrived (under load the wait reached seconds).
        self._instants += [{"workflow_id": workflow_id, "moment": self._described_at[workflow_id], "api": DESCRIBE},
                           {"workflow_id": workflow_id, "moment": asked["observed_at"], "api": QUERY}]

    async def describe(self, workflow_id: str, phase: str, *,
                       record_missing: bool = True) -> WorkflowExecutionDescription | None:
        assert self.client is not None, "watch() or finish() binds the client"
        handle = self.client.get_workflow_handle(workflow_id)
        async with self._slots:
            asked_at = datetime.now(UTC)
            try:
                description = await asyncio.wait_for(handle.describe(rpc_timeout=self._timeout()),
                                                      self.settings.rpc_timeout_s + 1)
            except (RPCError, TimeoutError) as err:
                error = _unanswered(err)
                if error == NOT_FOUND:
                    self._gone.add(workflow_id)
                if error != NOT_FOUND or record_missing:
                    self.observations.append(self._row(asked_at, phase, workflow_id, DESCRIBE, error=error))
                return None
        info = description.raw_description
        row = self._row(
            asked_at, phase, workflow_id, DESCRIBE, run_id=description.run_id, answered=True,
            status=description.status.name if description.status else None,
            pending_activities=[_pending_activity(p) for p in info.pending_activities],
            pending_children=[{"workflow_id": c.workflow_id, "run_id": c.run_id,
                               "workflow_type": c.workflow_type_name} for c in info.pending_children],
            search_attributes={key.name: value for key, value in description.typed_search_attributes},
            start_time=description.start_time, close_time=description.close_time,
            history_length=description.history_length,
        )
        self.observations.append(row)
        self._described_at[workflow_id] = asked_at
        self._gone.discard(workflow_id)
        return description

    async def query(self, workflow_id: str, query_name: str, phase: str, *,
                    run_id: str | None = None) -> dict[str, Any]:
        """Ask the query and store its answer (or why there is none); returns the stored row."""
        assert self.client is not None, "watch() or finish() binds the client"
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        row: dict[str, Any]
        async with self._slots:
            asked_at = datetime.now(UTC)
            try:
                answer = await asyncio.wait_for(handle.query(query_name, rpc_timeout=self._timeout()),
                                                self.settings.rpc_timeout_s + 1)
            except (RPCError, TimeoutError) as err:
                row = self._row(asked_at, phase, workflow_id, QUERY, run_id=run_id, query_name=query_name,
                                error=_unanswered(err))
            except Exception as err:  # a query the workflow rejects: an answer of its own, not the observer's fault
                row = self._row(asked_at, phase, workflow_id, QUERY, run_id=run_id, query_name=query_name,
                                error=_one_line(err))
            else:
                row = self._row(asked_at, phase, workflow_id, QUERY, run_id=run_id, query_name=query_name,
                                answered=True, answer=answer)
        self.observations.append(row)
        return row

    # ---- after the orders closed ---------------------------------------------------------------------------------

    async def finish(self, client: Client) -> None:
        """The end: every planned order described once more (a deleted one is 'not found'), the final queries, and
        the Visibility questions again."""
        self.client = client
        seen = [w for w in self.planned if w in self._seen]
        described = await asyncio.gather(*(self.describe(w, FINAL) for w in seen))
        # A run that is gone answers a query 'not found' too: asked, so the unanswered query is on record.
        await asyncio.gather(*(self.query(w, self.query_name, FINAL) for w, d in zip(seen, described, strict=True)
                               if d is None))
        await asyncio.gather(*(self.query(w, name, FINAL) for w, name in self.finals))
        await self.ask_visibility(FINAL)

    async def ask_visibility(self, phase: str) -> None:
        assert self.client is not None, "watch() or finish() binds the client"
        now = datetime.now(UTC)
        for question in visibility_questions(self.workflow_type, self.since):
            query = question.query.replace("{last_hour}", _iso(now - timedelta(hours=1)))
            row: dict[str, Any] = {"phase": phase, "name": question.name, "query": query, "kind": question.kind,
                                   "result": None, "error": None}
            try:
                async with self._slots:
                    if question.kind == LIST:
                        result: Any = [_listed(w) async for w in self.client.list_workflows(
                            query, rpc_timeout=self._timeout())]
                    else:
                        counted = await self.client.count_workflows(query, rpc_timeout=self._timeout())
                        result = {"count": counted.count,
                                  "groups": [{"values": list(g.group_values), "count": g.count}
                                             for g in counted.groups]}
                row["result"] = json.dumps(result, default=str)
            except RPCError as err:
                row["error"] = _unanswered(err)
            row["observed_at"] = datetime.now(UTC)
            self.visibility.append(row)

    # ---- storing ---------------------------------------------------------------------------------------------------

    async def observe(self, client: Client, driven: asyncio.Task) -> None:
        """Watch while `driven` (the driver) runs; once it is done, let the watch see the last closes (bounded), then
        finish. A watch still waiting then (an order never started) is stopped with what it has."""
        watching = asyncio.create_task(self.watch(client))
        await asyncio.wait({watching, driven}, return_when=asyncio.FIRST_COMPLETED)
        if not driven.done():
            await asyncio.wait({driven})
        if driven.cancelled() or driven.exception() is not None:
            watching.cancel()
            return
        grace = 3 * self.settings.cadence_s + 2 * self.settings.rpc_timeout_s + 5
        with contextlib.suppress(TimeoutError):  # wait_for cancelled the watch: what it saw stays
            await asyncio.wait_for(watching, grace)
        await self.finish(client)

    def instants(self) -> pa.Table:
        """The moments each run was asked about while Describe said it was running (each its status query's
        arrival): when the open-state questions are asked of every source (the question's schedule, not an
        answer)."""
        return pa.Table.from_pylist(self._instants, schema=_INSTANTS)

    def tables(self) -> dict[str, pa.Table]:
        return {"observed_instants": self.instants(),
                "temporal_observations": pa.Table.from_pylist(self.observations, schema=_OBSERVATIONS),
                "temporal_visibility": pa.Table.from_pylist(self.visibility, schema=_VISIBILITY)}

    def _timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.rpc_timeout_s)

    @staticmethod
    def _row(asked_at: datetime, phase: str, workflow_id: str, api: str, *, run_id: str | None = None,
             query_name: str | None = None, answered: bool = False, error: str | None = None,
             answer: Any = None, pending_activities: list | None = None, pending_children: list | None = None,
             search_attributes: dict | None = None, **rest: Any) -> dict[str, Any]:
        return {"observed_at": datetime.now(UTC), "asked_at": asked_at, "phase": phase, "workflow_id": workflow_id,
                "run_id": run_id, "api": api, "query_name": query_name, "answered": answered, "error": error,
                "answer": None if not answered or api != QUERY else json.dumps(answer, default=str),
                "pending_activities": None if pending_activities is None else json.dumps(pending_activities),
                "pending_children": None if pending_children is None else json.dumps(pending_children),
                "search_attributes": None if search_attributes is None else json.dumps(search_attributes,
                                                                                       default=str),
                **rest}


_TS = pa.timestamp("us", tz="UTC")
_OBSERVATIONS = pa.schema([
    ("observed_at", _TS), ("asked_at", _TS), ("phase", pa.string()), ("workflow_id", pa.string()),
    ("run_id", pa.string()), ("api", pa.string()), ("query_name", pa.string()), ("answered", pa.bool_()),
    ("status", pa.string()), ("answer", pa.string()), ("pending_activities", pa.string()),
    ("pending_children", pa.string()), ("search_attributes", pa.string()), ("start_time", _TS),
    ("close_time", _TS), ("history_length", pa.int64()), ("error", pa.string()),
])
_INSTANTS = pa.schema([("workflow_id", pa.string()), ("moment", _TS), ("api", pa.string())])
_VISIBILITY = pa.schema([("observed_at", _TS), ("phase", pa.string()), ("name", pa.string()), ("query", pa.string()),
                         ("kind", pa.string()), ("result", pa.string()), ("error", pa.string())])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(stamp: Timestamp) -> str | None:
    return stamp.ToDatetime(tzinfo=UTC).isoformat() if stamp.seconds or stamp.nanos else None


def _failure_type(failure: Failure) -> str | None:
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or None
    if failure.HasField("timeout_failure_info"):
        return "Timeout"
    return None


def _pending_activity(p: Any) -> dict[str, Any]:
    failed = p.HasField("last_failure")
    return {"activity_id": p.activity_id, "activity_type": p.activity_type.name,
            "state": PendingActivityState.Name(p.state).removeprefix("PENDING_ACTIVITY_STATE_"),
            "attempt": p.attempt, "maximum_attempts": p.maximum_attempts,
            "last_failure_message": p.last_failure.message if failed else None,
            "last_failure_type": _failure_type(p.last_failure) if failed else None,
            "last_heartbeat_time": _time(p.last_heartbeat_time), "last_started_time": _time(p.last_started_time),
            "scheduled_time": _time(p.scheduled_time)}


def _listed(execution: Any) -> dict[str, Any]:
    return {"workflow_id": execution.id, "run_id": execution.run_id,
            "status": execution.status.name if execution.status else None,
            "start_time": execution.start_time.isoformat() if execution.start_time else None,
            "close_time": execution.close_time.isoformat() if execution.close_time else None,
            "search_attributes": {key.name: value for key, value in execution.typed_search_attributes}}


def _unanswered(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return TIMED_OUT
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND:
            return NOT_FOUND
        # The client's own deadline surfaces as DEADLINE_EXCEEDED or, from the SDK's core, "Timeout expired".
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED or "timeout expired" in str(err).lower():
            return TIMED_OUT
    return _one_line(err)


def _one_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
