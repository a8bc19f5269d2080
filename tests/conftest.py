"""Shared fixtures: one real Temporal dev server per test session, on free ports in a temp dir."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, settings
from temporalio.client import Client

from temporal_lens.interceptors import structlog_processors
from temporal_lens.stack import DevServer

HYPOTHESIS_PROFILE_ENV = "TEMPORAL_LENS_HYPOTHESIS_PROFILE"
"""Names the Hypothesis profile to run: `full` (the default, what `make test` runs) or `fast` (`make test-fast`)."""

# Every property keeps running in both; the fast part only tries fewer random inputs per property (explicit
# @example cases always run). Module-scoped fixtures are shared across examples, hence the health check.
settings.register_profile(
    "full", max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile("fast", settings.get_profile("full"), max_examples=15)
settings.load_profile(os.environ.get(HYPOTHESIS_PROFILE_ENV, "full"))

_MARKS_OF_FIXTURE = {"dev_server": ("server",), "client": ("server",), "study_run": ("server", "study")}
"""The markers a test needs because it asks, even through another fixture, for one of these."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks follow from what a test uses, so one that needs the server never runs in `-m "not server"`.

    Modules mark their tests themselves; this catches a test whose module does not (yet), and makes every
    study test a server test.
    """
    for item in items:
        needed = {mark for name in item.fixturenames for mark in _MARKS_OF_FIXTURE.get(name, ())}
        if item.get_closest_marker("study"):
            needed.add("server")
        for mark in sorted(needed - {m.name for m in item.iter_markers()}):
            item.add_marker(mark)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = DevServer(tmp_path_factory.mktemp("temporal"), headless=True)
    with server:
        yield server


@pytest.fixture(scope="session")
async def client(dev_server: DevServer) -> AsyncIterator[Client]:
    yield await Client.connect(dev_server.address, namespace=dev_server.namespace)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """structlog configured with our processors, rendering JSON lines into the stream this yields."""
    stream = io.StringIO()
    structlog.configure(
        processors=[*structlog_processors("tests"), structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    yield stream
    structlog.reset_defaults()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


def run_study(runs: Path, *args: str) -> tuple[Path, str]:
    """`temporal-lens study` as a user runs it (a subprocess); returns the run folder and what it printed."""
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "study", "--headless", "--runs-dir", str(runs), *args],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (run_dir,) = list(runs.iterdir())
    return run_dir, completed.stdout


@pytest.fixture(scope="session")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One full study with every scenario kind once (one unit of each hard case), shared by the tests that read its
    database."""
    from temporal_lens.sample_app.scenario import SCENARIOS

    return run_study(tmp_path_factory.mktemp("runs"), "--orders", str(len(SCENARIOS)), "--cases", "1")
