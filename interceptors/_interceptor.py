"""LensInterceptor: spans and structured logs for Temporal clients, activities and workflows.

Workflow-side spans are values, not live objects: each gets an id derived from the run id and a per-run sequence
number, a start time from `workflow.time_ns()`, and is built and exported only when it ends, and only if that end
is not a replay. A replay recomputes the same ids and times, so spans are never duplicated, always carry their real
duration, and each one is exported as soon as its step completes.

This module uses public OpenTelemetry and Temporal APIs only. Where speed or a missing hook needs SDK internals, it
calls a named function of a shortcut module: `_handoff` (finished spans straight to the SDK's processors, deferred
activity spans, through `SpanTools`), `_headers` (one-span trace headers by hand, through `SpanTools`) and
`_sdk_hooks` (the workflow loop's timers, a Nexus operation's result, structlog's cached logger).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, NoReturn

import structlog
import temporalio.activity
import temporalio.client
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind

from temporal_lens import keys
from temporal_lens.interceptors._ids import workflow_span_id, workflow_trace_id
from temporal_lens.interceptors._sdk_hooks import LifecycleLogger, nexus_result, observe_timers
from temporal_lens.interceptors._tracing import (
    PROPAGATOR,
    SpanTools,
    error_message,
    is_benign,
    report_once,
    span_context,
)
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
        self.log = get_logger("temporal_lens")
        self._lifecycle_log = LifecycleLogger(structlog.get_logger("temporal_lens"))
        self._workflow_class: type[_LensWorkflowInbound] | None = None

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
            self._workflow_class = type("LensWorkflowInbound", (_LensWorkflowInbound,), {"root": self})
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
    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, root: LensInterceptor) -> None:
        super().__init__(next)
        self.root = root

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
                outcome = "canceled" if isinstance(err, asyncio.CancelledError) else "failed"
                tools.annotate(span, keys.OUTCOME, outcome)
                self.root.lifecycle(
                    f"activity {outcome}",
                    error=error_message(err),
                    error_type=_error_type(err),
                    benign=is_benign(err),
                    duration_ms=_ms_since(started),
                )
                tools.end_span(span, err)
                raise
            tools.annotate(span, keys.OUTCOME, "completed")
            for key, value in self.root.payload_attributes("activity.result", result).items():
                tools.annotate(span, key, value)
            self.root.lifecycle("activity completed", duration_ms=_ms_since(started))
        finally:
            otel_context.detach(token)
        tools.end_span(span)
        return result


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


_QUEUE_ONLY = contextlib.nullcontext()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _error_type(err: BaseException) -> str:
    if isinstance(err, temporalio.exceptions.ApplicationError) and err.type:
        return err.type
    return type(err).__name__


# --- workflows ------------------------------------------------------------------------------------------------


class _LensWorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    """One instance per workflow run (re-created when the run is replayed from scratch)."""

    root: ClassVar[LensInterceptor]

    def __init__(self, next: temporalio.worker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._sequence = 0
        self._trace_id = 0
        self._run_span: SpanContext | None = None
        self._parent: SpanContext | None = None
        self._run_keys: dict[str, Any] | None = None

    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_LensWorkflowOutbound(outbound, self))

    # Identity of the run's spans -----------------------------------------------------------------------------

    def ensure_run_span(self, headers: Mapping[str, Any]) -> SpanContext:
        if self._run_span is not None:
            return self._run_span
        info = temporalio.workflow.info()
        parent = None
        extracted = self.root.spans.extract(headers)  # pure parsing: nothing the sandbox restricts
        if extracted is not None:
            candidate = trace.get_current_span(extracted).get_span_context()
            parent = candidate if candidate.is_valid else None
        self._parent = parent
        self._trace_id = parent.trace_id if parent else workflow_trace_id(info.workflow_id, info.run_id)
        self._run_span = span_context(self._trace_id, workflow_span_id(info.run_id, 0))
        return self._run_span

    def next_span(self) -> SpanContext:
        """A new deterministic span identity; call only from deterministic workflow code (not queries)."""
        self._sequence += 1
        return span_context(self._trace_id, workflow_span_id(temporalio.workflow.info().run_id, self._sequence))

    def emit(
        self,
        name: str,
        identity: SpanContext,
        *,
        parent: SpanContext | None,
        start_ns: int,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        error: BaseException | None = None,
        links: Sequence[SpanContext] = (),
    ) -> None:
        """Export a workflow-side span that ends now, unless this moment is a replay of history."""
        try:
            if temporalio.workflow.unsafe.is_replaying_history_events():
                return
            info = temporalio.workflow.info()
            end_ns = temporalio.workflow.time_ns()
            if self._run_keys is None:  # the same for every span of this run (the namespace is on the run's)
                self._run_keys = {
                    keys.WORKFLOW_ID: info.workflow_id,
                    keys.RUN_ID: info.run_id,
                    keys.WORKFLOW_TYPE: info.workflow_type,
                    keys.TASK_QUEUE: info.task_queue,
                }
            merged = {**self._run_keys, keys.EVENT_ID: info.get_current_history_length()}
            if attributes:  # a None value leaves the run's key in place (an activity on the run's own task queue)
                merged.update((key, value) for key, value in attributes.items() if value is not None)
            tools = self.root.spans
            # Span processors may do anything (a synchronous exporter does I/O): outside the sandbox's
            # restrictions, unless they only queue the span (the SDK's batch processor).
            with _QUEUE_ONLY if tools.queues_only() else temporalio.workflow.unsafe.sandbox_unrestricted():
                tools.emit_completed(
                    name,
                    trace_id=identity.trace_id,
                    span_id=identity.span_id,
                    parent=parent,
                    start_ns=start_ns,
                    end_ns=end_ns,
                    kind=kind,
                    attributes=merged,
                    error=error,
                    links=links,
                )
        except Exception as err:
            report_once("workflow span", err)

    def lifecycle(self, event: str, **fields: Any) -> None:
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            self.root.lifecycle(event, **fields)

    def _payloads(self, kind: str, value: Any) -> dict[str, str]:
        if not self.root.record_payloads or temporalio.workflow.unsafe.is_replaying_history_events():
            return {}
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            return self.root.payload_attributes(kind, value)

    def _trace_timers(self) -> None:
        """Give every durable timer (asyncio.sleep, workflow.sleep, wait_condition timeouts) a span."""

        def timer_started(delay: float) -> tuple[Callable[[str], None], Callable[[str], None]]:
            identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
            parent = trace.get_current_span().get_span_context()
            ended = False

            def end(outcome: str, timer_id: str) -> None:
                nonlocal ended
                if not ended:
                    ended = True
                    self.emit("Timer", identity, parent=parent if parent.is_valid else self._run_span,
                              start_ns=start_ns, attributes={"temporal.timer_id": timer_id,
                              "temporal.timer_delay_ms": round(delay * 1000, 3), keys.OUTCOME: outcome})

            return (lambda timer_id: end("fired", timer_id)), (lambda timer_id: end("canceled", timer_id))

        observe_timers(asyncio.get_running_loop(), timer_started)

    @contextlib.contextmanager
    def _current(self, identity: SpanContext) -> Iterator[None]:
        """Make `identity` the current span so logs and outbound calls made under it carry it."""
        token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(identity)))
        try:
            yield
        finally:
            otel_context.detach(token)

    # Inbound calls -------------------------------------------------------------------------------------------

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        info = temporalio.workflow.info()
        run_span = self.ensure_run_span(input.headers)
        start_ns = int(info.workflow_start_time.timestamp() * 1_000_000_000)
        name = f"RunWorkflow:{info.workflow_type}"
        try:
            self._trace_timers()
        except Exception as err:
            report_once("timers", err)
        with self._current(run_span):
            self.lifecycle("workflow started")
            try:
                result = await super().execute_workflow(input)
            except temporalio.workflow.ContinueAsNewError:
                self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                          attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: "continued_as_new"})
                self.lifecycle("workflow continued as new")
                raise
            except (temporalio.exceptions.FailureError, asyncio.CancelledError) as err:
                outcome = "canceled" if _is_cancellation(err) else "failed"
                self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                          attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: outcome}, error=err)
                self.lifecycle(f"workflow {outcome}", error=error_message(err), error_type=_error_type(err))
                raise
            # Any other exception fails the workflow task, which Temporal retries: the run has not ended.
            self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                      attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: "completed",
                                  **self._payloads("workflow.result", result),
                                  **self._payloads("workflow.args", list(input.args))})
            self.lifecycle("workflow completed")
            return result

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        run_span = self.ensure_run_span(temporalio.workflow.info().headers)
        identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            links = self.root.spans.linked(input.headers)
        name = f"HandleSignal:{input.signal}"
        with self._current(identity):
            self.lifecycle("signal received", signal=input.signal)
            try:
                await super().handle_signal(input)
            except BaseException as err:
                self.emit(name, identity, parent=run_span, start_ns=start_ns, kind=SpanKind.SERVER, error=err,
                          links=links)
                raise
        self.emit(name, identity, parent=run_span, start_ns=start_ns, kind=SpanKind.SERVER, links=links)

    async def handle_query(self, input: temporalio.worker.HandleQueryInput) -> Any:
        # Queries are not part of history: no sequence number (that would shift later ids), a random span id.
        run_span = self.ensure_run_span(temporalio.workflow.info().headers)
        tools = self.root.spans
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            caller = tools.extract(input.headers)
            parent_context = caller if caller is not None else trace.set_span_in_context(NonRecordingSpan(run_span))
            span = tools.start_span(f"HandleQuery:{input.query}", kind=SpanKind.SERVER, context=parent_context,
                                    attributes={keys.WORKFLOW_ID: temporalio.workflow.info().workflow_id,
                                                keys.RUN_ID: temporalio.workflow.info().run_id})
        try:
            result = await super().handle_query(input)
        except BaseException as err:
            with temporalio.workflow.unsafe.sandbox_unrestricted():
                tools.end_span(span, err)
            raise
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            tools.end_span(span)
        return result

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        # Validators run again on replay and are not deterministic inputs to history: no sequence number either.
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        run_span = self.ensure_run_span(temporalio.workflow.info().headers)
        identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
        name = f"HandleUpdate:{input.update}"
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            links = self.root.spans.linked(input.headers)
        with self._current(identity):
            self.lifecycle("update received", update=input.update, update_id=input.id)
            try:
                result = await super().handle_update_handler(input)
            except BaseException as err:
                self.emit(name, identity, parent=run_span, start_ns=start_ns, kind=SpanKind.SERVER, error=err,
                          links=links)
                raise
        self.emit(name, identity, parent=run_span, start_ns=start_ns, kind=SpanKind.SERVER, links=links)
        return result


def _is_cancellation(err: BaseException) -> bool:
    if isinstance(err, asyncio.CancelledError | temporalio.exceptions.CancelledError):
        return True
    return isinstance(err.__cause__, temporalio.exceptions.CancelledError)


class _LensWorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def __init__(self, next: temporalio.worker.WorkflowOutboundInterceptor, inbound: _LensWorkflowInbound) -> None:
        super().__init__(next)
        self.inbound = inbound

    def _open(self) -> tuple[SpanContext, SpanContext, int]:
        """Identity, parent and start of an outbound span."""
        parent = trace.get_current_span().get_span_context()
        if not parent.is_valid:
            parent = self.inbound.ensure_run_span(temporalio.workflow.info().headers)
        return self.inbound.next_span(), parent, temporalio.workflow.time_ns()

    def _begin(self, headers: Mapping[str, Any]) -> tuple[SpanContext, SpanContext, int, Mapping[str, Any]]:
        """`_open`, plus the Temporal headers that carry the span to the callee."""
        identity, parent, start_ns = self._open()
        carried = self.inbound.root.spans.inject_span(headers, identity)  # pure encoding, like extract
        return identity, parent, start_ns, carried

    def _end_when_done(self, handle: asyncio.Future[Any], name: str, begun: tuple, attributes: dict) -> None:
        identity, parent, start_ns, _ = begun

        def done(future: asyncio.Future[Any]) -> None:
            error = None if future.cancelled() else future.exception()
            if future.cancelled():
                error = asyncio.CancelledError()
            self.inbound.emit(name, identity, parent=parent, start_ns=start_ns, kind=SpanKind.CLIENT,
                              attributes=attributes, error=error)

        handle.add_done_callback(done)

    def start_activity(self, input: temporalio.worker.StartActivityInput) -> temporalio.workflow.ActivityHandle[Any]:
        begun = self._begin(input.headers)
        input.headers = begun[3]
        handle = super().start_activity(input)
        self._end_when_done(handle, f"StartActivity:{input.activity}", begun,
                            {keys.ACTIVITY_TYPE: input.activity, keys.TASK_QUEUE: input.task_queue or None})
        return handle

    def start_local_activity(
        self, input: temporalio.worker.StartLocalActivityInput
    ) -> temporalio.workflow.ActivityHandle[Any]:
        begun = self._begin(input.headers)
        input.headers = begun[3]
        handle = super().start_local_activity(input)
        self._end_when_done(handle, f"StartLocalActivity:{input.activity}", begun,
                            {keys.ACTIVITY_TYPE: input.activity, "temporal.local_activity": True})
        return handle

    async def start_nexus_operation(
        self, input: temporalio.worker.StartNexusOperationInput[Any, Any]
    ) -> temporalio.workflow.NexusOperationHandle[Any]:
        identity, parent, start_ns = self._open()
        # Nexus headers are strings: the trace context goes in as its W3C text map, as the contrib sends it.
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            try:
                input.headers = {**(input.headers or {}), **self.inbound.root.spans.span_carrier(identity)}
            except Exception as err:
                report_once("nexus inject", err)
        begun = (identity, parent, start_ns, input.headers)
        handle = await super().start_nexus_operation(input)
        name = f"StartNexusOperation:{input.service}/{input.operation_name}"
        attributes = {keys.NEXUS_ENDPOINT: input.endpoint, keys.NEXUS_SERVICE: input.service,
                      keys.NEXUS_OPERATION: input.operation_name}
        # The span lasts until the operation's result, as StartActivity does; the SDK's handle keeps that in a
        # task of the workflow's loop. If a later SDK hides it, the span ends once the operation has started.
        outcome = nexus_result(handle)
        if outcome is not None:
            self._end_when_done(outcome, name, begun, attributes)
        else:
            self.inbound.emit(name, identity, parent=parent, start_ns=start_ns, kind=SpanKind.CLIENT,
                              attributes=attributes)
        return handle

    async def start_child_workflow(
        self, input: temporalio.worker.StartChildWorkflowInput
    ) -> temporalio.workflow.ChildWorkflowHandle[Any, Any]:
        identity, parent, start_ns, input.headers = self._begin(input.headers)
        handle = await super().start_child_workflow(input)
        self.inbound.emit(f"StartChildWorkflow:{input.workflow}", identity, parent=parent, start_ns=start_ns,
                          kind=SpanKind.CLIENT, attributes={"temporal.child_workflow_id": input.id})
        return handle

    async def signal_child_workflow(self, input: temporalio.worker.SignalChildWorkflowInput) -> None:
        identity, parent, start_ns, input.headers = self._begin(input.headers)
        await super().signal_child_workflow(input)
        self.inbound.emit(f"SignalChildWorkflow:{input.signal}", identity, parent=parent, start_ns=start_ns,
                          kind=SpanKind.CLIENT)

    async def signal_external_workflow(self, input: temporalio.worker.SignalExternalWorkflowInput) -> None:
        identity, parent, start_ns, input.headers = self._begin(input.headers)
        await super().signal_external_workflow(input)
        self.inbound.emit(f"SignalExternalWorkflow:{input.signal}", identity, parent=parent, start_ns=start_ns,
                          kind=SpanKind.CLIENT, attributes={"temporal.target_workflow_id": input.workflow_id})

    def continue_as_new(self, input: temporalio.worker.ContinueAsNewInput) -> NoReturn:
        # The next run continues this run's trace: its span becomes a child of this run's span.
        run_span = self.inbound.ensure_run_span(temporalio.workflow.info().headers)
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            input.headers = self.inbound.root.spans.inject_span(input.headers, run_span)
        super().continue_as_new(input)
