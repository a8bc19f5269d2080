"""The `temporal-lens` command line. Exit codes: 0 success, 2 bad usage or bad input, 1 failure."""

from __future__ import annotations

import typer

from temporal_lens.cli.auditing import audit
from temporal_lens.cli.collecting import collect_history, collect_history_traces, collect_jaeger, collect_logs
from temporal_lens.cli.exporting import export_jaeger_files, export_parquet_files
from temporal_lens.cli.querying import ask, report
from temporal_lens.cli.running import dev, receive, receive_jaeger_agent, study

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
collect_app = typer.Typer(no_args_is_help=True, help="Bring a source into the lens database.")
export_app = typer.Typer(no_args_is_help=True, help="Write the lens database out in formats other tools open.")

# Registered in the order `--help` has always listed them.
app.command()(study)
app.command()(audit)
app.command()(dev)
app.command()(receive)
app.add_typer(collect_app, name="collect")
app.command()(ask)
app.command()(report)
app.add_typer(export_app, name="export")
app.command("receive-jaeger-agent")(receive_jaeger_agent)

collect_app.command("history")(collect_history)
collect_app.command("logs")(collect_logs)
collect_app.command("jaeger")(collect_jaeger)
collect_app.command("history-traces")(collect_history_traces)

export_app.command("jaeger")(export_jaeger_files)
export_app.command("parquet")(export_parquet_files)


def main() -> None:
    app(prog_name="temporal-lens")


__all__ = ["app", "main"]
