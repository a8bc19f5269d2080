"""LensPlugin: the interceptor plus the workflow-sandbox settings it needs, as one Temporal plugin."""

from __future__ import annotations

import dataclasses

from opentelemetry import trace
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from temporal_lens.interceptors._exactly_once import ExactlyOnceRunner
from temporal_lens.interceptors._interceptor import LensInterceptor

PASSTHROUGH_MODULES = ("opentelemetry", "structlog", "temporal_lens")
"""Modules the sandbox shares with the worker instead of re-importing them for every workflow run."""


def with_passthrough(runner: WorkflowRunner | None) -> WorkflowRunner:
    """`runner` (default: the sandbox) with our telemetry modules passed through."""
    if isinstance(runner, ExactlyOnceRunner):
        return ExactlyOnceRunner(with_passthrough(runner.inner))
    runner = runner or SandboxedWorkflowRunner()
    if isinstance(runner, SandboxedWorkflowRunner):
        return dataclasses.replace(
            runner, restrictions=runner.restrictions.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
    return runner


def lens_runner(runner: WorkflowRunner | None) -> WorkflowRunner:
    """`with_passthrough(runner)` that also hands workflow-side spans and records over exactly once, after the
    workflow task that made them completed (see `ExactlyOnceRunner`)."""
    passed = with_passthrough(runner)
    return passed if isinstance(passed, ExactlyOnceRunner) else ExactlyOnceRunner(passed)


class LensPlugin(SimplePlugin):
    """`Client.connect(..., plugins=[LensPlugin()])`: spans and joined logs for the client and its workers.

    Its workers' workflow runner is `lens_runner(...)`: workflow-side spans and records are handed over once the
    workflow task that made them completed, and once only.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        log_lifecycle: bool = True,
    ) -> None:
        self.interceptor = LensInterceptor(tracer_provider=tracer_provider, log_lifecycle=log_lifecycle)
        super().__init__("temporal_lens.LensPlugin", interceptors=[self.interceptor], workflow_runner=lens_runner)
