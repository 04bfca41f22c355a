"""Processing benchmarks on a fixed 1,000-interaction mixed-language set (bench/corpus.py):

1. AWS calls per interaction with the Comprehend engine: Comprehend calls per API and Translate
   calls beside their floor (ceil(n / 25) per API per language for the batch APIs; one per document
   for the APIs with no batch form), billed Comprehend units, estimated DynamoDB write units, and
   the calls a redelivery of all 1,000 costs (target: zero). Target: <= 1.1x the floor. Also how
   the batch calls grow when the same interactions arrive in smaller SQS batches.
2. Processor throughput (interactions per second) with the offline analyzer, on moto.
3. Offline analyzer accuracy per language on the labelled posts.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from typing import Any

from bench.corpus import corpus, language_of
from bench.moto_speedups import no_transaction_snapshots
from bench.table import render

TARGET = 1.1
BATCH_APIS = ("BatchDetectSentiment", "BatchDetectEntities", "BatchDetectKeyPhrases")


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
    """The fewest calls the work could take, given the APIs' batch sizes and languages."""
    from chalicelib.nlp.comprehend import ANALYSIS_LANGUAGES, PII_LANGUAGES

    languages = Counter(language_of(i.text) for i in interactions)
    analysed: Counter[str] = Counter()
    for language, count in languages.items():
        analysed[language if language in ANALYSIS_LANGUAGES else "en"] += count
    undetected = sum(1 for i in interactions if i.platform not in ("x", "trustpilot"))
    floor = {api: sum(math.ceil(n / 25) for n in analysed.values()) for api in BATCH_APIS}
    floor["BatchDetectDominantLanguage"] = math.ceil(undetected / 25)
    floor["BatchDetectTargetedSentiment"] = math.ceil(analysed["en"] / 25)
    floor["DetectPiiEntities"] = sum(n for language, n in languages.items() if language in PII_LANGUAGES)
    floor["TranslateText"] = sum(n for language, n in languages.items() if language not in ANALYSIS_LANGUAGES)
    return floor


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
        no_transaction_snapshots(),
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
        ratio = calls / minimum if minimum else 0.0
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
    with mock_aws(), no_transaction_snapshots():
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
        ["language", "posts", "language detection", "sentiment (4 labels)", "PII recall", "PII precision"],
        [
            [key, int(s["posts"]), s["language"], s["sentiment"], s["pii_recall"], s["pii_precision"]]
            for key in order
            for s in [scores[key]]
        ],
    )


def run() -> str:
    return "\n".join((aws_calls(), batching(), throughput(), accuracy()))


if __name__ == "__main__":
    print(run())
