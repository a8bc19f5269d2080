"""The whole study at growing sizes: wall time per phase, CPU and peak memory of every process, DuckDB size.

    python bench/study_scale.py [--sizes 12,60,200,1000] [--quick] [--concurrency N]

Each size runs `temporal-lens study --headless --orders N` (seed 7, the default hard cases) as a user would, in a
subprocess. A sampler reads /proc twice a second for the study process and every process under it (the dev server,
the three workers, each restart of the payments worker): CPU (utime + stime) and peak resident memory (VmHWM) per
role. Phases are timed by when the study prints its milestone lines. The load average is read before and after
each size: the machine may be shared, and absolute times move with its load.

Targets on 2 cores: 200 orders under 3 min, 1,000 under 10 min, the study process's peak memory within 2x from 60
to 1,000 orders.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_ROLES = (
    ("temporal_lens.sample_app.orders", "orders worker"),
    ("temporal_lens.sample_app.payments", "payments worker"),
    ("temporal_lens.sample_app.shipping", "shipping worker"),
    ("start-dev", "dev server"),
)
MILESTONES = (
    ("Services running", "startup"),
    ("Drove ", "drive"),
    ("Collected ", "collect"),
    ("Received ", "logs"),
    ("Answerability", "score"),
    ("Run folder:", "report"),
)
"""The study's console line that ends each phase (in order), and the phase's name."""


@dataclass
class Usage:
    cpu_s: dict[int, float] = field(default_factory=dict)
    """pid -> its last seen CPU seconds (a restarted worker is another pid of the same role)."""
    peak_kib: int = 0


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            for task in tasks:
                kids = (task / "children").read_text().split()
                found += [int(k) for k in kids]
                todo += [int(k) for k in kids]
        except OSError:
            continue
    return found


def _role(pid: int, study_pid: int) -> str | None:
    if pid == study_pid:
        return "study (driver, collectors, analysis)"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return next((role for marker, role in PAGE_ROLES if marker in command), None)


def _sample(pid: int) -> tuple[float, int] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, IndexError, ValueError):
        return None
    peak = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return cpu, peak


def _watch(study_pid: int, usage: dict[str, Usage], stop: threading.Event) -> None:
    while not stop.is_set():
        for pid in [study_pid, *_children(study_pid)]:
            role = _role(pid, study_pid)
            sample = _sample(pid) if role else None
            if role and sample:
                entry = usage.setdefault(role, Usage())
                entry.cpu_s[pid] = sample[0]
                entry.peak_kib = max(entry.peak_kib, sample[1])
        stop.wait(0.5)


def run_size(orders: int, runs: Path, concurrency: int | None) -> dict:
    command = [sys.executable, "-m", "temporal_lens", "study", "--headless", "--orders", str(orders),
               "--runs-dir", str(runs)]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    load_before = os.getloadavg()
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    usage: dict[str, Usage] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(process.pid, usage, stop), daemon=True)
    watcher.start()
    phases, last, output = {}, began, []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        for marker, phase in MILESTONES:
            if line.startswith(marker) and phase not in phases:
                now = time.perf_counter()
                phases[phase], last = now - last, now
    code = process.wait()
    wall = time.perf_counter() - began
    stop.set()
    watcher.join()
    if code != 0:
        raise RuntimeError(f"study of {orders} orders failed ({code}):\n" + "".join(output[-30:]))
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    calls = json.loads((run_dir / "driver_calls.json").read_text())
    return {
        "orders": orders,
        "planned": next((int(line.split("driving ")[1].split()[0]) for line in output if "driving " in line), None),
        "wall_s": wall,
        "phases": phases,
        "usage": {role: {"cpu_s": sum(u.cpu_s.values()), "peak_mib": u.peak_kib / 1024} for role, u in usage.items()},
        "db_mib": (run_dir / "lens.duckdb").stat().st_size / 2**20,
        "slowest_call": calls["slowest"][0] if calls["slowest"] else None,
        "p99_s": calls["p99_s"],
        "calls": calls["calls"],
        "load": (load_before, os.getloadavg()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="12,60,200,1000")
    parser.add_argument("--quick", action="store_true", help="12 and 60 orders only")
    parser.add_argument("--concurrency", type=int, default=None, help="the study's --concurrency (default: its own)")
    args = parser.parse_args()
    sizes = [12, 60] if args.quick else [int(s) for s in args.sizes.split(",")]
    results = []
    for orders in sizes:
        with tempfile.TemporaryDirectory(prefix="lens-scale-") as folder:
            print(f"study of {orders} orders ...", flush=True)
            result = run_size(orders, Path(folder), args.concurrency)
            print(json.dumps(result), flush=True)
            results.append(result)
    print()
    print("orders  wall    startup drive   collect logs    score   report  load 1-min (before/after)")
    for r in results:
        phases = "".join(f"{r['phases'].get(p, float('nan')):6.1f}s " for _, p in MILESTONES)
        load = f"{r['load'][0][0]:.2f}/{r['load'][1][0]:.2f}"
        print(f"{r['planned'] or r['orders']:>6}  {r['wall_s']:6.1f}s {phases} {load}")
    print()
    roles = sorted({role for r in results for role in r["usage"]})
    print("orders  " + "  ".join(f"{role}: cpu s / peak MiB" for role in roles))
    for r in results:
        cells = [f"{r['usage'][role]['cpu_s']:.1f} / {r['usage'][role]['peak_mib']:.0f}" if role in r["usage"]
                 else "-" for role in roles]
        print(f"{r['planned'] or r['orders']:>6}  " + "  ".join(cells))
    print()
    print("orders  duckdb MiB  driver calls  p99 s   slowest call")
    for r in results:
        slow = r["slowest_call"] or {}
        print(f"{r['planned'] or r['orders']:>6}  {r['db_mib']:10.1f}  {r['calls']:12}  {r['p99_s']:.3f}  "
              f"{slow.get('name')} {slow.get('order')} {slow.get('seconds', 0):.3f} s")
    study = "study (driver, collectors, analysis)"
    peaks = {r["orders"]: r["usage"].get(study, {}).get("peak_mib") for r in results}
    if peaks.get(60) and peaks.get(1000):
        print(f"\nstudy process peak memory, 1000 vs 60 orders: {peaks[1000] / peaks[60]:.2f}x (target within 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
