"""LensInterceptor: spans and structured logs for Temporal clients, activities and workflows.

The root interceptor and one small class per hook, as `temporalio.contrib.opentelemetry` is built; the workflow
side is in `_workflow`. These modules use public OpenTelemetry and Temporal APIs only. Where speed or a missing hook
needs SDK internals, they call a named function of a shortcut module: `_handoff` (finished spans straight to the
SDK's processors, deferred activity spans, through `SpanTools`), `_headers` (one-span trace headers by hand, through
`SpanTools`) and `_sdk_hooks` (the workflow loop's timers, a Nexus operation's result, structlog's cached logger).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import structlog
import temporalio.activity
import temporalio.client
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from temporal_lens import keys
from temporal_lens.interceptors._attempts import CANCELED, COMPLETED, FAILED, AttemptEnd, HeartbeatClock, attempt_end
from temporal_lens.interceptors._sdk_hooks import LifecycleLogger
from temporal_lens.interceptors._tracing import (
    LOGGER_NAME,
    PROPAGATOR,
    SpanTools,
    error_message,
    error_type,
    is_benign,
    report_once,
)
from temporal_lens.interceptors._workflow import LensWorkflowInbound
from temporal_lens.interceptors.logs import get_logger


class LensInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Client and worker interceptor emitting OpenTelemetry spans and structlog records joined to history.

    Pass it to `Client.connect(interceptors=[...])` (it then applies to workers made from that client too), or use
    `LensPlugin`, which also sets the sandbox pass-through it needs.

    Args:
        tracer_provider: provider for our tracer; default the global one (`configure_telemetry()` sets it).
        log_lifecycle: write a log record when a workflow or activity starts, completes or fails.
        record_payloads: put workflow/activity arguments and results on spans. Off by default: payloads carry
            customer data. When on, every value goes through `redact` first and is cut to `max_payload_bytes`.
        redact: `redact(kind, value) -> value`, kind one of "workflow.args", "workflow.result", "activity.args",
            "activity.result"; return a cleaned copy. If it raises, the value is not recorded.
        max_payload_bytes: size cap of one recorded payload (JSON text).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        log_lifecycle: bool = True,
        record_payloads: bool = False,
        redact: Callable[[str, Any], Any] | None = None,
        max_payload_bytes: int = 2048,
    ) -> None:
        if max_payload_bytes < 16:
            raise ValueError(f"max_payload_bytes must be at least 16, got {max_payload_bytes}")
        if redact is not None and not callable(redact):
            raise ValueError("redact must be callable: redact(kind, value) -> value")
        self.spans = SpanTools(tracer_provider)
        self.log_lifecycle = log_lifecycle
        self.record_payloads = record_payloads
        self.redact = redact
        self.max_payload_bytes = max_payload_bytes
        self.log = get_logger(LOGGER_NAME)
        self._lifecycle_log = LifecycleLogger(structlog.get_logger(LOGGER_NAME))
        self._workflow_class: type[LensWorkflowInbound] | None = None

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _LensClientOutbound(next, self)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _LensActivityInbound(next, self)

    def intercept_nexus_operation(
        self, next: temporalio.worker.NexusOperationInboundInterceptor
    ) -> temporalio.worker.NexusOperationInboundInterceptor:
        return _LensNexusInbound(next, self)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        if self._workflow_class is None:
            # The worker instantiates the class itself, so the root travels as a class attribute.
            self._workflow_class = type("LensWorkflowInbound", (LensWorkflowInbound,), {"root": self})
        return self._workflow_class

    def payload_attributes(self, kind: str, value: Any) -> dict[str, str]:
        """`{"temporal.<kind>": json}` when payload recording is on and the value survived redaction, else {}."""
        if not self.record_payloads:
            return {}
        try:
            if self.redact is not None:
                value = self.redact(kind, value)
            text = json.dumps(value, default=_jsonable, ensure_ascii=False)
        except Exception as err:
            report_once(f"payload {kind}", err)
            return {}
        encoded = text.encode()
        if len(encoded) > self.max_payload_bytes:
            cut = encoded[: self.max_payload_bytes].decode(errors="ignore")
            text = f"{cut}…(truncated {len(encoded) - len(cut.encode())} bytes)"
        return {f"temporal.{kind}": text}

    def lifecycle(self, event: str, **fields: Any) -> None:
        if not self.log_lifecycle:
            return
        try:  # the raw logger: this try is the safety net
            self._lifecycle_log.info(event, **fields)
        except Exception as err:
            report_once("log", err)


# --- client ---------------------------------------------------------------------------------------------------


class _LensClientOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, root: LensInterceptor) -> None:
        super().__init__(next)
        self.root = root

    @contextlib.contextmanager
    def _span(self, name: str, input: Any, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
        tools = self.root.spans
        span = tools.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        with trace.use_span(span, end_on_exit=False):
            if hasattr(input, "headers"):
                input.headers = tools.inject(input.headers)
            try:
                yield span
            except BaseException as err:
                tools.end_span(span, err)
                raise
        tools.end_span(span)

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        prefix = "SignalWithStartWorkflow" if input.start_signal else "StartWorkflow"
        attributes = {keys.WORKFLOW_ID: input.id, keys.WORKFLOW_TYPE: input.workflow, keys.TASK_QUEUE: input.task_queue,
                      **self.root.payload_attributes("workflow.args", list(input.args))}
        with self._span(f"{prefix}:{input.workflow}", input, attributes) as span:
            handle = await super().start_workflow(input)
            with contextlib.suppress(Exception):
                span.set_attribute(keys.RUN_ID, handle.result_run_id or "")
            return handle

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        with self._span(f"SignalWorkflow:{input.signal}", input, {keys.WORKFLOW_ID: input.id}):
            return await super().signal_workflow(input)

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        with self._span(f"QueryWorkflow:{input.query}", input, {keys.WORKFLOW_ID: input.id}):
            return await super().query_workflow(input)

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        with self._span(f"StartWorkflowUpdate:{input.update}", input, {keys.WORKFLOW_ID: input.id}):
            return await super().start_workflow_update(input)

    async def cancel_workflow(self, input: temporalio.client.CancelWorkflowInput) -> None:
        with self._span("CancelWorkflow", input, {keys.WORKFLOW_ID: input.id, keys.RUN_ID: input.run_id}):
            return await super().cancel_workflow(input)

    async def terminate_workflow(self, input: temporalio.client.TerminateWorkflowInput) -> None:
        with self._span("TerminateWorkflow", input, {keys.WORKFLOW_ID: input.id, keys.RUN_ID: input.run_id}):
            return await super().terminate_workflow(input)


# --- activities -----------------------------------------------------------------------------------------------


class _LensActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    """One per attempt (the worker builds the chain for each)."""

    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, root: LensInterceptor) -> None:
        super().__init__(next)
        self.root = root
        self.clock: HeartbeatClock | None = None

    def init(self, outbound: temporalio.worker.ActivityOutboundInterceptor) -> None:
        heartbeat_timeout = outbound.info().heartbeat_timeout
        self.clock = HeartbeatClock(heartbeat_timeout.total_seconds() if heartbeat_timeout else None)
        if heartbeat_timeout:  # only then can a silence end the attempt
            outbound = _LensActivityOutbound(outbound, self.clock)
        super().init(outbound)

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        tools = self.root.spans
        queue_wait_ms = max(0.0, (info.started_time - info.current_attempt_scheduled_time).total_seconds() * 1000)
        attributes = {
            keys.WORKFLOW_ID: info.workflow_id,
            keys.RUN_ID: info.workflow_run_id,
            keys.WORKFLOW_TYPE: info.workflow_type,
            keys.ACTIVITY_ID: info.activity_id,
            keys.ACTIVITY_TYPE: info.activity_type,
            keys.ATTEMPT: info.attempt,
            keys.TASK_QUEUE: info.task_queue,
            keys.SCHEDULE_TO_START_MS: round(queue_wait_ms, 3),
            **self.root.payload_attributes("activity.args", list(input.args)),
        }
        if info.is_local:
            attributes["temporal.local_activity"] = True
        span = tools.start_deferred(
            f"RunActivity:{info.activity_type}",
            kind=SpanKind.SERVER,
            attributes=attributes,
            context=tools.extract(input.headers),
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            self.root.lifecycle("activity started", schedule_to_start_ms=round(queue_wait_ms, 3))
            started = time.perf_counter()
            try:
                result = await super().execute_activity(input)
            except BaseException as err:
                self._ended(span, err, info, started)
                raise
            tools.annotate(span, keys.OUTCOME, COMPLETED)
            for key, value in self.root.payload_attributes("activity.result", result).items():
                tools.annotate(span, key, value)
            self.root.lifecycle("activity completed", duration_ms=_ms_since(started))
        finally:
            otel_context.detach(token)
        tools.end_span(span)
        return result

    def _ended(self, span: trace.Span, err: BaseException, info: temporalio.activity.Info, started: float) -> None:
        """Span attributes and the log record of an attempt that raised: failed, timed out or canceled."""
        tools = self.root.spans
        try:
            end = attempt_end(err, info, self.clock)
        except Exception as failure:
            report_once("attempt end", failure)
            end = AttemptEnd(FAILED)
        tools.annotate(span, keys.OUTCOME, end.outcome)
        fields: dict[str, Any] = {}
        if end.timeout_type is not None:
            tools.annotate(span, keys.TIMEOUT_TYPE, end.timeout_type)
            fields["timeout_type"] = end.timeout_type
        if end.outcome == CANCELED:
            if end.cancel_reason is not None:
                tools.annotate(span, keys.CANCEL_REASON, end.cancel_reason)
            fields["cancel_reason"] = end.cancel_reason
        self.root.lifecycle(
            f"activity {end.outcome.replace('_', ' ')}",
            error=error_message(err),
            error_type=error_type(err),
            benign=is_benign(err),
            duration_ms=_ms_since(started),
            **fields,
        )
        tools.end_span(span, err)


class _LensActivityOutbound(temporalio.worker.ActivityOutboundInterceptor):
    """Notes each heartbeat's time: which timeout ended an attempt is told from them."""

    def __init__(self, next: temporalio.worker.ActivityOutboundInterceptor, clock: HeartbeatClock) -> None:
        super().__init__(next)
        self.clock = clock

    def heartbeat(self, *details: Any) -> None:
        self.clock.beat()
        super().heartbeat(*details)


# --- Nexus operation handlers -----------------------------------------------------------------------------------


class _LensNexusInbound(temporalio.worker.NexusOperationInboundInterceptor):
    """A span per Nexus handler call, child of the caller's StartNexusOperation span (its context arrives in the
    operation's string headers, as `temporalio.contrib.opentelemetry` sends and reads it)."""

    def __init__(self, next: temporalio.worker.NexusOperationInboundInterceptor, root: LensInterceptor) -> None:
        super().__init__(next)
        self.root = root

    async def execute_nexus_operation_start(self, input: temporalio.worker.ExecuteNexusOperationStartInput) -> Any:
        ctx = input.ctx
        return await self._traced(f"RunStartNexusOperationHandler:{ctx.service}/{ctx.operation}", ctx,
                                  self.next.execute_nexus_operation_start(input))

    async def execute_nexus_operation_cancel(self, input: temporalio.worker.ExecuteNexusOperationCancelInput) -> None:
        ctx = input.ctx
        await self._traced(f"RunCancelNexusOperationHandler:{ctx.service}/{ctx.operation}", ctx,
                           self.next.execute_nexus_operation_cancel(input))

    async def _traced(self, name: str, ctx: Any, call: Awaitable[Any]) -> Any:
        tools = self.root.spans
        try:
            parent = PROPAGATOR.extract(dict(ctx.headers or {}))
        except Exception as err:
            report_once("nexus extract", err)
            parent = None
        span = tools.start_span(name, kind=SpanKind.SERVER, context=parent, attributes={
            keys.NEXUS_SERVICE: ctx.service, keys.NEXUS_OPERATION: ctx.operation,
            "temporal.nexus.request_id": getattr(ctx, "request_id", None)})
        with trace.use_span(span, end_on_exit=False):
            try:
                result = await call
            except BaseException as err:
                tools.end_span(span, err)
                raise
        tools.end_span(span)
        return result


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
