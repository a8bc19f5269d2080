"""Commands that run something until it ends or Ctrl-C: the study, a dev server, the receivers."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from temporal_lens.bridge import DOCKER_BRIDGE
from temporal_lens.cli._choices import (
    DEFAULT_AGENT_PORT,
    DEFAULT_CASES,
    DEFAULT_CONCURRENCY,
    DEFAULT_OBSERVE_EVERY,
    SCENARIOS,
)
from temporal_lens.cli._common import (
    BAD_INPUT,
    FAILURE,
    DbOption,
    _address,
    _database,
    _exits,
    _fail,
    _stopped_cleanly,
    console,
    err_console,
)


def study(
    orders: Annotated[int, typer.Option(min=1, help="how many orders to drive")] = 12,
    seed: Annotated[int, typer.Option(help="seed for the scenario mix and injected faults")] = 7,
    scenarios: Annotated[str, typer.Option(help=f"comma-separated kinds among {', '.join(SCENARIOS)}")] = ",".join(
        SCENARIOS
    ),
    cases: Annotated[int, typer.Option(min=0, help="at least this many orders of each hard case (2 failed payments, "
                                       "each timeout, a rejected update, deletion, crash, cancel, expiry)")
                     ] = DEFAULT_CASES,
    runs_dir: Annotated[Path, typer.Option(help="where run folders are created")] = Path("runs"),
    headless: Annotated[bool, typer.Option(help="start the dev server without its Web UI")] = False,
    timeout: Annotated[float | None, typer.Option(
        help="seconds to wait for all orders to close (default: scaled with the orders and the concurrency)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="orders in flight at once (default: 8 per core)")
                           ] = DEFAULT_CONCURRENCY,
    codec: Annotated[bool, typer.Option(help="encrypt every payload, to show what history then holds")] = False,
    observe_every: Annotated[
        float, typer.Option(min=0.0, help="seconds between the observer's Describe and query of each open order "
                            "(0: Temporal is not asked in place)")
    ] = DEFAULT_OBSERVE_EVERY,
    external: Annotated[
        bool, typer.Option(help="use a running stack (docker-compose.yml) instead of starting a dev server")
    ] = False,
    temporal_address: Annotated[
        str, typer.Option(envvar="TEMPORAL_ADDRESS", help="with --external: the Temporal frontend host:port")
    ] = "127.0.0.1:7233",
    namespace: Annotated[str, typer.Option(envvar="TEMPORAL_NAMESPACE", help="with --external")] = "default",
    otlp_endpoint: Annotated[
        str,
        typer.Option(envvar="TEMPORAL_LENS_OTLP_ENDPOINT",
                     help="with --external: where the services export spans and logs (the collector)"),
    ] = "127.0.0.1:4317",
    receive_grpc: Annotated[
        str,
        typer.Option(envvar="TEMPORAL_LENS_RECEIVE_GRPC",
                     help="with --external: host:port this study's OTLP receiver listens on for the collector "
                          "(docker-bridge: docker0's address, else loopback)"),
    ] = f"{DOCKER_BRIDGE}:14317",
    otlp_token: Annotated[
        str | None,
        typer.Option(envvar="TEMPORAL_LENS_OTLP_TOKEN", show_default=False,
                     help="with --external: the bearer token the collector sends (default: a new one per run)"),
    ] = None,
    ui_url: Annotated[
        str, typer.Option(envvar="TEMPORAL_LENS_UI_URL", help="with --external: the Temporal Web UI (printed)")
    ] = "http://127.0.0.1:8080",
) -> None:
    """Run the whole study on this machine (or with --external, against a running stack) and print the matrix.

    SIGTERM or SIGINT (Ctrl-C) stops it in any phase: every process it started is stopped, the database keeps what
    was committed, and the run folder's status.json says "interrupted"; the exit code is 143 or 130.
    """
    from temporalio.service import RPCError

    from temporal_lens.collectors import DatabasePlaceError, ReceiverBindError
    from temporal_lens.observer import ObserverSettings
    from temporal_lens.services import ServiceError
    from temporal_lens.stack import StackError
    from temporal_lens.study import ExternalStack, RunFolderError, StudyOptions, run_study

    kinds = tuple(k.strip() for k in scenarios.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(SCENARIOS))
    if unknown or not kinds:
        raise _fail(f"unknown scenario kind(s) {unknown}; choose among {', '.join(SCENARIOS)}", BAD_INPUT)
    stack = None
    if external:
        _address(receive_grpc, "--receive-grpc")
        stack = ExternalStack(temporal_address=temporal_address, namespace=namespace, otlp_endpoint=otlp_endpoint,
                              receive_grpc=receive_grpc, ui_url=ui_url or None, token=otlp_token or None)
    try:
        options = StudyOptions(orders=orders, seed=seed, scenarios=kinds, cases=cases, runs_dir=runs_dir,
                               headless=headless, codec=codec, timeout=timeout, concurrency=concurrency,
                               external=stack, observer=ObserverSettings(cadence_s=observe_every))
    except ValueError as err:  # a bad TEMPORAL_LENS_DELETION_WAIT
        raise _fail(str(err), BAD_INPUT) from None
    failures = {
        ReceiverBindError: BAD_INPUT,  # the port the user gave with --receive-grpc
        RunFolderError: BAD_INPUT,  # --runs-dir
        DatabasePlaceError: BAD_INPUT,
        **dict.fromkeys((StackError, ServiceError, TimeoutError, RPCError, OSError), FAILURE),
    }
    with _stopped_cleanly("the study", "every process it started has been stopped"), _exits(failures):
        run_study(options, console)


def dev(
    workdir: Annotated[Path, typer.Option(help="folder for the server's SQLite file and log")] = Path("runs/dev"),
    port: Annotated[int | None, typer.Option(help="frontend gRPC port (default: a free one)")] = None,
    ui_port: Annotated[int | None, typer.Option(help="Web UI port (default: a free one)")] = None,
) -> None:
    """Start a Temporal dev server and keep it running until Ctrl-C or SIGTERM (exit 130 or 143)."""
    from temporal_lens.stack import DevServer, StackError

    with (
        _stopped_cleanly("the dev server", "it has been stopped") as stop,
        _exits({StackError: FAILURE}),
        DevServer(workdir, port=port, ui_port=ui_port) as server,
    ):
        console.print(f"Temporal dev server at {server.address}; Web UI at {server.ui_url}. Ctrl-C stops it.")
        stop.wait()


def receive(
    db: DbOption,
    grpc: Annotated[str, typer.Option(help="host:port for OTLP/gRPC, or 'off'")] = "127.0.0.1:4317",
    http: Annotated[str, typer.Option(help="host:port for OTLP/HTTP (/v1/traces, /v1/logs), or 'off'")] = (
        "127.0.0.1:4318"
    ),
    token: Annotated[
        str | None, typer.Option(envvar="TEMPORAL_LENS_TOKEN", help="require 'Authorization: Bearer TOKEN'")
    ] = None,
    insecure: Annotated[
        bool, typer.Option(help="listen beyond loopback without --token (anyone who reaches this machine can write)")
    ] = False,
    max_request_mb: Annotated[float, typer.Option(min=0.001, help="largest accepted request, MB")] = 16.0,
) -> None:
    """Run OTLP receivers (gRPC and HTTP) that store spans and log records into the database until Ctrl-C or SIGTERM.

    An address beyond loopback needs --token (or an explicit --insecure). On SIGTERM or SIGINT the receivers finish
    the requests in flight, commit them and close the database; the exit code is then 143 or 130.
    """
    from temporal_lens.collectors import (
        BatchWriter,
        OpenListenerError,
        OtlpHttpReceiver,
        OtlpReceiver,
        ReceiverBindError,
        is_loopback,
    )

    grpc_at, http_at = _listen_at(grpc, "--grpc"), _listen_at(http, "--http")
    if grpc_at is None and http_at is None:
        raise _fail("both --grpc and --http are off; nothing to receive", BAD_INPUT)
    max_bytes = int(max_request_mb * 1024 * 1024)
    open_door = [at for at in (grpc_at, http_at) if at is not None and not is_loopback(at[0])]
    with (
        _stopped_cleanly("the receivers", f"every acknowledged request is committed into {db}") as stop,
        # the address is the user's: taken or open without a token is bad input; other OS errors are failures
        _database(db, failures={OpenListenerError: BAD_INPUT, ReceiverBindError: BAD_INPUT, OSError: FAILURE}) as conn,
    ):
        writer = BatchWriter(conn)
        receivers: list[OtlpReceiver | OtlpHttpReceiver] = []
        with ExitStack() as running:
            if grpc_at is not None:
                host, port = grpc_at
                receivers.append(running.enter_context(OtlpReceiver(
                    writer, host=host, port=port, token=token, insecure=insecure, max_message_bytes=max_bytes
                )))
                console.print(f"OTLP/gRPC receiver at {receivers[-1].endpoint}")
            if http_at is not None:
                host, port = http_at
                receivers.append(running.enter_context(OtlpHttpReceiver(
                    writer, host=host, port=port, token=token, insecure=insecure, max_body_bytes=max_bytes
                )))
                console.print(f"OTLP/HTTP receiver at {receivers[-1].endpoint} (/v1/traces, /v1/logs)")
            if open_door and not token:
                err_console.print("[yellow]warning:[/] listening beyond loopback without a token (--insecure): "
                                  "anyone who can reach this machine can write into the database")
            console.print(f"writing into {db}{' (bearer token required)' if token else ''}. Ctrl-C stops it.")
            stop.wait()
        spans = sum(r.spans_stored for r in receivers)
        logs = sum(r.logs_stored for r in receivers)
        rejected = sum(r.batches_rejected for r in receivers)
        console.print(f"stored {spans} spans and {logs} log records; rejected {rejected} requests")


def _listen_at(text: str, option: str) -> tuple[str, int] | None:
    """A receiver's `host:port` as (host, port), or None when it is 'off'."""
    if text.strip().lower() == "off":
        return None
    from temporal_lens.collectors import parse_host_port

    try:
        return parse_host_port(text, option=option)
    except ValueError:
        raise _fail(f"{option} must be host:port or 'off', got {text!r}", BAD_INPUT) from None


def receive_jaeger_agent(
    db: DbOption,
    udp: Annotated[str, typer.Option(help="host:port for Jaeger agent compact-Thrift datagrams")] = (
        f"127.0.0.1:{DEFAULT_AGENT_PORT}"
    ),
    insecure: Annotated[
        bool, typer.Option(help="listen beyond loopback (the agent protocol has no token: anyone can write)")
    ] = False,
) -> None:
    """Receive legacy jaeger-client spans (agent protocol, UDP) into the database until Ctrl-C or SIGTERM."""
    from temporal_lens.collectors import BatchWriter, JaegerAgentReceiver, OpenListenerError, join_host_port

    host, port = _address(udp, "--udp")
    with (
        _stopped_cleanly("the Jaeger agent receiver", f"every datagram received is committed into {db}") as stop,
        _database(db, failures={OpenListenerError: BAD_INPUT, OSError: FAILURE, ImportError: FAILURE}) as conn,
    ):
        with JaegerAgentReceiver(BatchWriter(conn), host=host, port=port, insecure=insecure) as receiver:
            at = join_host_port(host, receiver.port)
            console.print(f"Jaeger agent receiver on udp {at} writing into {db}. Ctrl-C stops it.")
            stop.wait()
        console.print(f"stored {receiver.spans_stored} spans; {receiver.datagrams_rejected} bad datagram(s) dropped")
