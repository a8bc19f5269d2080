"""Check that a change to the analysis leaves every verdict and unit as it was: scores databases with the code of a
git revision and with the working tree, and diffs what each stored.

    python bench/same_verdicts.py [--rev HEAD] DB [DB ...]

Each database is copied twice (the originals are left alone) and scored in a fresh process per version, both
scopes, as a study scores them (`open_database`, then `score_answers`); the old version runs from the revision's
files exported into a temporary folder laid out as the installed package. Compared: every row of `answerability`,
`answerability_retained` and `answerability_units`. Prints the differences and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Folder in the repository -> its place in the installed package (pyproject.toml's package-dir).
PACKAGE_DIRS = {"temporal_lens": "temporal_lens", "interceptors": "temporal_lens/interceptors",
                "collectors": "temporal_lens/collectors", "analysis": "temporal_lens/analysis",
                "sample_app": "temporal_lens/sample_app"}
STORED = ("answerability", "answerability_retained", "answerability_units")


def dump(db: Path, out: Path) -> None:
    """Run in its own process: score `db` in both scopes with the importable code and write what was stored."""
    from temporal_lens import collectors
    from temporal_lens.analysis import RETAINED, score_answers

    conn = collectors.open_database(db, verify=False)
    if hasattr(collectors, "order_for_reading"):  # what a study of this version does before it scores
        collectors.order_for_reading(conn)
    started = time.perf_counter()
    score_answers(conn)
    score_answers(conn, scope=RETAINED)
    seconds = time.perf_counter() - started
    stored = {}
    for table in STORED:
        stored[table] = [[str(v) for v in row] for row in conn.execute(f"FROM {table} ORDER BY ALL").fetchall()]
    conn.close()
    code = str(Path(sys.modules[score_answers.__module__].__file__).parent)
    out.write_text(json.dumps({"seconds": seconds, "code": code, "stored": stored}))


def export_revision(rev: str, folder: Path) -> Path:
    """The revision's package folders laid out as the installed package under `folder`; returns the path root."""
    archive = folder / "rev.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, *PACKAGE_DIRS], check=True, stdout=f)
    src = folder / "src"
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    root = folder / "pkg"
    # The sub-packages nest inside temporal_lens: copy the front door first, then each part into its place.
    for repo_dir, package_dir in PACKAGE_DIRS.items():
        shutil.copytree(src / repo_dir, root / package_dir, dirs_exist_ok=True)
    return root


def scored(db: Path, folder: Path, name: str, path_root: Path | None) -> dict:
    copy, out = folder / f"{name}.duckdb", folder / f"{name}.json"
    shutil.copyfile(db, copy)
    env = dict(os.environ)
    if path_root is not None:  # ahead of the editable install's finder, which Python consults after sys.path
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path_root), env.get("PYTHONPATH")) if p)
    subprocess.run([sys.executable, __file__, "--dump", str(copy), str(out)], check=True, env=env, cwd=folder)
    copy.unlink()
    return json.loads(out.read_text())


def differences(old: dict, new: dict) -> list[str]:
    found = []
    for table in STORED:
        before = Counter(tuple(r) for r in old["stored"][table])
        after = Counter(tuple(r) for r in new["stored"][table])
        if before != after:
            gone, added = list((before - after).elements()), list((after - before).elements())
            found.append(f"{table}: {before.total()} rows before, {after.total()} after")
            found += [f"  - {list(r)}" for r in gone[:10]] + [f"  + {list(r)}" for r in added[:10]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD", help="the git revision to compare the working tree with")
    parser.add_argument("databases", nargs="+", type=Path)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        root = export_revision(args.rev, folder)
        for db in args.databases:
            old = scored(db, folder, "old", root)
            new = scored(db, folder, "new", None)
            found = differences(old, new)
            rows = sum(len(rows) for rows in new["stored"].values())
            print(f"{db}: old code {old['code']}, new code {new['code']}", flush=True)
            print(f"{db}: {rows} stored rows; {args.rev} {old['seconds']:.2f} s, working tree {new['seconds']:.2f} s "
                  f"(both scopes) -> " + ("identical" if not found else f"{len(found)} differences"), flush=True)
            for line in found:
                print(line)
            failed = failed or bool(found)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--dump":
        dump(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
