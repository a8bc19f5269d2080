"""The CLI starts without the heavy parts: `--help` and bad usage import none of them (each costs seconds)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from temporal_lens.cli import _choices

HEAVY = ("temporalio", "duckdb", "pyarrow", "plotly", "grpc", "temporal_lens.analysis", "temporal_lens.collectors",
         "temporal_lens.sample_app")
"""Modules (and their submodules) only the commands that use them may import."""


def _imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`temporal-lens ARGS` as a user runs it, with the names of the modules it imported (from -X importtime)."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "temporal_lens", *args],
                               capture_output=True, text=True, timeout=120, check=False)
    modules = {line.rsplit("|", 1)[1].strip() for line in completed.stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    return completed, modules


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["study", "--help"], ["ask", "--help"], ["audit", "--help"]])
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    completed, modules = _imported(*args)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Usage" in completed.stdout
    assert "temporal_lens.cli" in modules  # the listing is real: it names what was loaded
    assert _heavy(modules) == []


def test_bad_usage_imports_no_heavy_module() -> None:
    completed, modules = _imported("ask", "--no-such-option")
    assert completed.returncode == 2
    assert "--no-such-option" in completed.stderr
    assert _heavy(modules) == []


def test_a_command_that_uses_a_part_imports_it(tmp_path) -> None:
    """The control: the listing does show a heavy part once a command needs it."""
    logs = tmp_path / "one.jsonl"
    logs.write_text('{"event": "hello", "level": "info"}\n')
    completed, modules = _imported("collect", "logs", str(logs), "--db", str(tmp_path / "lens.duckdb"))
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert {"duckdb", "temporal_lens.collectors"} <= set(_heavy(modules))


def test_help_choices_equal_their_owners() -> None:
    from temporal_lens.analysis import SCOPES, SOURCES
    from temporal_lens.collectors.jaeger_agent import DEFAULT_AGENT_PORT
    from temporal_lens.sample_app.driver import DEFAULT_CONCURRENCY
    from temporal_lens.sample_app.scenario import DEFAULT_CASES, SCENARIOS

    assert _choices.SOURCES == SOURCES
    assert _choices.SCOPES == SCOPES
    assert _choices.DEFAULT_CASES == DEFAULT_CASES
    from temporal_lens.observer import ObserverSettings

    assert ObserverSettings().cadence_s == _choices.DEFAULT_OBSERVE_EVERY
    assert _choices.SCENARIOS == SCENARIOS
    assert _choices.DEFAULT_CONCURRENCY == DEFAULT_CONCURRENCY
    assert _choices.DEFAULT_AGENT_PORT == DEFAULT_AGENT_PORT


def test_audit_bad_usage_imports_no_heavy_module() -> None:
    completed, modules = _imported("audit", "--db", "lens.duckdb", "--since", "a week")
    assert completed.returncode == 2
    assert "--since must be" in completed.stderr
    assert _heavy(modules) == []
