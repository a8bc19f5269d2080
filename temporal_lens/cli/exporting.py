"""`temporal-lens export ...`: write the lens database out in formats other tools open (Jaeger JSON, Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from temporal_lens.cli._common import BAD_INPUT, DbOption, _database, _fail, console


def export_jaeger_files(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="folder for the files, one <trace id>.json per trace")],
    trace_id: Annotated[str | None, typer.Option(help="only this trace")] = None,
    workflow_id: Annotated[str | None, typer.Option(help="only traces holding spans of this workflow")] = None,
) -> None:
    """Write traces as Jaeger JSON files that the Jaeger UI's "JSON File" upload opens."""
    from temporal_lens.collectors import export_jaeger

    if trace_id and workflow_id:
        raise _fail("give --trace-id or --workflow-id, not both", BAD_INPUT)
    with _database(db, must_exist=True) as conn:
        written = export_jaeger(conn, out, trace_id=trace_id, workflow_id=workflow_id)
    if not written and (trace_id or workflow_id):
        raise _fail(f"no spans for {'trace ' + trace_id if trace_id else 'workflow ' + str(workflow_id)}", BAD_INPUT)
    console.print(f"wrote {len(written)} trace file(s) into {out}")


def export_parquet_files(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="folder for the Hive-partitioned Parquet dataset")],
) -> None:
    """Write every table as Parquet, partitioned Hive-style (spans by source/date, history by namespace/date...)."""
    from temporal_lens.collectors import export_parquet

    with _database(db, must_exist=True) as conn:
        written = export_parquet(conn, out)
    for table, rows in written.items():
        console.print(f"{table}: {rows} rows -> {out / f'table={table}'}")
