"""`temporal-lens ask` and `report`: the lens database's answers, as tables, JSON, CSV or a report."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from temporal_lens.cli._choices import SCOPES, SOURCES
from temporal_lens.cli._common import BAD_INPUT, FAILURE, DbOption, _database, _fail, console, err_console

if TYPE_CHECKING:
    from temporal_lens.analysis import Answer

_FORMATS = ("table", "json", "csv")


def ask(
    db: DbOption,
    question_ids: Annotated[list[str] | None, typer.Argument(help="question ids (default: the matrix)")] = None,
    source: Annotated[str | None, typer.Option(help=f"one of {', '.join(SOURCES)}")] = None,
    sql: Annotated[str | None, typer.Option(help="run this SQL instead of a catalogue question")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    scope: Annotated[str, typer.Option(help="the matrix over 'all' orders, or 'retained' (no deleted run)")] = "all",
) -> None:
    """Ask catalogue questions (or any SQL) of the lens database; without arguments, score the matrix.

    With --format json or csv, stdout holds only data (one JSON document, or one CSV table whose rows carry
    question_id and source when questions are asked); everything else goes to stderr.
    """
    if output not in _FORMATS:
        raise _fail("--format must be table, json or csv", BAD_INPUT)
    if scope not in SCOPES:
        raise _fail(f"--scope must be one of {', '.join(SCOPES)}", BAD_INPUT)
    if source is not None and source not in SOURCES:
        raise _fail(f"unknown source {source!r}; choose among {', '.join(SOURCES)}", BAD_INPUT)
    if sql is not None and question_ids:
        raise _fail("give question ids or --sql, not both", BAD_INPUT)
    import duckdb

    from temporal_lens.analysis import ask_question, render_matrix, run_sql, score_answers
    from temporal_lens.analysis import question as find_question

    questions = []
    for question_id in question_ids or []:
        try:
            questions.append(find_question(question_id))
        except KeyError as err:
            raise _fail(str(err.args[0]), BAD_INPUT) from err
    sources = [source] if source else SOURCES
    with _database(db, must_exist=True, failures={duckdb.Error: BAD_INPUT}, context="query failed: ") as conn:
        if sql is not None:
            _print_rows("sql", run_sql(conn, sql), output)
        elif questions:
            _print_answers([ask_question(conn, q, src) for q in questions for src in sources], output)
        else:
            cells = score_answers(conn, sources=sources, store=source is None, scope=scope)
            if output == "table":
                console.print(render_matrix(cells))
            else:
                _print_rows("matrix", [asdict(cell) for cell in cells], output)


def _print_answers(answers: list[Answer], output: str) -> None:
    if output == "json":
        print(json.dumps([asdict(answer) for answer in answers], default=str, indent=1))
        return
    if output == "csv":
        for answer in answers:
            if answer.cannot:
                err_console.print(f"{answer.question_id} / {answer.source}: cannot: {answer.cannot}")
        rows = [{"question_id": a.question_id, "source": a.source, **row} for a in answers for row in a.rows]
        _print_rows("answers", rows, output)
        return
    for answer in answers:
        title = f"{answer.question_id} / {answer.source}: {answer.question}"
        if answer.cannot:
            console.print(f"{title}\n  cannot: {answer.cannot}")
        else:
            _print_rows(title, answer.rows, output)


def _print_rows(title: str, rows: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        print(json.dumps(rows, default=str, indent=1))
    elif output == "csv":
        # rows of several answers can differ in columns: the header is their union, in first-seen order
        fieldnames = list(dict.fromkeys(column for row in rows for column in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich.table import Table

        table = Table(title=title)
        for column in rows[0] if rows else ["(no rows)"]:
            table.add_column(str(column))
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


def report(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="the HTML report to write (report.md goes next to it)")] = Path(
        "report.html"
    ),
    markdown: Annotated[Path | None, typer.Option("--md", help="where to write the Markdown summary")] = None,
    ui_url: Annotated[
        str | None, typer.Option(help="the Temporal Web UI, for links to each workflow (stored in the database)")
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="the workflows' namespace (stored in the database)")] = None,
) -> None:
    """Write a self-contained HTML report (matrix, claims, questions, timelines) and a Markdown summary."""
    from temporal_lens.analysis import store_settings, write_report

    with _database(db, must_exist=True, failures={OSError: FAILURE}) as conn:
        store_settings(conn, ui_url=ui_url, namespace=namespace)
        html_path, md_path = write_report(conn, out, markdown)
    console.print(f"Report: {html_path}", soft_wrap=True, highlight=False, markup=False)
    console.print(f"Summary: {md_path}", soft_wrap=True, highlight=False, markup=False)
