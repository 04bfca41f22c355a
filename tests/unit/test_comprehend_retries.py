"""Throttling is retried by botocore itself (the engine's clients use adaptive retries); these
tests answer at the HTTP layer, below botocore's retry logic, which Stubber would bypass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from chalicelib.adapters.aws import _PROFILES, WORKER_PROFILE, client, reset_clients
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document
from chalicelib.nlp.comprehend import ComprehendEngine
from chalicelib.nlp.pipeline import Analyzer
from tools.fake_comprehend import RawBody

THROTTLED = {"__type": "ThrottlingException", "Message": "Rate exceeded"}


def respond(status: int, body: dict[str, Any]) -> AWSResponse:
    headers = HTTPHeaders()
    return AWSResponse(
        "https://comprehend.us-east-1.amazonaws.com/", status, headers, RawBody(json.dumps(body).encode())
    )


def documents_in(request: Any) -> int:
    return len(json.loads(request.body)["TextList"])


def ok(operation: str, count: int) -> dict[str, Any]:
    if operation == "BatchDetectSentiment":
        score = {"Positive": 0.9, "Negative": 0.02, "Neutral": 0.07, "Mixed": 0.01}
        results = [{"Index": i, "Sentiment": "POSITIVE", "SentimentScore": score} for i in range(count)]
    elif operation == "BatchDetectEntities":
        results = [{"Index": i, "Entities": []} for i in range(count)]
    else:
        results = [{"Index": i, "KeyPhrases": []} for i in range(count)]
    return {"ResultList": results, "ErrorList": []}


@pytest.fixture
def comprehend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # botocore's backoff, not the test's time
    reset_clients()
    yield client("comprehend", WORKER_PROFILE)
    reset_clients()


def install(comprehend: Any, throttle: dict[str, int]) -> dict[str, int]:
    """Answer each Batch* call, throttling the first `throttle[operation]` calls of an operation
    (a count of -1 throttles for ever)."""
    calls: dict[str, int] = {}

    def handler(request: Any, **kwargs: Any) -> AWSResponse:
        operation_name = request.headers["X-Amz-Target"].decode().split(".")[-1]
        calls[operation_name] = calls.get(operation_name, 0) + 1
        limit = throttle.get(operation_name, 0)
        if limit < 0 or calls[operation_name] <= limit:
            return respond(400, THROTTLED)
        return respond(200, ok(operation_name, documents_in(request)))

    comprehend.meta.events.register("before-send.comprehend", handler)
    return calls


def test_throttling_then_success_is_retried_by_botocore(comprehend: Any) -> None:
    calls = install(comprehend, {"BatchDetectSentiment": 2})
    analyzer = Analyzer(ComprehendEngine(comprehend, concurrency=1))
    results = analyzer.analyze([Document("Adoro o novo plano!", "pt")], redact=False)
    assert isinstance(results[0], Analysis)
    assert results[0].sentiment is not None
    assert results[0].sentiment.label == "POSITIVE"
    assert calls["BatchDetectSentiment"] == 3


def test_throttling_that_outlasts_the_retries_fails_the_chunks_documents_only(comprehend: Any) -> None:
    calls = install(comprehend, {"BatchDetectSentiment": -1})
    analyzer = Analyzer(ComprehendEngine(comprehend, concurrency=1))
    results = analyzer.analyze([Document("Adoro o novo plano!", "pt"), Document("Servizio ottimo", "it")], redact=False)
    assert all(isinstance(result, AnalysisFailed) for result in results)
    assert str(results[0]) == "analysis: ThrottlingException"
    assert str(results[1]) == "analysis: ThrottlingException"
    assert calls["BatchDetectSentiment"] == 2 * WORKER_ATTEMPTS  # each language's chunk, every attempt


# botocore's `retries.max_attempts` counts retries: one first attempt more.
WORKER_ATTEMPTS = 1 + int(_PROFILES[WORKER_PROFILE]["retries"]["max_attempts"])
