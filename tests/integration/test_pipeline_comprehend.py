"""The pipeline with the Comprehend engine as dependencies builds it (the offline language detector
first, the cost-aware call plan): batched calls for a whole SQS batch, translation for languages
Comprehend lacks, and not one paid call for a redelivered record. Comprehend and
Translate are answered at botocore's HTTP layer (tools/fake_comprehend.py); the rest is moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import _PROFILES, WORKER_PROFILE, client
from chalicelib.adapters.queue import RetryScheduler
from tests.helpers import one_pass, process_queue
from tools.fake_comprehend import FakeComprehend
from tools.webhook_client import sign

# botocore's `retries.max_attempts` counts retries: one first attempt more.
WORKER_ATTEMPTS = 1 + int(_PROFILES[WORKER_PROFILE]["retries"]["max_attempts"])
LANGUAGE_OF = {"Olá": "pt", "Hola": "es", "Ciao": "it", "Dobrý": "cs", "Dzień": "pl", "Hello": "en"}


def language_of(text: str) -> str:
    return next((code for marker, code in LANGUAGE_OF.items() if text.startswith(marker)), "en")


@pytest.fixture
def fake(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeComprehend]:
    monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
    dependencies.reset()
    yield FakeComprehend(language_of).install(client("comprehend", WORKER_PROFILE), client("translate", WORKER_PROFILE))
    dependencies.reset()


def generic_events(texts: list[str]) -> bytes:
    events = [
        {
            "id": f"post-{i}",
            "author": {"id": f"u{i % 7}"},
            "text": text,
            "created_at": "2026-11-22T10:00:00Z",
            "kind": "comment",
        }
        for i, text in enumerate(texts)
    ]
    return json.dumps({"events": events}).encode()


def deliver(client: Any, secrets: dict[str, Any], body: bytes) -> None:
    request = sign("generic", body, secrets, source="forum")
    assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200


TEXTS = (
    [f"Olá, o pedido {i} chegou atrasado" for i in range(30)]
    + [f"Hola, gracias por todo {i}" for i in range(10)]
    + [f"Dobrý den, zásilka {i} nedorazila" for i in range(4)]
    + [f"Hello, my router {i} is broken" for i in range(6)]
)


def test_one_batch_is_analysed_in_batched_calls_per_language(client, sqs, aws, secrets, fake) -> None:
    """The call plan on a whole batch (nlp/comprehend.py): no tag is trusted, so the offline
    detector reads every text and Comprehend detects only the four short Czech texts it is unsure
    of; sentiment for all 50, batched per language; nothing names anyone, a competitor or personal
    data the patterns cannot find, so no entity, key phrase, targeted sentiment or PII call."""
    deliver(client, secrets, generic_events(TEXTS))
    assert process_queue(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"]) == len(TEXTS)
    assert fake.calls["BatchDetectDominantLanguage"] == 1
    assert fake.documents["BatchDetectDominantLanguage"] == 4
    # pt 30 -> 2 calls, es 10 -> 1, en 6 + 4 translated cs -> 1.
    assert fake.calls["BatchDetectSentiment"] == 4
    assert fake.documents["BatchDetectSentiment"] == len(TEXTS)
    assert fake.calls["TranslateText"] == 4
    for dropped in (
        "BatchDetectEntities",
        "BatchDetectKeyPhrases",
        "BatchDetectTargetedSentiment",
        "DetectPiiEntities",
    ):
        assert fake.calls[dropped] == 0, dropped

    store = dependencies.customer_store()
    customer_id = store.customer_for("forum", "u0")
    assert customer_id is not None
    page, _ = store.interactions(customer_id, 50)
    czech = next(i for i in page if i.analysis["language"] == "cs")
    assert czech.analysis["translated_text"].startswith("[cs->en] Dobrý den")
    assert czech.analysis["sentiment"]["label"] == "NEUTRAL"
    portuguese = next(i for i in page if i.analysis["language"] == "pt")
    assert portuguese.analysis["sentiment"]["label"] == "NEGATIVE"
    assert portuguese.analysis["engine"] == "comprehend"


def test_throttling_that_outlasts_the_retries_fails_only_its_records(
    client, sqs, aws, secrets, fake, monkeypatch
) -> None:
    """Spanish is throttled on every attempt: botocore retries, then the Spanish records, and only
    they, are reported failed to SQS with their claims released; Portuguese is stored meanwhile.
    Once Comprehend answers again, their redelivery is analysed and stored."""
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # botocore's backoff, not the test's time
    monkeypatch.setattr(RetryScheduler, "delay", staticmethod(lambda receive_count: 0))  # redeliver at once
    fake.throttled_languages = {"es"}
    queue_url = aws["SOCIALCRM_INGEST_QUEUE_URL"]
    texts = [f"Olá, o pedido {i} chegou atrasado" for i in range(3)] + [f"Hola, gracias por todo {i}" for i in range(2)]
    deliver(client, secrets, generic_events(texts))
    assert one_pass(sqs, queue_url) == 5
    # Spanish fails at sentiment (its one batch call, retried by botocore), on every attempt.
    assert fake.calls["BatchDetectSentiment"] == 1 + WORKER_ATTEMPTS  # Portuguese once, Spanish throttled
    assert fake.calls["DetectPiiEntities"] == 0  # nothing here the patterns cannot decide
    store = dependencies.customer_store()
    stored = {author: store.customer_for("forum", author) is not None for author in ("u0", "u1", "u2", "u3", "u4")}
    assert stored == {"u0": True, "u1": True, "u2": True, "u3": False, "u4": False}

    fake.throttled_languages = set()
    assert one_pass(sqs, queue_url) == 2  # only the Spanish records come back
    assert fake.calls["BatchDetectSentiment"] == 2 + WORKER_ATTEMPTS  # the two analysed together, once
    assert store.customer_for("forum", "u3") is not None
    assert store.customer_for("forum", "u4") is not None
    assert one_pass(sqs, queue_url) == 0


def test_redelivered_records_cost_no_comprehend_call(client, sqs, aws, secrets, fake) -> None:
    body = generic_events(TEXTS[:20])
    deliver(client, secrets, body)
    process_queue(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"])
    before = sum(fake.calls.values())
    deliver(client, secrets, body)  # the platform delivers the same events again
    assert process_queue(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"]) == 20
    assert sum(fake.calls.values()) == before
    store = dependencies.customer_store()
    customer_id = store.customer_for("forum", "u0")
    assert customer_id is not None
    page, _ = store.interactions(customer_id, 50)
    assert len(page) == 3  # post-0, post-7, post-14: stored once each


def test_recent_interactions_across_customers_by_time_and_sentiment(client, sqs, aws, secrets, fake) -> None:
    deliver(client, secrets, generic_events(TEXTS[:12] + TEXTS[30:36]))  # 12 negative pt, 6 positive es
    process_queue(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"])
    store = dependencies.customer_store()
    since, until = datetime(2026, 11, 22, 9, tzinfo=UTC), datetime(2026, 11, 22, 11, tzinfo=UTC)
    everything = store.recent(since, until)
    assert len(everything) == 18
    assert len({r.customer_id for r in everything}) == 7
    negative = store.recent(since, until, sentiment="NEGATIVE")
    assert sorted(r.external_id for r in negative) == sorted(f"post-{i}" for i in range(12))
    assert all(r.sentiment_label == "NEGATIVE" and r.polarity is not None and r.polarity < 0 for r in negative)
    assert store.recent(until, until + timedelta(hours=1)) == []


def test_a_named_competitor_and_a_name_are_worth_their_calls(client, sqs, aws, secrets, fake) -> None:
    """dependencies wires the routing document's competitors into the plan: the English message
    naming one (and capitalised names) gets entities and targeted sentiment; the one beside it,
    naming nothing, gets neither."""
    texts = ["Hello, I am moving to Nimbus Mobile next month", "Hello, my router 7 is broken"]
    deliver(client, secrets, generic_events(texts))
    assert process_queue(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"]) == 2
    assert fake.documents["BatchDetectSentiment"] == 2
    assert fake.documents["BatchDetectEntities"] == 1
    assert fake.documents["BatchDetectTargetedSentiment"] == 1
    assert fake.calls["BatchDetectKeyPhrases"] == 0
