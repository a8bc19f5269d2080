"""What the three services share: command-line options, telemetry set-up, and a worker that stops cleanly."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.interceptors import LensPlugin, configure_telemetry, get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.attempt_ledger import AttemptLedger
from temporal_lens.sample_app.codec import data_converter
from temporal_lens.sample_app.faults import FAULTS_ENV


def service_arguments(service: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m temporal_lens.sample_app.{service}", description=description)
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--otlp-endpoint", default=None, help="OTLP/gRPC endpoint for spans (host:port)")
    parser.add_argument("--log-path", default=None, help="JSON-lines log file (default: stderr)")
    parser.add_argument("--faults", default=None, help="fault plan written by the scenario driver")
    parser.add_argument("--codec-key", default=None, help="key file: encrypt every payload (EncryptionCodec)")
    return parser


def run_service(
    service: str,
    args: argparse.Namespace,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = (),
) -> None:
    if args.faults:
        os.environ[FAULTS_ENV] = args.faults
    telemetry = configure_telemetry(service_name=service, otlp_endpoint=args.otlp_endpoint, log_path=args.log_path)
    try:
        asyncio.run(_serve(service, args, task_queue, activities, workflows))
    finally:
        telemetry.shutdown()


async def _serve(
    service: str,
    args: argparse.Namespace,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    workflows: Sequence[type],
) -> None:
    log = get_logger(service)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = await Client.connect(args.address, namespace=args.namespace, plugins=[LensPlugin()],
                                  data_converter=data_converter(args.codec_key))
    # The run folder (beside the fault plan) receives the workers' own attempt ledger: ground truth of what ran when.
    ledger = [AttemptLedger(Path(args.faults).parent)] if args.faults and activities else []
    async with Worker(client, task_queue=task_queue, activities=list(activities), workflows=list(workflows),
                      interceptors=ledger, max_concurrent_activities=model.ACTIVITY_SLOTS):
        log.info("service ready", task_queue=task_queue, address=args.address)
        await stop.wait()
        log.info("service stopping")
