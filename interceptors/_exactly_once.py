"""Exactly once: workflow-side spans and records are handed over only after the workflow task that made them
completed, and never twice for one run on one worker.

A workflow task can fail after handlers ran (an exception that is not a workflow failure, a command the server
rejects); Temporal then retries it and the handlers run again. A worker without a cached run also re-runs a run's
code from its start, and the SDK may then not call it a replay (temporalio 1.35: with `max_cached_workflows=0`, an
update arriving in the run's second task re-runs the first task's code with `is_replaying()` False). So:

- `ExactlyOnceRunner` wraps the worker's workflow runner. Each run instance gets a `Batch`; while the instance
  handles an activation, the batch is this thread's current one and the interceptors add to it what they finish.
- A batch is handed over when the next activation of its instance begins (the previous one completed: had it
  failed, the worker would have evicted the instance instead), or when an eviction arrives whose reason is not a
  failure (the run ended, the cache was full, the worker asked); it is dropped on a failure eviction. The run's
  last task is the exception: nothing follows it but the eviction, which may come after a reader already saw the
  run closed, so its batch is handed over as soon as the workflow returns the command that ends the run. If the
  server rejects that command (a signal arrived meanwhile), the retried task's copies are dropped by key below:
  no id is exported twice, but the first copy stands.
- Each item has a key (a span's id, a record's event and identity); what was handed over for a run is remembered
  until the run ends, and an item whose key was handed over already is dropped: a re-run of completed work.

Without the runner (`LensInterceptor` alone in `interceptors=[...]`), there is no current batch and the interceptors
hand everything over at once, as before: every span is exported, but a failed workflow task can export some twice.
Items in a batch wait for the run's next activation; a run that waits long between tasks delivers its last task's
items late (at the latest when the worker evicts it, e.g. at shutdown).
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import structlog
import temporalio.bridge.proto.workflow_activation
import temporalio.bridge.proto.workflow_completion
import temporalio.converter
import temporalio.workflow
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner

from temporal_lens.interceptors._tracing import report_once

_Reason = temporalio.bridge.proto.workflow_activation.RemoveFromCache.EvictionReason
_FAILED_TASK = frozenset({_Reason.NONDETERMINISM, _Reason.LANG_FAIL, _Reason.UNHANDLED_COMMAND, _Reason.FATAL,
                          _Reason.TASK_NOT_FOUND})
"""Eviction reasons that mean the instance's last workflow task did not complete."""
_REMEMBERED_RUNS = 10_000
"""Runs whose handed-over keys are kept (least recently active dropped first): bounds memory on a busy worker."""

_current = threading.local()


class Batch:
    """What one run instance finished and has not handed over yet."""

    __slots__ = ("_delivered", "_items", "_seen")

    def __init__(self, delivered: set[Hashable]) -> None:
        self._items: list[tuple[Hashable, Callable[[], None]]] = []
        self._delivered = delivered
        self._seen: collections.Counter[Hashable] = collections.Counter()

    def occurrence(self, key: Hashable) -> int:
        """How many times this instance met `key` before (replays included): tells apart records that are
        otherwise alike, the same way in every instance that runs the same code."""
        count = self._seen[key]
        self._seen[key] = count + 1
        return count

    def add(self, key: Hashable, deliver: Callable[[], None]) -> None:
        self._items.append((key, deliver))

    def hand_over(self) -> None:
        items, self._items = self._items, []
        for key, deliver in items:
            if key in self._delivered:
                continue
            self._delivered.add(key)
            try:
                deliver()
            except Exception as err:
                report_once("hand over", err)

    def drop(self) -> None:
        self._items = []


def current_batch() -> Batch | None:
    """The batch of the run instance whose activation runs on this thread, if the runner is `ExactlyOnceRunner`."""
    return getattr(_current, "batch", None)


class ExactlyOnceRunner(WorkflowRunner):
    """A workflow runner that runs `inner`'s instances and hands their telemetry over once their tasks complete."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self.inner = inner
        self._delivered: collections.OrderedDict[str, set[Hashable]] = collections.OrderedDict()
        self._lock = threading.Lock()  # activations of different runs run on different threads

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Instance(self.inner.create_instance(det), self, det.info.run_id)

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self.inner.set_worker_level_failure_exception_types(types)

    def delivered(self, run_id: str) -> set[Hashable]:
        with self._lock:
            keys = self._delivered.get(run_id)
            if keys is None:
                keys = self._delivered[run_id] = set()
                while len(self._delivered) > _REMEMBERED_RUNS:
                    self._delivered.popitem(last=False)
            else:
                self._delivered.move_to_end(run_id)
            return keys

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._delivered.pop(run_id, None)


class _Instance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, runner: ExactlyOnceRunner, run_id: str) -> None:
        self.inner = inner
        self._runner = runner
        self._run_id = run_id
        self._batch = Batch(runner.delivered(run_id))

    def activate(
        self, act: temporalio.bridge.proto.workflow_activation.WorkflowActivation
    ) -> temporalio.bridge.proto.workflow_completion.WorkflowActivationCompletion:
        eviction = next((job.remove_from_cache for job in act.jobs if job.HasField("remove_from_cache")), None)
        if eviction is not None and eviction.reason in _FAILED_TASK:
            self._batch.drop()
        else:
            self._batch.hand_over()
        if eviction is not None and eviction.reason == _Reason.WORKFLOW_EXECUTION_ENDING:
            self._runner.forget(self._run_id)
        previous = getattr(_current, "batch", None)
        _current.batch = self._batch
        try:
            completion = self.inner.activate(act)
        finally:
            _current.batch = previous
        if _ends_run(completion):
            self._batch.hand_over()
        return completion

    def get_info(self) -> temporalio.workflow.Info:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()

    def get_serialization_context(self, command_info: Any) -> temporalio.converter.SerializationContext | None:
        return self.inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self.inner.get_external_store_context(command_info)


_TERMINAL_COMMANDS = ("complete_workflow_execution", "fail_workflow_execution", "cancel_workflow_execution",
                      "continue_as_new_workflow_execution")


def _ends_run(completion: temporalio.bridge.proto.workflow_completion.WorkflowActivationCompletion) -> bool:
    """Whether this completion ends the run (its last workflow task: nothing follows to confirm it)."""
    if not completion.HasField("successful"):
        return False
    return any(command.WhichOneof("variant") in _TERMINAL_COMMANDS for command in completion.successful.commands)


_WRITE_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg",
                            "log"})


class _DeferredWrites:
    """Stands in for the logger at the end of structlog's chain: the chain runs now (timestamp, context), the
    rendered record is written when the batch is handed over."""

    def __init__(self, logger: Any) -> None:
        self._logger = logger
        self.writes: list[Callable[[], None]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._logger, name)
        if name not in _WRITE_METHODS or not callable(attribute):
            return attribute  # processors may ask the logger things (stdlib's level, name)

        def write(*args: Any, **kwargs: Any) -> None:
            self.writes.append(functools.partial(attribute, *args, **kwargs))

        return write


class _Renderers(threading.local):
    """Per thread (workflow activations run on several), a logger built on structlog's current configuration."""

    sources: tuple[Any, ...] = ()
    target: _DeferredWrites
    logger: Any


_renderers = _Renderers()


def rendered_record(logger_name: str | None, event: str, fields: dict[str, Any], method: str = "info",
                    ) -> Callable[[], None]:
    """Run structlog's configured chain on a record now; returns what writes it."""
    config = structlog.get_config()
    sources = (config["processors"], config["logger_factory"], config["wrapper_class"], config["context_class"],
               logger_name)
    renderer = _renderers
    if len(renderer.sources) != len(sources) or any(a is not b for a, b in zip(renderer.sources, sources,
                                                                                strict=True)):
        factory_args = () if logger_name is None else (logger_name,)
        renderer.target = _DeferredWrites(config["logger_factory"](*factory_args))
        renderer.logger = structlog.wrap_logger(renderer.target, processors=config["processors"],
                                                wrapper_class=config["wrapper_class"],
                                                context_class=config["context_class"],
                                                cache_logger_on_first_use=False).bind()
        renderer.sources = sources
    target = renderer.target
    target.writes = writes = []
    getattr(renderer.logger, method)(event, **fields)
    target.writes = []

    def write() -> None:
        for each in writes:
            each()

    return write
