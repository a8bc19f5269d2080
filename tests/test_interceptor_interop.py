"""A service on the official contrib TracingInterceptor and one on ours produce one trace."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from temporal_lens.interceptors import LensInterceptor, with_passthrough
from tests.interceptor_app.workflows import RetryWorkflow, flaky, noop
from tests.spantree import span_tree

pytestmark = pytest.mark.server


async def test_contrib_client_and_activities_with_lens_workflow(dev_server, task_queue) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    contrib = TracingInterceptor(provider.get_tracer("contrib"))
    lens = LensInterceptor(tracer_provider=provider)

    contrib_client = await Client.connect(dev_server.address, interceptors=[contrib])
    plain_client = await Client.connect(dev_server.address)
    activity_queue = f"{task_queue}-activities"
    async with (
        Worker(plain_client, task_queue=task_queue, workflows=[RetryWorkflow], interceptors=[lens],
               workflow_runner=with_passthrough(None)),
        Worker(plain_client, task_queue=activity_queue, activities=[flaky, noop], interceptors=[contrib]),
    ):
        await contrib_client.execute_workflow(
            RetryWorkflow.run, args=[0, activity_queue], id=f"wf-{uuid.uuid4()}", task_queue=task_queue
        )
    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1
    assert span_tree(spans) == [
        "StartWorkflow:RetryWorkflow",
        "  RunWorkflow:RetryWorkflow",
        "    StartActivity:flaky",
        "      RunActivity:flaky",
        "    StartActivity:noop",
        "      RunActivity:noop",
    ]
