"""Nexus operations: the caller's StartNexusOperation span parents the handler's span, over a real endpoint."""

from __future__ import annotations

import uuid
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import workflow
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.interceptors import LensPlugin
from tests.spantree import span_tree

pytestmark = pytest.mark.server


@nexusrpc.service
class Greeter:
    greet: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=Greeter)
class GreeterHandler:
    @nexusrpc.handler.sync_operation
    async def greet(self, ctx: nexusrpc.handler.StartOperationContext, name: str) -> str:
        return f"hello {name}"


@workflow.defn(sandboxed=False)
class NexusCaller:
    @workflow.run
    async def run(self, endpoint: str) -> str:
        client = workflow.create_nexus_client(service=Greeter, endpoint=endpoint)
        return await client.execute_operation(Greeter.greet, "nexus", schedule_to_close_timeout=timedelta(seconds=30))


async def test_nexus_operation_spans(dev_server) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
    queue = f"nexus-{uuid.uuid4()}"
    endpoint = f"lens-{uuid.uuid4().hex[:12]}"
    await client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(spec=EndpointSpec(
        name=endpoint,
        target=EndpointTarget(worker=EndpointTarget.Worker(namespace=client.namespace, task_queue=queue)),
    )))
    workflow_id = f"nexus-caller-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[NexusCaller], nexus_service_handlers=[GreeterHandler()]):
        assert await client.execute_workflow(NexusCaller.run, endpoint, id=workflow_id, task_queue=queue) == (
            "hello nexus")
    spans = exporter.get_finished_spans()
    trace_ids = {s.context.trace_id for s in spans if (s.attributes or {}).get("temporal.workflow_id") == workflow_id}
    assert len(trace_ids) == 1
    assert span_tree([s for s in spans if s.context.trace_id in trace_ids]) == [
        "StartWorkflow:NexusCaller",
        "  RunWorkflow:NexusCaller",
        "    StartNexusOperation:Greeter/greet",
        "      RunStartNexusOperationHandler:Greeter/greet",
    ]
    start = next(s for s in spans if s.name == "StartNexusOperation:Greeter/greet")
    handler = next(s for s in spans if s.name == "RunStartNexusOperationHandler:Greeter/greet")
    assert start.attributes["temporal.nexus.endpoint"] == endpoint
    assert handler.attributes["temporal.nexus.operation"] == "greet"
    # the caller's span lasts until the result: it contains the handler's span
    assert start.start_time <= handler.start_time and handler.end_time <= start.end_time
