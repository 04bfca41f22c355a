"""Cold import of app.py in a fresh interpreter, beside a bare Chalice + boto3 app.
Target: <= 1.3x the bare app (median of repeated runs)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.table import render

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
MEASURE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
BARE_APP = "import boto3\nfrom chalice import Chalice\n\napp = Chalice(app_name='bare')\n"


def _median_import(module: str, cwd: Path, runs: int) -> float:
    timings = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", MEASURE.format(module=module)],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        timings.append(float(output.strip()) * 1000)
    return statistics.median(timings)


def run(runs: int = 15) -> str:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "bare_app.py").write_text(BARE_APP)
        bare = _median_import("bare_app", Path(folder), runs)
    ours = _median_import("app", ROOT, runs)
    ratio = ours / bare
    return render(
        f"Cold import, ms (median of {runs} fresh interpreters; target <= {TARGET}x bare Chalice + boto3)",
        ["module", "median ms", "ratio", "target"],
        [
            ["bare chalice + boto3", bare, 1.0, ""],
            ["socialcrm app.py", ours, ratio, "ok" if ratio <= TARGET else "MISSED"],
        ],
    )


if __name__ == "__main__":
    print(run())
