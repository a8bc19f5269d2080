"""Live collection: every run a Temporal server lists, its history fetched and written while the next are fetched.

Incremental by the `workflows` table: a run stored there as closed is not fetched again (its history cannot change).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.history_model import CLOSED_STATUSES
from temporal_lens.collectors.history_writer import CollectResult, HistoryRun, write_runs

# Yielded by `_fetch_histories` in place of a history for a run it was told not to fetch.
_SKIPPED: Any = object()
# Runs asked of Visibility at once. The listing is asked for the next page while this one's histories are fetched;
# a smaller first page lets fetching start sooner (a 1,000-run page took the dev server seconds under load).
LIST_PAGE_SIZE = 250

@dataclass(frozen=True)
class CollectProgress:
    """Handed to a `collect_histories` progress callback after each listed run is dealt with.

    `total` is the server's count for the query when it gave one (the listing may still grow or shrink).
    """

    listed: int
    total: int | None
    fetched: int
    skipped: int
    missing: int
    events: int


async def collect_histories(
    client: Client,
    writer: BatchWriter,
    *,
    query: str | None = None,
    concurrency: int = 8,
    runs_per_batch: int = 50,
    full: bool = False,
    progress: Callable[[CollectProgress], None] | None = None,
) -> CollectResult:
    """Collect every run `client.list_workflows(query)` returns (open and closed) into the database.

    Incremental: a run the `workflows` table already holds as closed is skipped (its history cannot change); new
    runs and runs that were still open last time are fetched. Histories are fetched with at most `concurrency`
    requests in flight; every `runs_per_batch` runs are written in one transaction (their `history_events` and
    `workflows` rows together), replacing those runs' earlier rows, so an interrupted run is fetched again.

    Args:
        full: fetch every listed run, closed and stored or not.
        progress: called (on the event loop) after each listed run is fetched, skipped or found gone.
    """
    if concurrency < 1 or runs_per_batch < 1:
        raise ValueError("concurrency and runs_per_batch must be at least 1")
    namespace = client.namespace
    stored_closed = {} if full else await asyncio.to_thread(_stored_closed_runs, writer, namespace)
    total = await _count(client, query) if progress else None
    batches = _BatchPipeline(writer, namespace, runs_per_batch)
    listed = skipped = missing = skipped_events = 0

    def report() -> None:
        if progress is not None:
            progress(
                CollectProgress(listed, total, batches.runs, skipped, missing, batches.events + skipped_events)
            )

    def known(execution: WorkflowExecution) -> bool:
        return (execution.id, execution.run_id) in stored_closed

    try:
        async with aclosing(_fetch_histories(client, query, concurrency, known)) as results:
            async for execution, history in results:
                listed += 1
                if history is _SKIPPED:
                    skipped += 1
                    skipped_events += stored_closed[(execution.id, execution.run_id)]
                elif history is None or not history.events:
                    missing += 1
                else:
                    await batches.add(HistoryRun(execution.id, execution.run_id, history, execution))
                report()
        if await batches.finish():
            report()
    finally:
        await batches.settle()
    return CollectResult(
        runs=batches.runs + skipped,
        events=batches.events + skipped_events,
        missing=missing,
        fetched=batches.runs,
        skipped=skipped,
    )


class _BatchPipeline:
    """Gathers fetched runs into batches and writes each batch on a thread while the next is fetched.

    At most one write is in flight: `add` waits for the previous write before starting the next. `runs` and
    `events` count what has been written.
    """

    def __init__(self, writer: BatchWriter, namespace: str, runs_per_batch: int) -> None:
        self._writer = writer
        self._namespace = namespace
        self._runs_per_batch = runs_per_batch
        self._pending: list[HistoryRun] = []
        self._writing: asyncio.Future[int] | None = None
        self._writing_runs = 0
        self.runs = 0
        self.events = 0

    async def add(self, run: HistoryRun) -> None:
        self._pending.append(run)
        if len(self._pending) >= self._runs_per_batch:
            await self._written()
            batch, self._pending = self._pending, []
            self._writing = asyncio.ensure_future(asyncio.to_thread(write_runs, self._writer, self._namespace, batch))
            self._writing_runs = len(batch)

    async def finish(self) -> bool:
        """Wait for the write in flight, then write the runs left; True if there were runs left."""
        await self._written()
        if not self._pending:
            return False
        batch, self._pending = self._pending, []
        self.events += await asyncio.to_thread(write_runs, self._writer, self._namespace, batch)
        self.runs += len(batch)
        return True

    async def settle(self) -> None:
        """After a failure or cancellation: let the write in flight finish before the caller goes on."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _written(self) -> None:
        if self._writing is not None:
            task, self._writing = self._writing, None
            self.events += await task
            self.runs += self._writing_runs


def _stored_closed_runs(writer: BatchWriter, namespace: str) -> dict[tuple[str, str], int]:
    cursor = writer.connection.cursor()
    try:
        rows = cursor.execute(
            "SELECT workflow_id, run_id, coalesce(history_length, 0) FROM workflows"
            " WHERE namespace = ? AND list_contains(?, status)",
            [namespace, sorted(CLOSED_STATUSES)],
        ).fetchall()
    finally:
        cursor.close()
    return {(workflow_id, run_id): length for workflow_id, run_id, length in rows}


async def _count(client: Client, query: str | None) -> int | None:
    try:
        return (await client.count_workflows(query)).count
    except RPCError:  # the bar then shows progress without a total
        return None


async def _fetch_histories(
    client: Client, query: str | None, concurrency: int, skip: Callable[[WorkflowExecution], bool]
) -> AsyncIterator[tuple[WorkflowExecution, WorkflowHistory | None]]:
    """Yield (run, history) as fetches finish; history is None for a run deleted since it was listed, `_SKIPPED`
    for a run `skip` says not to fetch."""
    semaphore = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task[tuple[WorkflowExecution, WorkflowHistory | None]]] = set()

    async def fetch(execution: WorkflowExecution) -> tuple[WorkflowExecution, WorkflowHistory | None]:
        try:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            return execution, await handle.fetch_history()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return execution, None
            raise
        finally:
            semaphore.release()

    try:
        async with aclosing(_listed(client, query)) as listed:
            async for execution in listed:
                if skip(execution):
                    yield execution, _SKIPPED
                    continue
                await semaphore.acquire()
                in_flight.add(asyncio.create_task(fetch(execution)))
                for task in [task for task in in_flight if task.done()]:
                    in_flight.discard(task)
                    yield task.result()
        while in_flight:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


async def _listed(client: Client, query: str | None) -> AsyncIterator[WorkflowExecution]:
    """Every run `client.list_workflows(query)` gives, the next page asked for while this one is being used."""
    pages = client.list_workflows(query, page_size=LIST_PAGE_SIZE)
    await pages.fetch_next_page()
    following: asyncio.Task[None] | None = None
    try:
        while True:
            page = pages.current_page or []
            following = asyncio.ensure_future(pages.fetch_next_page()) if pages.next_page_token else None
            for execution in page:
                yield execution
            if following is None:
                return
            await following
    finally:  # closed early (an error, Ctrl-C): the page asked for ahead is not left running or unread
        if following is not None:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
