"""The offline engine's sentiment on real posts it never trained on (tools/nlp/DATA.md), and the
words model answering alone only where it is sure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from chalicelib.nlp.local import NGRAMS_PATH, TUNING_PATH, WEIGHTS_PATH, LocalEngine, tuning
from chalicelib.nlp.local_sentiment import (
    LAYERS,
    MAX_CHARACTERS,
    SentimentModel,
    both_ends,
    both_ends_of,
    clipped,
    ending,
    grams,
)
from tools.nlp.corpora import EVAL_PATH, LANGUAGES, TRAIN_PATH, Row, read

PER_LANGUAGE = 20
# `make bench` measures 0.69 over all 3,264 held-out posts; 120 of them vary by a few points.
SAMPLE_FLOOR = 0.55


@pytest.fixture(scope="module")
def sample() -> list[Row]:
    rows = read(EVAL_PATH)
    return [row for language in LANGUAGES for row in [r for r in rows if r.language == language][:PER_LANGUAGE]]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load(WEIGHTS_PATH, NGRAMS_PATH)


def test_no_evaluation_post_is_a_training_post() -> None:
    assert not {row.text for row in read(EVAL_PATH)} & {row.text for row in read(TRAIN_PATH)}


def test_held_out_real_posts_are_read_above_the_floor(sample: list[Row]) -> None:
    engine = LocalEngine()
    right = 0
    for language in LANGUAGES:
        rows = [row for row in sample if row.language == language]
        found = engine.sentiments([row.text for row in rows], language)
        right += sum(s.label == row.label for s, row in zip(found, rows, strict=True))
        assert all(abs(sum(s.scores.values()) - 1) < 1e-3 and s.scores["MIXED"] == 0.0 for s in found)
    assert right / len(sample) >= SAMPLE_FLOOR


def test_the_embedding_is_computed_only_for_posts_the_words_model_is_unsure_of(
    sample: list[Row], model: SentimentModel
) -> None:
    from chalicelib.nlp.encoder import encoder

    asked: list[str] = []

    def embed(texts: Sequence[str]) -> Any:
        asked.extend(texts)
        return encoder(model.layers, tuning(model)).query(texts)

    texts = [row.text for row in sample]
    languages = [row.language for row in sample]
    probabilities = model.probabilities(texts, languages, embed)
    alone = np.exp(model.words(texts) / model.words_temperature)
    alone /= alone.sum(axis=1, keepdims=True)
    sure = alone.max(axis=1) >= model.words_alone_at
    assert 0 < sure.sum() < len(texts)  # the sample has both kinds
    unsure = np.flatnonzero(~sure)
    long = [i for i in unsure if len(texts[i]) > MAX_CHARACTERS]
    assert long  # and long posts among the unsure: read at both ends
    assert asked == [clipped(texts[i]) for i in unsure] + [ending(texts[i]) for i in long]
    np.testing.assert_allclose(probabilities[sure], alone[sure], atol=1e-9)
    # where the embedding was computed, it changed every answer's probabilities
    assert (np.abs(probabilities[unsure] - alone[unsure]).max(axis=1) > 1e-3).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_a_long_post_is_read_at_its_opening_and_its_ending_as_one(model: SentimentModel) -> None:
    """Its meaning is the two readings' mean log probability, normalised; a short post's is its one
    reading's, whatever else is in the batch."""
    from chalicelib.nlp.encoder import encoder

    query = encoder(model.layers, tuning(model)).query
    verdict = "Celkově ale zklamání, nedoporučuji. "
    long = "Film začíná slibně, herci jsou dobře vybraní a hudba sedí. " * 12 + verdict * 3
    short = "Skvělý film, doporučuji!"
    assert len(long) > MAX_CHARACTERS >= len(short)
    read = model.read([short, long], ["cs", "cs"], query)
    opening, closing, alone = (model.meaning(query([text]), ["cs"])[0] for text in (clipped(long), ending(long), short))
    np.testing.assert_allclose(read[1], both_ends(opening[None], closing[None])[0], atol=1e-4)
    np.testing.assert_allclose(read[0], alone, atol=1e-4)  # a batch and a single text: two code paths
    assert not np.allclose(read[1], opening, atol=1e-3)  # the ending changed what it says
    np.testing.assert_allclose(np.exp(read).sum(axis=1), 1.0)


def test_the_words_model_reads_a_long_post_at_both_ends_too() -> None:
    """Its features: all of a short post; a long one's opening and ending, not its middle."""
    long = "Začátek je nudný. " + "Nic zvláštního se neděje. " * 40 + "Konec je ale nádherný."
    assert len(long) > 2 * MAX_CHARACTERS
    found = set(grams(long))
    assert {"wzačátek", "wnádherný", "wnic"} <= found
    assert "wnádherný" not in set(grams(clipped(long)))
    assert set(grams("Skvělý film!")) == set(grams(both_ends_of("Skvělý film!")))
    assert both_ends_of(long) == f"{clipped(long)} {ending(long)}"


def test_the_model_is_read_with_the_encoder_depth_and_tuning_it_was_trained_on(model: SentimentModel) -> None:
    assert model.layers == LAYERS
    settings = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert f"first {LAYERS} layers" in settings["embedding"]
    assert tuning(model) == TUNING_PATH
    assert settings["tuning"]["sha256"] == hashlib.sha256(TUNING_PATH.read_bytes()).hexdigest()
