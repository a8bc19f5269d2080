"""Writing flattened runs: each run's `history_events` and `workflows` rows replaced together, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from temporalio.client import WorkflowExecution, WorkflowHistory

from temporal_lens.collectors.db import BatchWriter, Part
from temporal_lens.collectors.history_model import flatten_histories, flatten_history, workflow_row
from temporal_lens.collectors.tables import WORKFLOWS

# A semi-join, not a chain of ORs: DuckDB plans that as a hash join, whatever the number of runs.
_RUN_KEYS_IN = "(workflow_id, run_id) IN (SELECT unnest(?::VARCHAR[]) AS w, unnest(?::VARCHAR[]) AS r)"


@dataclass(frozen=True)
class CollectResult:
    """What a collection covers: runs and events now in the database, runs listed but gone before being read.

    `fetched` and `skipped` say how the work split: histories read this time, and closed runs already stored by an
    earlier collection and left alone. They do not take part in equality: two collections that leave the same
    rows are equal however much each had to fetch. `warnings` name events stored without being fully understood
    (an event type newer than this library), `errors` the files that could not be loaded at all.
    """

    runs: int = 0
    events: int = 0
    missing: int = 0
    fetched: int = field(default=0, compare=False)
    skipped: int = field(default=0, compare=False)
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryRun:
    """One run's history to write, with what the reader learnt about it."""

    workflow_id: str
    run_id: str
    history: WorkflowHistory
    execution: WorkflowExecution | None = None  # its visibility record, when it was listed
    unknown_events: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # see history_files
    path: Path | None = None  # the file it was read from


def run_keys_condition(keys: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
    """A condition (with its parameters) matching rows of the given (workflow_id, run_id) pairs."""
    return _RUN_KEYS_IN, [[workflow_id for workflow_id, _ in keys], [run_id for _, run_id in keys]]


def write_runs(
    writer: BatchWriter,
    namespace: str,
    runs: Sequence[HistoryRun],
    flat_events: Sequence[pa.Table] = (),
    flat_workflows: Sequence[Mapping[str, Any]] = (),
) -> int:
    """Write `runs` (flattened here) and already flattened runs (`flat_events`, `flat_workflows`) in one
    transaction, replacing those runs' earlier rows."""
    # A run listed twice (it moved in visibility while being listed) is written once, its last copy.
    runs = list({(run.workflow_id, run.run_id): run for run in runs}.values())
    keys = [(run.workflow_id, run.run_id) for run in runs]
    keys += [(row["workflow_id"], row["run_id"]) for row in flat_workflows]
    if not keys:
        return 0
    runs_in, run_params = run_keys_condition(keys)
    condition, params = f"namespace = ? AND {runs_in}", [namespace, *run_params]
    events = pa.concat_tables([*flat_events, *_flattened(runs, namespace)])
    rows = [*flat_workflows]
    rows += [workflow_row(run.history, run.execution, namespace=namespace, run_id=run.run_id) for run in runs]
    # One transaction: the incremental collection trusts a closed `workflows` row to mean its events are stored.
    writer.insert_together([
        Part("history_events", events, (condition, params), keyed=False),
        Part("workflows", _workflows_table(rows), (condition, params)),
    ])
    return events.num_rows


def _flattened(runs: Sequence[HistoryRun], namespace: str) -> list[pa.Table]:
    """The runs' events in order: one table for each stretch of runs read whole, one per run with unknown events."""
    tables, plain = [], []
    for run in [*runs, None]:
        if run is not None and not run.unknown_events:
            plain.append((run.history, run.run_id))
            continue
        if plain:
            tables.append(flatten_histories(plain, namespace=namespace))
            plain = []
        if run is not None:
            tables.append(_with_unknown_events(flatten_history(run.history, namespace=namespace, run_id=run.run_id),
                                               run))
    return tables


def _with_unknown_events(table: pa.Table, run: HistoryRun) -> pa.Table:
    if not run.unknown_events:
        return table
    event_ids = table.column("event_id").to_pylist()
    types = table.column("event_type").to_pylist()
    attributes = table.column("attributes").to_pylist()
    for i, event_id in enumerate(event_ids):
        if event_id in run.unknown_events:
            types[i], attributes[i] = run.unknown_events[event_id]
    table = table.set_column(table.schema.get_field_index("event_type"), "event_type", pa.array(types, pa.string()))
    return table.set_column(table.schema.get_field_index("attributes"), "attributes", pa.array(attributes, pa.string()))


def _workflows_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    return WORKFLOWS.from_rows([dict(row) for row in rows])
