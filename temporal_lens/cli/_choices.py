"""The choices and defaults `--help` names, without importing the parts that own them.

Typer reads option help and defaults when the app is built, so these must be at hand before any command runs; the
owning packages (analysis, sample_app, collectors) pull in temporalio, duckdb and pyarrow, which would cost every
`temporal-lens --help` seconds of imports. tests/test_cli_startup.py asserts each copy equals its owner's value.
"""

from __future__ import annotations

import os

SOURCES = ("temporal", "history", "traces", "logs", "app_db", "history_traces")
"""temporal_lens.analysis.SOURCES: the sources a question can be asked of."""

SCENARIOS = ("happy", "retry", "decline", "out_of_stock", "timeout", "heartbeat", "cancel", "address_update",
             "expire", "crash", "deleted")
"""temporal_lens.sample_app.scenario.SCENARIOS: the scenario kinds a study can drive."""

DEFAULT_AGENT_PORT = 6831
"""temporal_lens.collectors.jaeger_agent.DEFAULT_AGENT_PORT: the Jaeger agent's compact-Thrift UDP port."""

SCOPES = ("all", "retained")
"""temporal_lens.analysis.SCOPES: the matrix over every order, or without the deleted runs."""

DEFAULT_CASES = 2
"""temporal_lens.sample_app.scenario.DEFAULT_CASES: orders of each hard case a study plans at least."""

DEFAULT_CONCURRENCY = 8 * (os.cpu_count() or 1)
"""temporal_lens.sample_app.driver.DEFAULT_CONCURRENCY: orders a study keeps in flight at once."""

DEFAULT_OBSERVE_EVERY = 1.0
"""temporal_lens.observer.ObserverSettings().cadence_s: seconds between the observer's ticks over open orders."""
