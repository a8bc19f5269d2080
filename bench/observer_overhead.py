"""The study's wall time with the observer at its default cadence vs off, side by side.

    python bench/observer_overhead.py [--orders 12] [--cases 2] [--rounds 2]

Each round starts two whole studies at once (`temporal-lens study --headless`, each with its own dev server and
services), one with `--observe-every <default>` and one with `--observe-every 0`, so both see the same machine load;
the ratio is taken per round. Target: the observer adds under 15% to the study's wall time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from temporal_lens.observer import ObserverSettings

TARGET = 1.15


def _start(runs: Path, observe_every: float, orders: int, cases: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "temporal_lens", "study", "--headless", "--runs-dir", str(runs),
               "--orders", str(orders), "--cases", str(cases), "--observe-every", str(observe_every)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _round(folder: Path, cadence: float, orders: int, cases: int) -> dict[str, float]:
    began = time.perf_counter()
    running = {"observed": _start(folder / "observed", cadence, orders, cases),
               "off": _start(folder / "off", 0.0, orders, cases)}
    elapsed: dict[str, float] = {}
    while len(elapsed) < len(running):
        for mode, process in running.items():
            if mode not in elapsed and process.poll() is not None:
                elapsed[mode] = time.perf_counter() - began
                if process.returncode != 0:
                    output = process.stdout.read() if process.stdout else ""
                    raise SystemExit(f"the {mode} study failed ({process.returncode}):\n{output[-3000:]}")
        time.sleep(0.2)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=12)
    parser.add_argument("--cases", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cadence = ObserverSettings().cadence_s
    rows = []
    with tempfile.TemporaryDirectory(prefix="lens-observer-bench-") as tmp:
        for index in range(args.rounds):
            elapsed = _round(Path(tmp) / f"round-{index}", cadence, args.orders, args.cases)
            rows.append(elapsed)
            print(f"round {index + 1}: observed {elapsed['observed']:.1f} s, off {elapsed['off']:.1f} s", flush=True)
    ratios = [r["observed"] / r["off"] for r in rows]
    median = statistics.median(ratios)
    print()
    print(f"{'round':>5}  {'observer every ' + format(cadence, 'g') + ' s':>22}  {'observer off':>12}  {'ratio':>6}")
    for index, (row, ratio) in enumerate(zip(rows, ratios, strict=True), start=1):
        print(f"{index:>5}  {row['observed']:>20.1f} s  {row['off']:>10.1f} s  {ratio:>6.3f}")
    # Rounds whose ratios differ by more than twice the effect allowed measure something else (the dev server's
    # deletion lag, tens of seconds, falls on either study): no verdict from them.
    spread = max(ratios) / min(ratios)
    verdict = ("met" if median < TARGET else "MISSED") if spread <= 1 + 2 * (TARGET - 1) else (
        f"inconclusive, the rounds disagree ({min(ratios):.3f} to {max(ratios):.3f}): run more rounds")
    print(f"median ratio {median:.3f} ({(median - 1):+.1%} wall time with the observer); target < "
          f"{TARGET:.2f}: {verdict}. {args.orders} orders + hard cases x{args.cases}, both studies at once per round.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
