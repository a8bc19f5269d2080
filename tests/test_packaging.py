"""The package installs both ways: editable (what `make` does) and as a built wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("interceptors", "collectors", "analysis", "sample_app")
CHECK = """
import importlib.resources, sys
import temporal_lens, temporal_lens.cli
from temporal_lens.interceptors import LensInterceptor, LensPlugin, configure_telemetry
from temporal_lens.analysis import CATALOGUE
for q in CATALOGUE:
    assert q.truth_sql() and q.sql("history"), q.id
assert importlib.resources.files("temporal_lens.collectors").joinpath("schema.sql").is_file()
assert importlib.resources.files("temporal_lens.sample_app").joinpath("ground_truth.sql").is_file()
print(temporal_lens.__file__)
import temporal_lens.analysis, temporal_lens.collectors, temporal_lens.interceptors, temporal_lens.sample_app
print(temporal_lens.analysis.__file__)
"""


def _check(env: dict[str, str], cwd: Path) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()


def test_editable_install_maps_root_folders(tmp_path) -> None:
    package_file, analysis_file = _check(dict(os.environ), tmp_path)
    assert Path(package_file) == REPO / "temporal_lens" / "__init__.py"
    assert Path(analysis_file) == REPO / "analysis" / "__init__.py"


def test_built_wheel_holds_every_part_and_its_data(tmp_path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("temporal_lens-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for part in PARTS:
        assert f"temporal_lens/{part}/__init__.py" in names, part
    assert "temporal_lens/analysis/questions/payment_attempts/history.sql" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    package_file, analysis_file = _check({**os.environ, "PYTHONPATH": str(unpacked)}, tmp_path)
    assert Path(package_file) == unpacked / "temporal_lens" / "__init__.py"
    assert Path(analysis_file) == unpacked / "temporal_lens" / "analysis" / "__init__.py"
