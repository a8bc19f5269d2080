"""Fault isolation of the interceptors, on a real dev server: broken telemetry never breaks a workflow."""

from __future__ import annotations

import uuid

import structlog
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.interceptors import LensInterceptor, structlog_processors, with_passthrough
from tests.interceptor_app.workflows import ALL_ACTIVITIES, ALL_WORKFLOWS, RetryWorkflow
from tests.interceptor_support import closed_port


class _RaisingLogger:
    def msg(self, message: str) -> None:
        raise OSError("log sink is full")

    info = warning = error = debug = msg


async def test_broken_telemetry_never_breaks_workflows(dev_server, task_queue) -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{closed_port()}", insecure=True, timeout=1))
    )

    def raising_redaction(kind, value):
        raise RuntimeError("redaction hook bug")

    structlog.configure(processors=[*structlog_processors("t"), structlog.processors.JSONRenderer()],
                        logger_factory=lambda *a: _RaisingLogger(), cache_logger_on_first_use=False)
    try:
        interceptor = LensInterceptor(tracer_provider=provider, record_payloads=True, redact=raising_redaction)
        client = await Client.connect(dev_server.address, interceptors=[interceptor])
        async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                          workflow_runner=with_passthrough(None)):
            result = await client.execute_workflow(
                RetryWorkflow.run, 1, id=f"broken-{uuid.uuid4()}", task_queue=task_queue
            )
        assert result == "ok after 2"
    finally:
        structlog.reset_defaults()
        provider.shutdown()
