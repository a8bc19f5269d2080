"""The study: embedded stack, three services, a seeded scenario, every source collected, the matrix scored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from temporal_lens.analysis import Cell, matrix_reasons, render_matrix, score_answers
from temporal_lens.collectors import (
    BatchWriter,
    OtlpReceiver,
    collect_histories,
    load_log_files,
    load_sqlite_table,
    open_database,
)
from temporal_lens.interceptors import LensPlugin, configure_telemetry
from temporal_lens.sample_app.codec import data_converter, write_key_file
from temporal_lens.sample_app.scenario import (
    SCENARIOS,
    ground_truth_schema,
    ground_truth_tables,
    plan_orders,
    run_scenario,
    write_plan_file,
)
from temporal_lens.services import ServiceProcesses
from temporal_lens.stack import DevServer


@dataclass
class StudyOptions:
    orders: int = 12
    seed: int = 7
    scenarios: Sequence[str] = SCENARIOS
    runs_dir: Path = Path("runs")
    headless: bool = False
    timeout: float = 150.0
    codec: bool = False
    """Encrypt every payload (EncryptionCodec), to show what history then holds of customer data."""


@dataclass
class StudyResult:
    run_dir: Path
    db_path: Path
    cells: list[Cell]


def new_run_dir(runs_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir, suffix = runs_dir / stamp, 1
    while run_dir.exists():
        suffix += 1
        run_dir = runs_dir / f"{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir.resolve()


def run_study(options: StudyOptions, console: Console | None = None) -> StudyResult:
    console = console or Console(soft_wrap=True)
    run_dir = new_run_dir(Path(options.runs_dir))
    db_path = run_dir / "lens.duckdb"
    plans = plan_orders(options.orders, seed=options.seed, run_tag=run_dir.name.replace("-", ""),
                        scenarios=options.scenarios)
    fault_plan = run_dir / "faults.json"
    write_plan_file(fault_plan, plans)
    codec_key = write_key_file(run_dir / "codec.key") if options.codec else None

    conn = open_database(db_path)
    writer = BatchWriter(conn)
    conn.execute(ground_truth_schema())
    try:
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(DevServer(run_dir, headless=options.headless))
            console.print(f"Temporal dev server at [bold]{server.address}[/]"
                          + (f", Web UI at [bold]{server.ui_url}[/]" if server.ui_url else ""))
            receiver = stack.enter_context(OtlpReceiver(writer))
            console.print(f"OTLP receiver at [bold]{receiver.endpoint}[/] writing into {db_path}")
            services = stack.enter_context(
                ServiceProcesses(server.address, server.namespace, receiver.endpoint, run_dir, fault_plan, codec_key)
            )
            console.print(f"Services running: {', '.join(services.processes)}; driving {len(plans)} orders "
                          f"(seed {options.seed}, scenarios {', '.join(options.scenarios)})")
            telemetry = configure_telemetry(
                service_name="order-driver", otlp_endpoint=receiver.endpoint, log_path=run_dir / "logs" / "driver.jsonl"
            )
            try:
                scenario = asyncio.run(
                    _drive(server.address, server.namespace, plans, services, fault_plan, codec_key, options.timeout)
                )
            finally:
                telemetry.shutdown()
            services.stop()  # flushes every service's spans into the receiver before it stops
            for table_name, table in ground_truth_tables(scenario).items():
                writer.insert(table_name, table)
            mismatched = [o.plan.order.order_id for o in scenario.orders if o.observed_status != o.plan.workflow_status]
            if mismatched:
                console.print(f"[red]orders that ended unlike the plan: {', '.join(mismatched)}[/]")

            collected = asyncio.run(_collect_history(server.address, server.namespace, writer))
            console.print(f"Collected {collected.events} history events from {collected.runs} workflow runs")
            spans_stored = receiver.spans_stored
        loaded = load_log_files(writer, [run_dir / "logs"])
        console.print(f"Received {spans_stored} spans; loaded {sum(r.loaded for r in loaded)} log records")
        for result in loaded:
            for error in result.errors:
                console.print(f"[yellow]skipped log line: {error}[/]")
        load_sqlite_table(writer, run_dir / "app_orders.sqlite", "orders", into="app_orders")

        cells = score_answers(conn)
        console.print(render_matrix(cells))
        for line in matrix_reasons(cells):
            console.print(f"  [dim]{line}[/]")
    finally:
        conn.close()
    console.print(f"Run folder: {run_dir}", soft_wrap=True, highlight=False, markup=False)
    return StudyResult(run_dir, db_path, cells)


async def _drive(address, namespace, plans, services: ServiceProcesses, fault_plan, codec_key, timeout: float):
    client = await Client.connect(address, namespace=namespace, plugins=[LensPlugin()],
                                  data_converter=data_converter(codec_key))

    async def crash_worker(service: str):
        return await asyncio.to_thread(services.crash_and_restart, service)

    async def watch_services() -> None:
        while True:
            services.check_alive()
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_services())
    driver = asyncio.create_task(run_scenario(client, plans, fault_plan=fault_plan, crash_worker=crash_worker,
                                              codec=codec_key is not None, timeout=timeout))
    done, _ = await asyncio.wait({watcher, driver}, return_when=asyncio.FIRST_COMPLETED)
    watcher.cancel()
    if driver not in done:
        driver.cancel()
        watcher.result()  # raises the service's failure
    return driver.result()


async def _collect_history(address: str, namespace: str, writer: BatchWriter):
    client = await Client.connect(address, namespace=namespace)
    return await collect_histories(client, writer)
