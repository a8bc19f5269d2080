"""Time for the full question catalogue at 1k and 10k orders, and the analysis process's peak memory; prints a table.

    python bench/analysis.py [--sizes 1000,10000] [--repeats 3] [--db runs/<stamp>/lens.duckdb]

Data: one real study run (`temporal-lens study --orders 12 --headless`, or the database given with --db) whose rows
are replicated in DuckDB SQL with fresh ids (the run tag inside order and workflow ids rewritten with a copy suffix,
trace and run ids hashed with the copy number) until the database holds at least N orders, then its source tables
ordered for reading as a study leaves them (`order_for_reading`). Each size is built in one subprocess and scored in
another, so the scoring process's peak RSS is the analysis's alone.

Measured per size: `score_answers(conn)` (every question's truth and source SQL materialized, every source's answer
compared with the truth unit by unit in one statement per question, as many questions at once as there are cores,
each statement on one DuckDB thread, and the matrix and every unit stored), and the questions' SQL alone (`run_sql`
of every question for every source, and truth, one after another, rows fetched into Python).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Columns holding ids that must stay joinable across tables: rewritten with the same function everywhere.
HASHED = ("trace_id", "run_id", "parent_run_id")
# Tables about orders carry one of these; others (the matrix, run metadata, per-customer truth) are not replicated.
PER_ORDER = {"order_id", "workflow_id", "trace_id", "run_id", "source_file"}
NOT_REPLICATED = ("answerability", "ground_truth_loyalty")


def run_study_once(folder: Path, env: dict[str, str] | None = None) -> Path:
    """A 12-order headless study in `folder` (with `env`, another version's code may run it); its database."""
    runs = folder / "runs"
    subprocess.run(
        [sys.executable, "-m", "temporal_lens", "study", "--orders", "12", "--headless", "--runs-dir", str(runs)],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
        cwd=folder,
        env=env,
    )
    (run_dir,) = list(runs.iterdir())
    return run_dir / "lens.duckdb"


def _copy_expression(column: str, data_type: str, tag: str) -> str:
    fresh = f"'{tag}c' || lpad(k::VARCHAR, 5, '0')"
    if column in HASHED:
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE md5({column} || '#' || k::VARCHAR) END"
    if column == "source_file":
        return f"{column} || '#' || k::VARCHAR"
    if data_type == "JSON":
        return f"replace({column}::VARCHAR, '{tag}', {fresh})::JSON"
    if data_type == "VARCHAR":
        return f"replace({column}, '{tag}', {fresh})"
    return column


def build(source: Path, target: Path, orders: int) -> None:
    """Copy `source` to `target` and replicate its rows with fresh ids until it holds at least `orders` orders."""
    import duckdb

    from temporal_lens.collectors import order_for_reading

    shutil.copyfile(source, target)
    conn = duckdb.connect(str(target))
    base_orders, sample_id = conn.execute("SELECT count(*), min(order_id) FROM ground_truth").fetchall()[0]
    tag = sample_id.rpartition("-")[0]  # order ids are <run tag>-<index>
    copies = math.ceil(orders / base_orders)
    tables = [
        t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        if t not in NOT_REPLICATED
    ]
    for table in tables:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if not PER_ORDER & {name for name, _ in columns}:
            continue
        select = ", ".join(_copy_expression(name, data_type, tag) for name, data_type in columns)
        names = ", ".join(name for name, _ in columns)
        conn.execute(f"CREATE TEMP TABLE base AS SELECT * FROM {table}")
        conn.execute(f"INSERT INTO {table} ({names}) SELECT {select} FROM base, range(1, {copies}) copies(k)")
        conn.execute("DROP TABLE base")
    order_for_reading(conn)  # as a study leaves its database once collection is done
    conn.execute("CHECKPOINT")
    conn.close()


def score(db: Path, repeats: int) -> dict:
    """Run in its own process: time the catalogue on `db`; report sizes, seconds and this process's peak RSS."""
    import duckdb

    from temporal_lens.analysis import CATALOGUE, SOURCES, run_sql, score_answers

    conn = duckdb.connect(str(db))
    counts = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("ground_truth", "workflows", "history_events", "spans", "logs")
    }
    full, sql_only = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        cells = score_answers(conn)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        for q in CATALOGUE:
            # A question may bind named values (a period, say) from its params.sql into each query.
            params_sql = q.params_sql() if hasattr(q, "params_sql") else None
            params = run_sql(conn, params_sql)[0] if params_sql else {}
            for sql in [q.truth_sql(), *(q.sql(source) for source in SOURCES)]:
                if sql is not None:
                    run_sql(conn, sql, {k: v for k, v in params.items() if f"${k}" in sql})
        sql_only.append(time.perf_counter() - started)
    verdicts = sorted({c.verdict for c in cells})
    conn.close()
    return {
        "counts": counts,
        "catalogue_s": statistics.median(full),
        "catalogue_runs": full,
        "sql_only_s": statistics.median(sql_only),
        "cells": len(cells),
        "verdicts": verdicts,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="orders per size, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size (the median is reported)")
    parser.add_argument("--db", type=Path, help="a study's lens.duckdb to replicate (default: run a study now)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.db is None:
            print("running `temporal-lens study --orders 12 --headless` for the data ...", flush=True)
            source = run_study_once(folder)
        else:
            source = args.db
        for size in sizes:
            target = folder / f"orders-{size}.duckdb"
            build_started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--build", str(source), str(target), str(size)], check=True)
            built = time.perf_counter() - build_started
            done = subprocess.run(
                [sys.executable, __file__, "--score", str(target), str(args.repeats)],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            results[size] = json.loads(done.stdout.strip().splitlines()[-1])
            r = results[size]
            runs = ", ".join(f"{t:.3f}" for t in r["catalogue_runs"])
            print(f"{size} orders built in {built:.1f} s; catalogue {r['catalogue_s']:.3f} s (runs: {runs})",
                  flush=True)

    print()
    cells = results[sizes[-1]]["cells"]
    print(f"data: one 12-order study replicated with fresh ids; catalogue of {cells} cells (question x source); "
          f"median of {args.repeats} runs; {os.cpu_count()} cores; each size scored in a fresh process "
          "(peak RSS is that process's)")
    header = (f"{'orders':>8} {'workflow runs':>14} {'history events':>15} {'spans':>9} {'log records':>12} "
              f"{'catalogue s':>12} {'SQL only s':>11} {'peak RSS MB':>12}")
    print(header)
    print("-" * len(header))
    for size in sizes:
        r, c = results[size], results[size]["counts"]
        print(f"{c['ground_truth']:>8,} {c['workflows']:>14,} {c['history_events']:>15,} {c['spans']:>9,} "
              f"{c['logs']:>12,} {r['catalogue_s']:>12.3f} {r['sql_only_s']:>11.3f} {r['peak_rss_mb']:>12.0f}")
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        rows = large["counts"]["ground_truth"] / small["counts"]["ground_truth"]
        print(f"{sizes[-1]} vs {sizes[0]}: {rows:.1f}x the orders -> catalogue "
              f"{large['catalogue_s'] / small['catalogue_s']:.1f}x the time, "
              f"peak RSS {large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x")
    largest = results[sizes[-1]]
    verdict = "meets" if largest["catalogue_s"] < 2.0 else "misses"
    print(f"target: full catalogue over {largest['counts']['ground_truth']:,} orders under 2 s -> "
          f"{largest['catalogue_s']:.2f} s ({verdict} it)")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--build":
        build(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--score":
        print(json.dumps(score(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
