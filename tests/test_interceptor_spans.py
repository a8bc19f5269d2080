from __future__ import annotations

import json
import uuid

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.interceptors import LensPlugin
from tests.interceptor_app.workflows import RetryWorkflow, flaky, noop
from tests.spantree import span_tree

pytestmark = pytest.mark.server


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def test_retry_gives_one_span_per_attempt(dev_server, provider, exporter, task_queue) -> None:
    client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
    async with Worker(client, task_queue=task_queue, workflows=[RetryWorkflow], activities=[flaky, noop]):
        result = await client.execute_workflow(RetryWorkflow.run, 2, id=f"wf-{uuid.uuid4()}", task_queue=task_queue)
    assert result == "ok after 3"
    spans = exporter.get_finished_spans()
    assert span_tree(spans, attributes=["temporal.attempt"]) == [
        "StartWorkflow:RetryWorkflow",
        "  RunWorkflow:RetryWorkflow",
        "    StartActivity:flaky",
        "      RunActivity:flaky temporal.attempt=1",
        "      RunActivity:flaky temporal.attempt=2",
        "      RunActivity:flaky temporal.attempt=3",
        "    StartActivity:noop",
        "      RunActivity:noop temporal.attempt=1",
    ]
    run = next(s for s in spans if s.name == "RunWorkflow:RetryWorkflow")
    assert run.end_time - run.start_time > 150_000_000  # two retries at 100 ms: the run span has real duration
    failed = [s for s in spans if s.name == "RunActivity:flaky" and s.status.status_code.name == "ERROR"]
    assert [json.loads(json.dumps(dict(s.events[0].attributes)))["exception.message"] for s in failed] == [
        "boom on attempt 1",
        "boom on attempt 2",
    ]
    assert len({s.context.trace_id for s in spans}) == 1
    # The correlation keys on every span that has them; the namespace once, on the run's span.
    join_keys = {"temporal.workflow_id", "temporal.run_id", "temporal.workflow_type", "temporal.task_queue"}
    for span in spans:
        if not span.name.startswith("StartWorkflow"):
            assert join_keys <= set(span.attributes), span.name
            assert span.attributes["temporal.task_queue"] == task_queue, span.name
        assert ("temporal.namespace" in span.attributes) == span.name.startswith("RunWorkflow"), span.name
    for span in spans:
        if span.name.startswith("RunActivity"):
            assert {"temporal.activity_id", "temporal.activity_type", "temporal.attempt"} <= set(span.attributes)
            assert "temporal.local_activity" not in span.attributes
