"""The sample app's three services as worker processes the study starts and stops."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporal_lens.interrupts import signals_deferred
from temporal_lens.stack import describe_exit

SERVICES = ("orders", "payments", "shipping")
_EXCEPTION_LINES = 2
"""A dying exception's message may run over a line or two after its type; more output after it is other output."""
_LOG_RECORD = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|\{|\d{4}-\d\d-\d\d")
"""The start of a log record (logging's default format, JSON, a timestamp): the process went on after the traceback."""


class ServiceError(RuntimeError):
    """A service process died."""


@dataclass
class ServiceProcesses:
    """Starts `python -m temporal_lens.sample_app.<service>` for each service; stops them with SIGTERM.

    SIGTERM lets each worker finish its current tasks and flush its spans before it exits.
    """

    address: str
    namespace: str
    otlp_endpoint: str
    run_dir: Path
    fault_plan: Path
    codec_key: Path | None = None
    services: tuple[str, ...] = SERVICES
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _restarting: set[str] = field(default_factory=set)

    def log_path(self, service: str) -> Path:
        return self.run_dir / "logs" / f"{service}.jsonl"

    def output_path(self, service: str) -> Path:
        return self.run_dir / "logs" / f"{service}.out"

    def start(self) -> ServiceProcesses:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        for service in self.services:
            self._start_one(service)
        return self

    def _start_one(self, service: str) -> None:
        command = [
            sys.executable, "-m", f"temporal_lens.sample_app.{service}",
            "--address", self.address,
            "--namespace", self.namespace,
            "--otlp-endpoint", self.otlp_endpoint,
            "--log-path", str(self.log_path(service)),
            "--faults", str(self.fault_plan),
        ]
        if service == "orders":
            command += ["--app-db", str(self.run_dir / "app_orders.sqlite")]
        if self.codec_key is not None:
            command += ["--codec-key", str(self.codec_key)]
        # a stop signal waits until the process is recorded, so that stopping the services stops it too
        with open(self.output_path(service), "ab") as out, signals_deferred():
            self.processes[service] = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ.copy()
            )

    def crash_and_restart(self, service: str) -> tuple[datetime, datetime]:
        """SIGKILL the service's process (no shutdown, no flush: a real crash), then start it again."""
        process = self.processes[service]
        self._restarting.add(service)
        process.kill()
        killed_at = datetime.now(UTC)
        process.wait()
        self._start_one(service)
        self._restarting.discard(service)
        return killed_at, datetime.now(UTC)

    def check_alive(self) -> None:
        """Raise ServiceError for a service that exited outside the plan: one line naming it, how it ended and where
        its output is, then the end of that output when it explains the exit (the traceback it died with)."""
        for service, process in list(self.processes.items()):
            if service not in self._restarting and process.poll() is not None:
                output = self.output_path(service)
                cause = _exit_cause(output.read_text(errors="replace")) if process.returncode > 0 else []
                raise ServiceError(
                    f"the {service} service (pid {process.pid}) {describe_exit(process.returncode)} outside the "
                    f"study's plan; the other processes were stopped and what was collected is kept; see {output}, "
                    "then run the study again"
                    + "".join(f"\n  {line}" for line in cause)
                )

    def stop(self, timeout: float = 30.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def __enter__(self) -> ServiceProcesses:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _exit_cause(output: str, most: int = 15) -> list[str]:
    """The lines of a dead process's output that say why it exited: the traceback it ended with.

    A worker's output also holds ordinary tracebacks (an activity's failed attempt, logged as a warning); only one
    the output ends with is the cause. Without such a traceback, nothing: the output is in the file named.
    """
    lines = output.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return []
    block = lines[starts[-1]:]
    # the exception line is the first unindented one after the frames; a traceback followed by more output is
    # one the process logged and lived on after
    ends = [i for i, line in enumerate(block) if i and line and not line[0].isspace()]
    if not ends:
        return []
    after = block[ends[0] + 1:]
    if len(after) > _EXCEPTION_LINES or any(_LOG_RECORD.match(line) for line in after):
        return []
    return block[-most:]

