"""Processing benchmarks on a fixed 1,000-interaction mixed-language set (bench/corpus.py):

1. AWS calls per interaction with the Comprehend engine: Comprehend calls per API and Translate
   calls beside their floor (ceil(n / 25) per API per language for the batch APIs, n being the
   documents the call plan sends to it; one per document for the APIs with no batch form), billed
   Comprehend units, estimated DynamoDB write units, and the calls a redelivery of all 1,000 costs
   (target: zero). Target: <= 1.1x the floor. Also how the batch calls grow when the same
   interactions arrive in smaller SQS batches.
2. What each engine bills (issue 12): Comprehend units and dollars per million interactions for
   `comprehend`, `hybrid` and `local`, on the same 1,000 interactions and on the labelled posts
   (real-world text, where far more documents name someone); and the share of documents the hybrid
   sends to Comprehend by confidence threshold.
3. Processor throughput (interactions per second) with the offline analyzer, on moto.
4. Offline analyzer accuracy per language on the labelled posts.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.corpus import corpus, language_of
from bench.moto_speedups import fast_moto
from bench.table import render

TARGET = 1.1
# Comprehend's price per unit (100 characters, at least 3 a document) for sentiment, entities, key
# phrases, language, targeted sentiment and personal data, in its first tier (to 10 million units
# a month); Translate's per character (standard real-time translation, list price).
COMPREHEND_UNIT_PRICE = 0.0001
TRANSLATE_CHARACTER_PRICE = 15 / 1_000_000
ENGINES = ("comprehend", "hybrid", "local")
HYBRID_THRESHOLDS = (0.45, 0.5, 0.55, 0.65, 0.75)  # the default (nlp/hybrid.py) among them


def _environment() -> None:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )


def _batch_size() -> int:
    from chalice.app import SQSEventConfig

    from app import app

    return next(s.batch_size for s in app.event_sources if isinstance(s, SQSEventConfig))


def _run_batches(bodies: list[str], batch_size: int) -> None:
    """Hand the processor SQS batches of the configured size, as Lambda's event source would."""
    from chalicelib.handlers import processor
    from tools.local.worker import LambdaContext

    for start in range(0, len(bodies), batch_size):
        records = [
            {"messageId": f"m-{start + i}", "receiptHandle": "r", "body": body, "attributes": {},
             "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
             "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:socialcrm-dev-ingest", "awsRegion": "us-east-1"}
            for i, body in enumerate(bodies[start : start + batch_size])
        ]  # fmt: skip
        response = processor.handle({"Records": records}, LambdaContext("process_interactions"))
        assert not response.get("batchItemFailures"), response


def floors(interactions: list[Any]) -> dict[str, int]:
    """The fewest calls the Comprehend engine's call plan (nlp/comprehend.py) could take, given the
    APIs' batch sizes and languages: every document's sentiment, in its language or, translated, in
    English; entities, targeted sentiment and personal data detection for the documents the plan's
    checks (nlp/gates.py) send, read on the original text; language detection for the untagged
    documents the offline detector is unsure of; key phrases never (the offline rules give them)."""
    from chalicelib.nlp import gates
    from chalicelib.nlp.comprehend import ANALYSIS_LANGUAGES, LANGUAGE_CONFIDENCE, PII_LANGUAGES, TARGETED_LANGUAGES
    from chalicelib.nlp.engine import LanguageGuess
    from chalicelib.nlp.local import LocalEngine
    from chalicelib.nlp.text import names_any
    from chalicelib.rules.routing import load_default

    competitors = load_default().competitors
    analysed: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    targeted = personal_data = translated = 0
    for interaction in interactions:
        language = language_of(interaction.text)
        into = language if language in ANALYSIS_LANGUAGES else "en"
        analysed[into] += 1
        translated += into != language
        entities[into] += gates.may_name(interaction.text)
        targeted += into in TARGETED_LANGUAGES and names_any(interaction.text, competitors)
        personal_data += language in PII_LANGUAGES and gates.may_hold_personal_data(interaction.text)
    untagged = [i.text for i in interactions if i.platform not in ("x", "trustpilot")]
    unsure = sum(
        1
        for guess in LocalEngine().detect_languages(untagged)
        if not isinstance(guess, LanguageGuess) or guess.score < LANGUAGE_CONFIDENCE
    )

    def batches(counts: Counter[str]) -> int:
        return sum(math.ceil(n / 25) for n in counts.values())

    return {
        "BatchDetectDominantLanguage": math.ceil(unsure / 25),
        "BatchDetectSentiment": batches(analysed),
        "BatchDetectEntities": batches(entities),
        "BatchDetectKeyPhrases": 0,
        "BatchDetectTargetedSentiment": math.ceil(targeted / 25),
        "DetectPiiEntities": personal_data,
        "TranslateText": translated,
    }


def aws_calls(size: int = 1000) -> str:
    _environment()
    import boto3
    from moto import mock_aws

    from bench.dynamo_meter import DynamoMeter

    meter = DynamoMeter().install()
    from chalicelib import dependencies
    from chalicelib.adapters.aws import WORKER_PROFILE, client
    from chalicelib.adapters.queue import encode
    from tools.fake_comprehend import FakeComprehend
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    interactions = corpus(size)
    bodies = [encode(i) for i in interactions]
    batch_size = _batch_size()
    with (
        mock_aws(config={"core": {"passthrough": {"services": ["comprehend", "translate"]}}}),
        fast_moto(),
    ):
        os.environ.update(provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH)))
        os.environ["SOCIALCRM_NLP"] = "comprehend"
        dependencies.reset()
        fake = FakeComprehend(language_of).install(
            client("comprehend", WORKER_PROFILE), client("translate", WORKER_PROFILE)
        )
        meter.write_units, meter.requests = 0.0, Counter()
        _run_batches(bodies, batch_size)
        first_calls, first_units, write_units = Counter(fake.calls), Counter(fake.units), meter.write_units
        _run_batches(bodies, batch_size)  # every record delivered again
        redelivery_calls = sum(fake.calls.values()) - sum(first_calls.values())
    floor = floors(interactions)
    rows = []
    for api, minimum in floor.items():
        calls = first_calls[api]
        ratio = calls / minimum if minimum else (0.0 if not calls else math.inf)
        batched = api.startswith("Batch")
        rows.append(
            [api, calls, minimum, ratio, "ok" if not batched or ratio <= TARGET else "MISSED", first_units[api]]
        )
    comprehend_units = sum(units for api, units in first_units.items() if api != "TranslateText")
    summary = render(
        f"Per interaction ({size} interactions, SQS batches of {batch_size})",
        ["figure", "value"],
        [
            ["Comprehend calls", sum(c for api, c in first_calls.items() if api != "TranslateText") / size],
            ["Translate calls", first_calls["TranslateText"] / size],
            ["Comprehend billed units (100 characters, 3 minimum)", comprehend_units / size],
            ["DynamoDB write units (estimated)", write_units / size],
            ["AWS calls for a redelivered record", redelivery_calls / size],
        ],
    )
    return (
        render(
            f"AWS calls for {size} mixed-language interactions (target: batch APIs <= {TARGET}x floor)",
            ["API", "calls", "floor", "ratio", "target", "billed units"],
            rows,
        )
        + "\n"
        + summary
    )


def batching(size: int = 1000, batch_sizes: tuple[int, ...] = (100, 250, 1000)) -> str:
    """Batch API calls depend on how many documents of one language a batch holds: the same
    1,000 interactions delivered in smaller SQS batches (as a quieter queue would deliver them)."""
    _environment()
    import boto3

    from chalicelib.nlp.analysis import Document
    from chalicelib.nlp.comprehend import ComprehendEngine
    from chalicelib.nlp.pipeline import Analyzer
    from chalicelib.services.process import trusted_language_hint
    from tools.fake_comprehend import FakeComprehend

    interactions = corpus(size)
    minimum = floors(interactions)["BatchDetectSentiment"]
    rows = []
    for batch_size in batch_sizes:
        comprehend, translate = boto3.client("comprehend"), boto3.client("translate")
        fake = FakeComprehend(language_of).install(comprehend, translate)
        analyzer = Analyzer(ComprehendEngine(comprehend, translate))
        for start in range(0, size, batch_size):
            chunk = interactions[start : start + batch_size]
            analyzer.analyze([Document(i.text, trusted_language_hint(i)) for i in chunk], redact=True)
        calls = fake.calls["BatchDetectSentiment"]
        rows.append([batch_size, calls, minimum, calls / minimum])
    return render(
        "Calls per batch API (BatchDetectSentiment shown) by SQS batch size, same 1,000 interactions",
        ["batch size", "calls", "floor", "ratio"],
        rows,
    )


def _labelled_posts() -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "nlp" / "labelled_posts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def engine_costs(size: int = 1000) -> str:
    """What each engine bills, built as dependencies.analyzer builds it (the offline detector
    first, the default routing document's competitors), analysing what the processor hands it: the
    corpus' 1,000 interactions in one batch with their trusted tags, and the 410 labelled posts
    untagged. Comprehend and Translate are answered and counted by tools/fake_comprehend.py; the
    hybrid's share depends on the offline model's confidence, so it is measured, not computed (at
    each threshold; its row is the default's). The offline model runs once per set: its
    sentiments are remembered by text."""
    _environment()
    from moto import mock_aws

    from chalicelib.adapters.aws import WORKER_PROFILE, client, reset_clients
    from chalicelib.nlp.analysis import Document, Sentiment
    from chalicelib.nlp.comprehend import ComprehendEngine, competitors_plan
    from chalicelib.nlp.engine import Engine
    from chalicelib.nlp.hybrid import CONFIDENCE_THRESHOLD, HybridEngine
    from chalicelib.nlp.local import LocalEngine
    from chalicelib.nlp.pipeline import Analyzer
    from chalicelib.rules.routing import load_default
    from chalicelib.services.process import trusted_language_hint
    from tools.fake_comprehend import FakeComprehend

    class Remembered(LocalEngine):
        def __init__(self) -> None:
            super().__init__()
            self._seen: dict[tuple[str, str | None], Sentiment] = {}

        def sentiments(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
            missing = [text for text in dict.fromkeys(texts) if (text, language) not in self._seen]
            if missing:
                answers = super().sentiments(missing, language)
                self._seen.update(((text, language), answer) for text, answer in zip(missing, answers, strict=True))
            return [self._seen[text, language] for text in texts]

    interactions = corpus(size)
    posts = _labelled_posts()
    post_language = {post["text"]: post["language"] for post in posts}
    sets = {
        f"{size} interactions (bench/corpus.py)": (
            [Document(i.text, trusted_language_hint(i)) for i in interactions],
            language_of,
        ),
        f"{len(posts)} labelled posts, untagged (tests/data/nlp)": (
            [Document(post["text"]) for post in posts],
            lambda text: post_language.get(text, "en"),
        ),
    }
    plan = competitors_plan(lambda: load_default().competitors)
    rows = []
    shares = []
    with mock_aws(config={"core": {"passthrough": {"services": ["comprehend", "translate"]}}}):
        for label, (documents, languages) in sets.items():
            local = Remembered()
            # Built now, used one at a time: each takes its clients on its first call, after the
            # fake is installed on them.
            engines: list[tuple[str, float | None, Engine]] = [
                ("local", None, local),
                ("comprehend", None, ComprehendEngine(plan=plan, detector=local.detect_languages)),
            ]
            engines += [
                ("hybrid", t, HybridEngine(local, ComprehendEngine(plan=plan, detector=local.detect_languages), t))
                for t in HYBRID_THRESHOLDS
            ]
            for name, threshold, engine in engines:
                reset_clients()
                fake = FakeComprehend(languages).install(
                    client("comprehend", WORKER_PROFILE), client("translate", WORKER_PROFILE)
                )
                Analyzer(engine).analyze(documents, redact=True)
                count = len(documents)
                if threshold is not None:
                    shares.append([label, threshold, fake.documents["BatchDetectSentiment"] / count])
                    if threshold != CONFIDENCE_THRESHOLD:
                        continue
                paid = {api: n for api, n in fake.units.items() if api != "TranslateText" and n}
                units = sum(paid.values()) / count
                characters = fake.characters["TranslateText"] / count
                rows.append(
                    [
                        label,
                        name,
                        sum(n for api, n in fake.calls.items() if api != "TranslateText") / count,
                        units,
                        units * COMPREHEND_UNIT_PRICE * 1e6,
                        characters,
                        characters * TRANSLATE_CHARACTER_PRICE * 1e6,
                        ", ".join(f"{api.removeprefix('Batch')} {n / count:.2f}" for api, n in sorted(paid.items())),
                    ]
                )
    reset_clients()
    order = {name: index for index, name in enumerate(ENGINES)}
    rows.sort(key=lambda row: (str(row[0]) != next(iter(sets)), order[str(row[1])]))
    return (
        render(
            f"Billed per interaction by engine (Comprehend ${COMPREHEND_UNIT_PRICE} a unit; "
            f"Translate ${TRANSLATE_CHARACTER_PRICE * 1e6:.0f} per million characters)",
            [
                "documents",
                "engine",
                "Comprehend calls",
                "Comprehend units",
                "Comprehend $/M interactions",
                "Translate characters",
                "Translate $/M",
                "units by API",
            ],
            rows,
        )
        + "\n"
        + render(
            "Hybrid: share of documents whose sentiment Comprehend gives, by confidence threshold",
            ["documents", "threshold", "share"],
            shares,
        )
    )


def throughput(size: int = 1000) -> str:
    _environment()
    import boto3
    from moto import mock_aws

    from chalicelib import dependencies
    from chalicelib.adapters.queue import encode
    from chalicelib.nlp.analysis import Document
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    bodies = [encode(i) for i in corpus(size, seed=11)]
    batch_size = _batch_size()
    with mock_aws(), fast_moto():
        os.environ.update(provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH)))
        os.environ["SOCIALCRM_NLP"] = "local"
        dependencies.reset()
        dependencies.analyzer().analyze([Document("warm up the model", "en")], redact=False)
        started = time.perf_counter()
        _run_batches(bodies, batch_size)
        elapsed = time.perf_counter() - started
        analysis_started = time.perf_counter()
        dependencies.analyzer().analyze([Document(i.text) for i in corpus(size, seed=12)], redact=True)
        analysis_elapsed = time.perf_counter() - analysis_started
    return render(
        f"Processor throughput, offline analyzer, moto in process, batches of {batch_size}",
        ["stage", "interactions", "seconds", "interactions/s"],
        [
            ["whole processor (claim, analyse, store)", size, elapsed, size / elapsed],
            ["analysis alone", size, analysis_elapsed, size / analysis_elapsed],
        ],
    )


def accuracy() -> str:
    from tools.nlp import evaluate

    scores = evaluate.scores()
    order = ["en", "pt", "es", "it", "cs", "pl", "all"]
    return render(
        "Offline analyzer on the labelled posts (tests/data/nlp): accuracy",
        [
            "language",
            "posts",
            "language detection",
            "sentiment (3 labels, MIXED posts left out)",
            "PII recall",
            "PII precision",
        ],
        [
            [key, int(s["posts"]), s["language"], s["sentiment"], s["pii_recall"], s["pii_precision"]]
            for key in order
            for s in [scores[key]]
        ],
    )


def run() -> str:
    return "\n".join((aws_calls(), engine_costs(), batching(), throughput(), accuracy()))


if __name__ == "__main__":
    print(run())
