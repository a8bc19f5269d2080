"""One worker process of the audit workload: `python -m audit_app.worker KIND ADDRESS TASK_QUEUE OTLP LOG_PATH`.

KIND is `lens` (LensPlugin and configure_telemetry), `contrib` (temporalio.contrib.opentelemetry's
TracingInterceptor, spans to OTLP) or `plain` (no telemetry at all). It prints "ready" once polling and stops on
SIGTERM, flushing its spans.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from audit_app.workflows import ACTIVITIES, WORKFLOWS


async def main(kind: str, address: str, task_queue: str, otlp_endpoint: str, log_path: str) -> None:
    flush = None
    if kind == "lens":
        from temporal_lens.interceptors import LensPlugin, configure_telemetry

        telemetry = configure_telemetry(service_name="audit-lens", otlp_endpoint=otlp_endpoint, log_path=log_path)
        client = await Client.connect(address, plugins=[LensPlugin()])
        flush = telemetry.shutdown
    elif kind == "contrib":
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor

        provider = TracerProvider(resource=Resource.create({"service.name": "audit-contrib"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True)))
        trace.set_tracer_provider(provider)
        client = await Client.connect(address, interceptors=[TracingInterceptor()])
        flush = provider.shutdown
    else:
        client = await Client.connect(address)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        print("ready", flush=True)
        await stop.wait()
    if flush is not None:
        flush()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
