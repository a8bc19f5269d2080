"""The study: embedded stack, three services, a seeded scenario, every source collected, the matrix scored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from temporal_lens.analysis import (
    RETAINED,
    Cell,
    matrix_reasons,
    render_matrix,
    score_answers,
    store_settings,
    write_report,
)
from temporal_lens.bridge import DOCKER_BRIDGE, resolve_listen_host
from temporal_lens.collectors import (
    BatchWriter,
    CollectProgress,
    OtlpReceiver,
    collect_histories,
    load_log_files,
    load_sqlite_table,
    open_database,
    order_for_reading,
    parse_host_port,
    synthesize_history_spans,
)
from temporal_lens.interceptors import LensPlugin, configure_telemetry
from temporal_lens.interrupts import raise_if_stopped, stop_requested
from temporal_lens.observer import SCHEMA as OBSERVER_SCHEMA
from temporal_lens.observer import Observer, ObserverSettings
from temporal_lens.progress import StudyProgress
from temporal_lens.run_status import RunStatus
from temporal_lens.sample_app import model
from temporal_lens.sample_app.attempt_ledger import load_attempts
from temporal_lens.sample_app.call_timer import CallTimer
from temporal_lens.sample_app.codec import data_converter, write_key_file
from temporal_lens.sample_app.driver import (
    DEFAULT_CONCURRENCY,
    DELETION_WAIT_S,
    run_scenario,
    scenario_timeout,
    settle_deletions,
)
from temporal_lens.sample_app.model import ORDER_SEARCH_ATTRIBUTES, ORDERS_QUEUE
from temporal_lens.sample_app.queue_ledger import load_queue_waits
from temporal_lens.sample_app.scenario import (
    DEFAULT_CASES,
    DELETION_PENDING,
    SCENARIOS,
    ScenarioRun,
    ground_truth_schema,
    ground_truth_tables,
    plan_orders,
    write_plan_file,
)
from temporal_lens.search_attributes import ensure_search_attributes, search_attribute_types
from temporal_lens.services import ServiceProcesses
from temporal_lens.settled import run_settled
from temporal_lens.stack import DevServer, StackError


@dataclass
class ExternalStack:
    """A stack someone else runs (docker-compose.yml): Temporal, an OTel Collector, the Web UI.

    Args:
        temporal_address: the Temporal frontend, host:port.
        otlp_endpoint: where the services and the driver export spans and logs (the collector), host:port.
        receive_grpc: where this process's OTLP receiver listens so the collector can forward to it, host:port;
            host `docker-bridge` is docker0's address (what the collector's `host.docker.internal` reaches), or
            loopback when there is none.
        token: the bearer token the collector must send (`Authorization: Bearer <token>`); None: a new one for
            each run, written to `<run folder>/otlp-token` for handing to the collector.
        ui_url: the Temporal Web UI, only printed.
    """

    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    otlp_endpoint: str = "127.0.0.1:4317"
    receive_grpc: str = f"{DOCKER_BRIDGE}:14317"
    ui_url: str | None = "http://127.0.0.1:8080"
    token: str | None = field(default=None, repr=False)

    def receiver_bind(self) -> tuple[str, int]:
        """`receive_grpc` as (host, port), `docker-bridge` resolved; raises ValueError when it is not host:port."""
        host, port = parse_host_port(self.receive_grpc, option="receive_grpc")
        return resolve_listen_host(host)[0], port


DELETION_WAIT_ENV = "TEMPORAL_LENS_DELETION_WAIT"
"""Seconds the driver watches the server remove a deleted run (default `DELETION_WAIT_S`); 0 records the
deletion as the server holds it right away, pending as a rule (tests use it to reach that path)."""
DRIVER_CALLS_FILE = "driver_calls.json"


def _deletion_wait_from_env() -> float:
    value = os.environ.get(DELETION_WAIT_ENV)
    if not value:
        return DELETION_WAIT_S
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{DELETION_WAIT_ENV} must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ValueError(f"{DELETION_WAIT_ENV} must be 0 or more seconds, got {value!r}")
    return seconds


@dataclass
class StudyOptions:
    orders: int = 12
    seed: int = 7
    scenarios: Sequence[str] = SCENARIOS
    cases: int = DEFAULT_CASES
    """At least this many orders of each hard case (two failed payment attempts, each timeout, a rejected update,
    a deletion, a crash, a cancellation, an expiry) among `scenarios`: added to `orders` where it falls short."""
    runs_dir: Path = Path("runs")
    headless: bool = False
    timeout: float | None = None
    """Seconds for all orders to close; None: scaled with the orders and the concurrency (`scenario_timeout`)."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Orders in flight at once."""
    deletion_wait: float = field(default_factory=_deletion_wait_from_env)
    """Seconds the driver watches the server remove a deleted run before recording it as still pending."""
    codec: bool = False
    """Encrypt every payload (EncryptionCodec), to show what history then holds of customer data."""
    external: ExternalStack | None = None
    """Run against this stack instead of starting a dev server; None: the embedded stack."""
    observer: ObserverSettings = field(default_factory=ObserverSettings)
    """How the observer asks Temporal in place while orders run (cadence 0: not at all)."""


TOKEN_ENV = "TEMPORAL_LENS_OTLP_TOKEN"
"""Holds the token for `study --external` and, in docker-compose.yml, for the collector that sends it."""
TOKEN_FILE = "otlp-token"

_DOING = {"stack": "starting the stack", "driving": "driving the orders", "collecting": "collecting the sources",
          "scoring": "scoring the matrix"}


@dataclass
class StudyResult:
    run_dir: Path
    db_path: Path
    cells: list[Cell]


class RunFolderError(OSError):
    """The run folder cannot be created under the runs folder the user gave (read-only, not a folder)."""


def new_run_dir(runs_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir, suffix = runs_dir / stamp, 1
    while run_dir.exists():
        suffix += 1
        run_dir = runs_dir / f"{stamp}-{suffix}"
    try:
        run_dir.mkdir(parents=True)
    except OSError as err:
        raise RunFolderError(f"cannot create a run folder in {runs_dir} ({err.strerror or err}); give --runs-dir "
                             "a folder you can write") from err
    return run_dir.resolve()


def run_study(options: StudyOptions, console: Console | None = None) -> StudyResult:
    console = console or Console(soft_wrap=True)
    run_dir = new_run_dir(Path(options.runs_dir))
    status = RunStatus(run_dir)
    db_path = run_dir / "lens.duckdb"
    plans = plan_orders(options.orders, seed=options.seed, run_tag=run_dir.name.replace("-", ""),
                        scenarios=options.scenarios, cases=options.cases)
    fault_plan = run_dir / "faults.json"
    write_plan_file(fault_plan, plans)
    codec_key = write_key_file(run_dir / "codec.key") if options.codec else None

    external = options.external
    receiver_host, receiver_port = external.receiver_bind() if external else ("127.0.0.1", 0)
    if options.concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {options.concurrency}")
    timeout = options.timeout if options.timeout is not None else scenario_timeout(len(plans), options.concurrency)
    token = _receiver_token(external, run_dir, console)
    conn = open_database(db_path)
    writer = BatchWriter(conn)
    conn.execute(ground_truth_schema())
    progress = StudyProgress(console, orders=len(plans), deleted=sum(p.scenario == "deleted" for p in plans))
    progress.start()
    ending: tuple[str, dict[str, str]] = ("failed", {})
    try:
        with contextlib.ExitStack() as stack:
            raise_if_stopped()
            status.enter("stack")
            history_query = None
            server = None
            if external is None:
                server = stack.enter_context(DevServer(
                    run_dir, headless=options.headless,
                    search_attributes=search_attribute_types(ORDER_SEARCH_ATTRIBUTES)))
                address, namespace = server.address, server.namespace
                console.print(f"Temporal dev server at [bold]{server.address}[/]"
                              + (f", Web UI at [bold]{server.ui_url}[/]" if server.ui_url else ""))
            else:
                address, namespace = external.temporal_address, external.namespace
                run_settled(_check_reachable, address, namespace)
                # A shared cluster holds other workflows: collect only the sample app's runs started since this
                # study began, with a minute's slack for a server clock behind ours.
                since = datetime.now(UTC) - timedelta(minutes=1)
                history_query = (f'TaskQueue = "{ORDERS_QUEUE}" AND '
                                 f'StartTime >= "{since.strftime("%Y-%m-%dT%H:%M:%SZ")}"')
                console.print(f"External Temporal at [bold]{address}[/] (namespace {namespace})"
                              + (f", Web UI at [bold]{external.ui_url}[/]" if external.ui_url else ""))
            added = run_settled(_ensure_order_attributes, address, namespace)
            if added:
                console.print(f"Registered search attributes {', '.join(added)} in namespace {namespace}")
            receiver = stack.enter_context(OtlpReceiver(writer, host=receiver_host, port=receiver_port, token=token))
            console.print(f"OTLP receiver at [bold]{receiver.endpoint}[/] writing into {db_path}")
            export_to = receiver.endpoint if external is None else external.otlp_endpoint
            if external is not None:
                console.print(f"Services export to [bold]{export_to}[/], which must forward to this receiver")
            services = stack.enter_context(
                ServiceProcesses(address, namespace, export_to, run_dir, fault_plan, codec_key)
            )
            console.print(f"Services running: {', '.join(services.processes)}; driving {len(plans)} orders, "
                          f"{options.concurrency} at a time (seed {options.seed}, scenarios "
                          f"{', '.join(options.scenarios)})")
            telemetry = configure_telemetry(
                service_name="order-driver", otlp_endpoint=export_to, log_path=run_dir / "logs" / "driver.jsonl"
            )
            calls = CallTimer()
            observer = _observer_for(plans, options.observer)
            drive_began = time.monotonic()
            raise_if_stopped()
            status.enter("driving")
            try:
                with _blaming_a_dead_server(server):
                    scenario = run_settled(
                        _drive, address, namespace, plans, services, fault_plan, codec_key,
                        dict(timeout=timeout, concurrency=options.concurrency, deletion_wait=options.deletion_wait,
                             calls=calls, progress=_told(progress, observer)),
                        lambda: progress.update("spans", completed=receiver.spans_stored),
                        server, observer=observer,
                    )
            finally:
                telemetry.shutdown()
                calls.write(run_dir / DRIVER_CALLS_FILE)
            raise_if_stopped()
            status.enter("collecting")
            console.print(f"Drove {len(plans)} orders in {time.monotonic() - drive_began:.1f} s", highlight=False)
            if observer is not None:
                conn.execute(OBSERVER_SCHEMA)
                for table_name, table in observer.tables().items():
                    writer.insert(table_name, table, keyed=False)
            services.stop()  # flushes every service's spans into the receiver (or the collector) before it stops
            if external is not None:
                _wait_until_quiet(receiver)  # the collector batches and forwards on its own schedule
                if not receiver.spans_stored:
                    console.print(f"[yellow]no spans arrived through {export_to}: can the collector reach this "
                                  f"receiver (listening on {external.receive_grpc})?[/]")
            # The ground truth is written after collection: what it says of each deleted run is what the server
            # held just before the histories were read.
            with _blaming_a_dead_server(server):
                collected = run_settled(
                    _collect_history, address, namespace, writer, history_query, scenario, progress)
            calls.write(run_dir / DRIVER_CALLS_FILE)
            console.print(calls.summary(), highlight=False)
            for table_name, table in ground_truth_tables(scenario).items():
                writer.insert(table_name, table)
            worker_attempts, attempt_errors = load_attempts([run_dir])
            writer.insert("ground_truth_worker_attempts", worker_attempts, keyed=False)
            for error in attempt_errors:
                console.print(f"[yellow]skipped attempt ledger line: {error}[/]")
            queue_waits, ledger_errors = load_queue_waits([run_dir])
            writer.insert("ground_truth_queue_waits", queue_waits, keyed=False)
            for error in ledger_errors:
                console.print(f"[yellow]skipped queue-wait ledger line: {error}[/]")
            mismatched = [o.plan.order.order_id for o in scenario.orders if o.observed_status != o.plan.workflow_status]
            if mismatched:
                console.print(f"[red]orders that ended unlike the plan: {', '.join(mismatched)}[/]")
            pending = [o.plan.order.order_id for o in scenario.orders if o.deletion == DELETION_PENDING]
            if pending:
                console.print(f"[yellow]deletion still pending at collection (scored as present): "
                              f"{', '.join(pending)}[/]")
            synthesized = synthesize_history_spans(writer)
            console.print(f"Collected {collected.events} history events from {collected.runs} workflow runs; "
                          f"synthesized {synthesized} spans from history alone")
            spans_stored = receiver.spans_stored
            progress.update("spans", completed=spans_stored)
        loaded = load_log_files(writer, [run_dir / "logs"])
        console.print(f"Received {spans_stored} spans; loaded {sum(r.loaded for r in loaded)} log records")
        for result in loaded:
            for error in result.errors:
                console.print(f"[yellow]skipped log line: {error}[/]")
        load_sqlite_table(writer, run_dir / "app_orders.sqlite", "orders", into="app_orders")
        load_sqlite_table(writer, run_dir / "app_orders.sqlite", "order_status_changes",
                          into="app_order_status_changes")

        raise_if_stopped()
        order_for_reading(conn)  # collection is done: the questions read fewer row groups
        status.enter("scoring")
        cells = score_answers(conn)
        questions = len({c.question for c in cells})
        progress.update("scored", completed=questions, total=2 * questions)
        retained = score_answers(conn, scope=RETAINED)
        raise_if_stopped()  # a query the signal cut short may have been scored as a failed answer
        progress.update("scored", completed=2 * questions)
        progress.stop()
        console.print(render_matrix(cells))
        for line in matrix_reasons(cells):
            console.print(f"  [dim]{line}[/]")
        store_settings(conn, ui_url=external.ui_url if external is not None else server.ui_url, namespace=namespace)
        report_html, report_md = write_report(conn, run_dir / "report.html", cells=cells, retained=retained)
        console.print(f"Report: {report_html}", soft_wrap=True, highlight=False, markup=False)
        console.print(f"Summary: {report_md}", soft_wrap=True, highlight=False, markup=False)
        raise_if_stopped()
        ending = ("complete", {})
    except BaseException as err:
        stop = stop_requested()
        if stop is not None or isinstance(err, KeyboardInterrupt):  # whatever a signal's exception became on the way
            ending = ("interrupted", {"signal": stop.name if stop is not None else "SIGINT"})
        else:
            ending = ("failed", {"error": (str(err).strip().splitlines() or [type(err).__name__])[0]})
        raise
    finally:
        try:
            progress.stop()
            conn.close()  # rolls back a batch cut short: the file holds exactly what was committed
        finally:  # the ending is recorded even when closing fails (a query the signal cut short, say)
            status.finish(ending[0], **ending[1])
            if ending[0] != "complete":
                console.print(f"Run folder: {run_dir} ({ending[0]} while {_DOING[status.phase or 'stack']}; "
                              f"{status.path.name} says so, the database holds what was committed)",
                              soft_wrap=True, highlight=False, markup=False)
    console.print(f"Run folder: {run_dir}", soft_wrap=True, highlight=False, markup=False)
    return StudyResult(run_dir, db_path, cells)


def _told(progress: StudyProgress, observer: Observer | None):
    """The driver's progress callback: the bars move, and the observer learns which orders it may ask about."""

    def told(phase: str, workflow_id: str) -> None:
        progress.advance(phase)
        if observer is not None and phase == "started":
            observer.started(workflow_id)

    return told


def _observer_for(plans, settings: ObserverSettings) -> Observer | None:
    if not settings.enabled:
        return None
    loyalty = sorted({model.loyalty_workflow_id(p.order.customer) for p in plans})
    return Observer([p.workflow_id for p in plans], query_name=model.QUERY_STATUS, workflow_type=model.WORKFLOW_TYPE,
                    settings=settings, finals=[(w, model.QUERY_POINTS) for w in loyalty], told_of_starts=True)


async def _ensure_order_attributes(address: str, namespace: str) -> list[str]:
    """The orders' search attributes, registered where missing, before any order starts (an upsert of an unknown
    attribute would stall every order's workflow task)."""
    client = await Client.connect(address, namespace=namespace)
    return await ensure_search_attributes(client, ORDER_SEARCH_ATTRIBUTES)


def _receiver_token(external: ExternalStack | None, run_dir: Path, console: Console) -> str | None:
    """The bearer token the external collector must send; None for the embedded stack (its receiver is loopback).

    Made per run unless given, and then kept only in `otlp-token` (owner-readable): never printed or logged.
    """
    if external is None:
        return None
    note = resolve_listen_host(parse_host_port(external.receive_grpc, option="receive_grpc")[0])[1]
    if note:
        console.print(f"[yellow]{note}[/]")
    if external.token:
        return external.token
    token = secrets.token_urlsafe(32)
    token_file = run_dir / TOKEN_FILE
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n", encoding="utf-8")
    console.print(f"The receiver takes only requests with this run's token (in {token_file}): give it to the "
                  f"collector, e.g. `{TOKEN_ENV}=$(cat {token_file}) docker compose up -d otel-collector`",
                  soft_wrap=True, highlight=False, markup=False)
    return token


@contextlib.contextmanager
def _blaming_a_dead_server(server: DevServer | None) -> Iterator[None]:
    """A call that failed because the dev server died (a refused connection, a reset stream) reports the server."""
    try:
        yield
    except Exception:
        if server is not None:
            server.check_alive()
        raise


def _ignoring_cancelled(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The loop's handler for errors nobody awaited: a CancelledError is the orders' tasks this study cancelled when
    a part died (Python 3.11's `wait_for` leaves a cancelled `gather` unretrieved), logged only as noise."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def _drive(address, namespace, plans, services: ServiceProcesses, fault_plan, codec_key, settings: dict,
                 on_tick=lambda: None, server: DevServer | None = None, *, observer: Observer | None = None):
    """Run the scenario (`settings`: run_scenario's keyword arguments) while watching that every service lives;
    `on_tick` is called on each watch (twice a second)."""
    asyncio.get_running_loop().set_exception_handler(_ignoring_cancelled)
    client = await Client.connect(address, namespace=namespace, plugins=[LensPlugin()],
                                  data_converter=data_converter(codec_key))

    async def crash_worker(service: str):
        return await asyncio.to_thread(services.crash_and_restart, service)

    async def watch_services() -> None:
        while True:
            if server is not None:
                server.check_alive()
            services.check_alive()
            on_tick()
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_services())
    driver = asyncio.create_task(run_scenario(client, plans, fault_plan=fault_plan, crash_worker=crash_worker,
                                              codec=codec_key is not None, **settings))
    observing = asyncio.create_task(observer.observe(client, driver)) if observer is not None else None
    done, _ = await asyncio.wait({watcher, driver}, return_when=asyncio.FIRST_COMPLETED)
    if driver not in done:
        watcher.cancel()
        driver.cancel()
        if observing is not None:
            observing.cancel()
        # wait for the orders' tasks to unwind, so none is left for asyncio.run to cancel (and log) on the way out
        await asyncio.gather(driver, *([observing] if observing is not None else []), return_exceptions=True)
        watcher.result()  # raises the service's failure
    if observing is not None:
        await observing  # the last closes and the final answers, with the services still up to answer queries
    watcher.cancel()
    return driver.result()


async def _collect_history(address: str, namespace: str, writer: BatchWriter, query: str | None,
                           scenario: ScenarioRun, progress: StudyProgress):
    """Look at the deleted runs once more, then collect every history at once."""
    client = await Client.connect(address, namespace=namespace)
    await settle_deletions(client, scenario)

    def collected(state: CollectProgress) -> None:
        progress.update("histories", completed=state.fetched + state.skipped + state.missing, total=state.total)

    return await collect_histories(client, writer, query=query, progress=collected)


async def _check_reachable(address: str, namespace: str) -> None:
    """Fail early, and clearly, when the external Temporal server or its namespace is not there."""
    try:
        client = await Client.connect(address, namespace=namespace)
        await client.count_workflows()
    except Exception as err:
        raise StackError(
            f"cannot reach Temporal at {address} (namespace {namespace}): {err}; "
            "is the stack up (`docker compose up -d --wait`)?"
        ) from err


def _wait_until_quiet(receiver: OtlpReceiver, *, quiet: float = 3.0, limit: float = 60.0) -> None:
    """Wait until nothing new has arrived for `quiet` seconds (at most `limit`): spans still in the collector."""
    deadline = time.monotonic() + limit
    seen, changed_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_seen = receiver.spans_received + receiver.logs_received
        if now_seen != seen:
            seen, changed_at = now_seen, time.monotonic()
        elif time.monotonic() - changed_at >= quiet:
            return
        time.sleep(0.2)
