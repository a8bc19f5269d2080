"""Workflow-side interceptors: spans and lifecycle records of workflow runs, their handlers and outbound calls.

Workflow-side spans are values, not live objects: each gets an id derived from the run id and a per-run sequence
number, a start time from `workflow.time_ns()`, and is built and exported only when it ends, and only if that end
is not a replay. A replay recomputes the same ids and times, so spans are never duplicated and always carry their
real duration. Under `ExactlyOnceRunner` (LensPlugin's runner) spans and records wait in the run instance's batch
until the workflow task that made them has completed (`_exactly_once`); without it they are exported at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import temporalio.exceptions
import temporalio.worker
import temporalio.workflow
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind

from temporal_lens import keys
from temporal_lens.interceptors._exactly_once import current_batch, rendered_record
from temporal_lens.interceptors._ids import validation_span_id, workflow_span_id, workflow_trace_id
from temporal_lens.interceptors._sdk_hooks import nexus_result, observe_timers
from temporal_lens.interceptors._tracing import LOGGER_NAME, error_message, error_type, report_once, span_context

if TYPE_CHECKING:
    from temporal_lens.interceptors._interceptor import LensInterceptor

_QUEUE_ONLY = contextlib.nullcontext()


class LensWorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
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
        super().init(LensWorkflowOutbound(outbound, self))

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
            export = functools.partial(tools.emit_completed, name, trace_id=identity.trace_id,
                                       span_id=identity.span_id, parent=parent, start_ns=start_ns, end_ns=end_ns,
                                       kind=kind, attributes=merged, error=error, links=links)
            batch = current_batch()
            if batch is not None:  # handed over, outside the sandbox, once this workflow task has completed
                batch.add(("span", identity.span_id), export)
                return
            # Span processors may do anything (a synchronous exporter does I/O): outside the sandbox's
            # restrictions, unless they only queue the span (the SDK's batch processor).
            with _QUEUE_ONLY if tools.queues_only() else temporalio.workflow.unsafe.sandbox_unrestricted():
                export()
        except Exception as err:
            report_once("workflow span", err)

    def lifecycle(self, event: str, key: Hashable = None, **fields: Any) -> None:
        """A lifecycle record, unless this moment is a replay; `key` tells it apart from the run's other records
        of this event (handed over once per key, see `_exactly_once`)."""
        root = self.root
        if not root.log_lifecycle or temporalio.workflow.unsafe.is_replaying_history_events():
            return
        batch = current_batch()
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            if batch is None:
                root.lifecycle(event, **fields)
                return
            try:  # rendered now, in the workflow's context; written once the workflow task has completed
                batch.add(("record", event, key), rendered_record(LOGGER_NAME, event, fields))
            except Exception as err:
                report_once("log", err)

    def _payloads(self, kind: str, value: Any) -> dict[str, str]:
        if not self.root.record_payloads or temporalio.workflow.unsafe.is_replaying_history_events():
            return {}
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            return self.root.payload_attributes(kind, value)

    def _trace_timers(self) -> None:
        """Give every durable timer (asyncio.sleep, workflow.sleep, wait_condition timeouts) a span and records."""

        def timer_started(delay: float, timer_id: str) -> tuple[Callable[[], None], Callable[[], None]]:
            identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
            parent = trace.get_current_span().get_span_context()
            timer = {keys.TIMER_ID: timer_id, "temporal.timer_delay_ms": round(delay * 1000, 3)}
            with self._current(identity):
                self.lifecycle("timer started", timer_id, **timer)
            ended = False

            def end(outcome: str) -> None:
                nonlocal ended
                if not ended:
                    ended = True
                    self.emit("Timer", identity, parent=parent if parent.is_valid else self._run_span,
                              start_ns=start_ns, attributes={**timer, keys.OUTCOME: outcome})
                    with self._current(identity):
                        self.lifecycle(f"timer {outcome}", timer_id, **timer)

            return functools.partial(end, "fired"), functools.partial(end, "canceled")

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
            self.lifecycle("workflow started", "run",
                           **{keys.WORKFLOW_START_TIME: info.workflow_start_time.isoformat()})
            try:
                result = await super().execute_workflow(input)
            except temporalio.workflow.ContinueAsNewError:
                self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                          attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: "continued_as_new"})
                self.lifecycle("workflow continued as new", "run")
                raise
            except (temporalio.exceptions.FailureError, asyncio.CancelledError) as err:
                outcome = "canceled" if _is_cancellation(err) else "failed"
                self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                          attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: outcome}, error=err)
                self.lifecycle(f"workflow {outcome}", "run", error=error_message(err), error_type=error_type(err))
                raise
            # Any other exception fails the workflow task, which Temporal retries: the run has not ended.
            self.emit(name, run_span, parent=self._parent, start_ns=start_ns, kind=SpanKind.SERVER,
                      attributes={keys.NAMESPACE: info.namespace, keys.OUTCOME: "completed",
                                  **self._payloads("workflow.result", result),
                                  **self._payloads("workflow.args", list(input.args))})
            self.lifecycle("workflow completed", "run")
            return result

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        run_span = self.ensure_run_span(temporalio.workflow.info().headers)
        identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            links = self.root.spans.linked(input.headers)
        name = f"HandleSignal:{input.signal}"
        with self._current(identity):
            self.lifecycle("signal received", identity.span_id, signal=input.signal)
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
        try:
            super().handle_update_validator(input)
        except BaseException as err:
            try:
                self._rejected(input, err)
            except Exception as failure:
                report_once("update validation", failure)
            raise

    def _rejected(self, input: temporalio.worker.HandleUpdateInput, err: BaseException) -> None:
        """A span and a record of an update the validator rejected (an accepted one shows as HandleUpdate).

        Validators run again on replay and are not deterministic inputs to history: the span's id comes from the
        update id, not the run's sequence, and nothing is written during a replay."""
        if temporalio.workflow.unsafe.is_replaying_history_events():
            return
        info = temporalio.workflow.info()
        run_span = self.ensure_run_span(info.headers)
        identity = span_context(run_span.trace_id, validation_span_id(info.run_id, input.id))
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            links = self.root.spans.linked(input.headers)
        self.emit(f"ValidateUpdate:{input.update}", identity, parent=run_span, start_ns=temporalio.workflow.time_ns(),
                  kind=SpanKind.SERVER, attributes={"temporal.update_id": input.id}, error=err, links=links)
        with self._current(identity):
            self.lifecycle("update rejected", input.id, update=input.update, update_id=input.id,
                           error=error_message(err), error_type=error_type(err))

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        run_span = self.ensure_run_span(temporalio.workflow.info().headers)
        identity, start_ns = self.next_span(), temporalio.workflow.time_ns()
        name = f"HandleUpdate:{input.update}"
        with temporalio.workflow.unsafe.sandbox_unrestricted():
            links = self.root.spans.linked(input.headers)
        with self._current(identity):
            self.lifecycle("update received", input.id, update=input.update, update_id=input.id)
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


class LensWorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def __init__(self, next: temporalio.worker.WorkflowOutboundInterceptor, inbound: LensWorkflowInbound) -> None:
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
