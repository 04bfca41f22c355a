"""Counts the words of the labelled training posts (tools/nlp/intent_dev*.jsonl) per intent into
chalicelib/rules/intent_words.json, the learned half of the intent classifier. Deterministic:
the same posts give the same file, and a test compares the posts' digest with the file's.

    python -m tools.nlp.train_intent            # write the counts
    python -m tools.nlp.train_intent --folds 5  # and print cross-validated macro-F1 on the posts
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from chalicelib.models.decision import Intent
from chalicelib.nlp.text import fold
from chalicelib.rules.intent_words import COUNTS_PATH, tokens

POSTS_DIR = Path(__file__).parent
LABELS = tuple(intent.value for intent in Intent)
MIN_DOCUMENTS = 2  # a word seen in one post only is an anecdote, not evidence


def post_files() -> list[Path]:
    return sorted(POSTS_DIR.glob("intent_dev*.jsonl"))


def posts_digest() -> str:
    digest = hashlib.sha256()
    for path in post_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_posts() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in post_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def count(posts: list[dict[str, Any]]) -> dict[str, Any]:
    documents = Counter(post["intent"] for post in posts)
    per_token: dict[str, list[int]] = {}
    for post in posts:
        column = LABELS.index(post["intent"])
        for token in tokens(fold(post["text"])):
            per_token.setdefault(token, [0] * len(LABELS))[column] += 1
    kept = {token: row for token, row in sorted(per_token.items()) if sum(row) >= MIN_DOCUMENTS}
    return {"labels": list(LABELS), "documents": {label: documents[label] for label in LABELS}, "counts": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=0, help="also cross-validate on the posts")
    args = parser.parse_args()
    posts = load_posts()
    document = {"posts_sha256": posts_digest(), "posts": len(posts), **count(posts)}
    COUNTS_PATH.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(posts)} posts, {len(document['counts'])} words and pairs -> {COUNTS_PATH}")
    if args.folds:
        from tools.nlp.evaluate import cross_validate_intents

        for weight, score in cross_validate_intents(posts, args.folds).items():
            print(f"learned weight {weight}: cross-validated macro-F1 {score:.3f}")


if __name__ == "__main__":
    main()
