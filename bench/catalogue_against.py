"""The question catalogue of this checkout and of another one, timed side by side on one machine in one run.

    python bench/catalogue_against.py --rev REV [--orders 10000] [--rounds 6] [--passes 3]

The machines here change speed by a factor of two or three from one day (or hour) to the next, so a catalogue time
measured today cannot be set against one measured last week. This benchmark measures the ratio instead, between the
working tree and the code of git revision `--rev` (exported as the installed package, as `same_verdicts.py` does,
and run with this virtualenv's packages). Each version runs its own `temporal-lens study --orders 12 --headless`
and replicates that run's rows to `--orders` with its own `bench/analysis.py --build`; then the two catalogues are
scored in alternation: each round starts one fresh process per version (the older first every other round), each
process times `--passes` full passes of `score_answers` on its own database and reports its median. Printed: every
round's two times and their ratio, and the median of each and of the ratios.

Each version scores the data its own study produced, as its benchmark does: the catalogues differ in questions and
sources, and so do the rows they read (a later study records more).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from same_verdicts import REPO, export_revision

from analysis import run_study_once

_SCORE = """
import json, statistics, sys, time
import duckdb
from temporal_lens.analysis import score_answers
conn = duckdb.connect(sys.argv[1])
runs = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    cells = score_answers(conn)
    runs.append(time.perf_counter() - started)
print(json.dumps({"median": statistics.median(runs), "runs": runs, "cells": len(cells)}))
"""


@dataclass(frozen=True)
class Version:
    name: str
    env: dict[str, str]
    """The environment its processes run in: the exported revision first on PYTHONPATH, or as this one is."""
    bench: Path
    """Its bench/analysis.py (the builder that replicates a study's rows)."""


def version_of(rev: str | None, folder: Path) -> Version:
    env = dict(os.environ)
    if rev is None:
        return Version("working tree", env, REPO / "bench" / "analysis.py")
    root = export_revision(rev, folder)
    # ahead of the editable install's finder, which Python consults after sys.path (and inherited by the study's
    # worker processes)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    bench = folder / "analysis.py"
    bench.write_bytes(subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:bench/analysis.py"], check=True,
                                     stdout=subprocess.PIPE).stdout)
    return Version(rev, env, bench)


def prepare(version: Version, folder: Path, orders: int) -> Path:
    """The version's own 12-order study, replicated to `orders` orders by its own benchmark's builder."""
    study = run_study_once(folder, version.env)
    target = folder / f"orders-{orders}.duckdb"
    subprocess.run([sys.executable, str(version.bench), "--build", str(study), str(target), str(orders)],
                   cwd=folder, env=version.env, check=True, timeout=900)
    return target


def score(version: Version, db: Path, passes: int) -> dict:
    done = subprocess.run([sys.executable, "-c", _SCORE, str(db), str(passes)], cwd=db.parent, env=version.env,
                          check=True, stdout=subprocess.PIPE, text=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _described(rev: str) -> str:
    found = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %ad", "--date=short", rev],
                           stdout=subprocess.PIPE, text=True, check=False)
    return found.stdout.strip() or rev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="the git revision to time the working tree against")
    parser.add_argument("--orders", type=int, default=10_000, help="orders each database is replicated to")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds")
    parser.add_argument("--passes", type=int, default=3, help="passes per process (its median is the round's)")
    args = parser.parse_args()
    known = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{args.rev}^{{commit}}"],
                           stdout=subprocess.DEVNULL, check=False)
    if known.returncode != 0:
        parser.error(f"--rev {args.rev!r} is not a commit of {REPO}")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        versions, dbs = {}, {}
        for name, rev in (("this", None), ("other", args.rev)):
            folder = Path(tmp) / name
            folder.mkdir()
            versions[name] = version_of(rev, folder)
            print(f"{versions[name].name}: study and {args.orders} orders ...", flush=True)
            dbs[name] = prepare(versions[name], folder, args.orders)
        times: dict[str, list[float]] = {name: [] for name in versions}
        cells = {}
        print(f"\n{'round':>5} {'this s':>8} {'other s':>8} {'this / other':>13}")
        for round_ in range(args.rounds):
            for name in ("this", "other") if round_ % 2 else ("other", "this"):
                result = score(versions[name], dbs[name], args.passes)
                times[name].append(result["median"])
                cells[name] = result["cells"]
            print(f"{round_ + 1:>5} {times['this'][-1]:>8.3f} {times['other'][-1]:>8.3f} "
                  f"{times['this'][-1] / times['other'][-1]:>13.2f}", flush=True)
    ratios = [a / b for a, b in zip(times["this"], times["other"], strict=True)]
    print(f"\nthis:  the working tree ({_described('HEAD')}), {cells['this']} cells, "
          f"median {statistics.median(times['this']):.3f} s")
    print(f"other: {_described(args.rev)}, {cells['other']} cells, median {statistics.median(times['other']):.3f} s")
    print(f"this / other: median of the rounds' ratios {statistics.median(ratios):.2f} "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}); {args.orders} orders, {args.passes} passes a process, "
          f"{args.rounds} rounds")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
