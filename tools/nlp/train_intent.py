"""Counts the words of the labelled training posts per intent into chalicelib/rules/intent_words.json,
the learned half of the intent classifier. Two models, kept apart: the hand-written development
posts (tools/nlp/intent_dev*.jsonl; every intent, six languages) and, under "public", the train
split of the public data (tools/nlp/data/intent-train.jsonl.gz, built by tools/nlp/intent_corpora.py:
real airline complaint tweets, crowdsourced and synthetic cancel and purchase requests; English;
complaint / cancel / purchase / none). Pooled into one model, the thousands of English airline
complaints drowned the complaints of the other languages. Deterministic: the same posts give the
same file, and a test compares the posts' digest with the file's. The evaluation split
(intent-eval.jsonl.gz) is never read here.

    python -m tools.nlp.train_intent            # write the counts
    python -m tools.nlp.train_intent --folds 5  # and cross-validate on the train posts (minutes)
    python -m tools.nlp.train_intent --figures  # print the held-out figures (writes nothing)
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
from tools.nlp.intent_corpora import NONE, TRAIN_PATH, read

POSTS_DIR = Path(__file__).parent
LABELS = tuple(intent.value for intent in Intent)
# The public data labels only these; its `none` (none of them) is a column of its own, whose
# probability goes to no intent.
PUBLIC_LABELS = (Intent.COMPLAINT.value, Intent.CANCEL_INTENT.value, Intent.PURCHASE_INTENT.value, NONE)
MIN_DOCUMENTS = 2  # a word seen in one post only is an anecdote, not evidence
PUBLIC_MIN_DOCUMENTS = 3  # the public rows are many: rarer words and pairs only make the file big


def dev_files() -> list[Path]:
    return sorted(POSTS_DIR.glob("intent_dev*.jsonl"))


def post_files() -> list[Path]:
    return [*dev_files(), TRAIN_PATH]


def posts_digest() -> str:
    digest = hashlib.sha256()
    for path in post_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def dev_posts() -> list[dict[str, Any]]:
    return [
        {**json.loads(line), "source": "dev"}
        for path in dev_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def public_posts() -> list[dict[str, Any]]:
    return [
        {"text": row.text, "intent": row.intent, "language": row.language, "source": row.source}
        for row in read(TRAIN_PATH)
    ]


def load_posts() -> list[dict[str, Any]]:
    return dev_posts() + public_posts()


def count(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """Both models: the hand-written posts' counts at the top, the public rows' under "public"."""
    dev = [post for post in posts if post["source"] == "dev"]
    public = [post for post in posts if post["source"] != "dev"]
    mine = _count(dev, LABELS)
    # Reasons may quote only words of the hand-written posts (never a name from a public row).
    mine["quotable"] = sorted(token for token in mine["counts"] if " " not in token)
    return {**mine, "public": _count(public, PUBLIC_LABELS, PUBLIC_MIN_DOCUMENTS)}


def _count(posts: list[dict[str, Any]], labels: tuple[str, ...], least: int = MIN_DOCUMENTS) -> dict[str, Any]:
    documents = Counter(post["intent"] for post in posts)
    per_token: dict[str, list[int]] = {}
    for post in posts:
        column = labels.index(post["intent"])
        for token in tokens(fold(post["text"])):
            per_token.setdefault(token, [0] * len(labels))[column] += 1
    kept = {token: row for token, row in sorted(per_token.items()) if sum(row) >= least}
    return {"labels": list(labels), "documents": {label: documents[label] for label in labels}, "counts": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=0, help="also cross-validate on the train posts")
    parser.add_argument("--figures", action="store_true", help="only print the held-out figures")
    args = parser.parse_args()
    if args.figures:
        from tools.nlp.evaluate import intent_figures, intent_scores

        print(json.dumps({"held_out": intent_figures(), "labelled_posts_macro_f1": intent_scores()}, indent=1))
        return
    posts = load_posts()
    document = {"posts_sha256": posts_digest(), "posts": len(posts), **count(posts)}
    COUNTS_PATH.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(posts)} posts, {len(document['counts'])} words and pairs -> {COUNTS_PATH}")
    if args.folds:
        from tools.nlp.evaluate import cross_validate_intents

        for weight, found in cross_validate_intents(posts, args.folds).items():
            print(f"public weight {weight}: " + ", ".join(f"{key} {value:.3f}" for key, value in found.items()))


if __name__ == "__main__":
    main()
