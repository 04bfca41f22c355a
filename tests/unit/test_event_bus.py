"""EventBus against botocore's Stubber on a real `events` client (responses shaped as the
PutEvents API reference documents them), then a round trip through moto's EventBridge to SQS.

PutEvents takes at most 10 entries and 256 KB a call, the size of an entry computed as AWS
documents it ("Calculating PutEvents event entry size"): the UTF-8 bytes of Source, DetailType,
Detail and each Resources entry, plus 14 bytes for Time if one is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.adapters import aws
from chalicelib.adapters.events import ATTEMPTS, MAX_BYTES, MAX_ENTRIES, EventBus, batches, entry_size
from chalicelib.models.events import SOURCE, DetailType, DomainEvent
from chalicelib.rules import hygiene
from tests.helpers import drain

BUS = "socialcrm-dev"
KIB = 1024


def event(n: int, pad: str = "", detail_type: DetailType = DetailType.CASE_OPENED) -> DomainEvent:
    return DomainEvent(detail_type, {"schema_version": 1, "dedupe_key": f"k{n:03d}", "severity": "low", "pad": pad})


def entry(e: DomainEvent) -> dict[str, Any]:
    """The PutEvents entry EventBus must send for an event."""
    return {
        "Source": "socialcrm",
        "DetailType": e.detail_type.value,
        "Detail": json.dumps(e.detail, ensure_ascii=False, separators=(",", ":")),
        "EventBusName": BUS,
    }


def documented_size(item: dict[str, Any]) -> int:
    """AWS's own algorithm (the Java sample in the EventBridge user guide), written out again."""
    size = 14 if item.get("Time") is not None else 0
    size += len(item["Source"].encode("utf-8")) + len(item["DetailType"].encode("utf-8"))
    if item.get("Detail") is not None:
        size += len(item["Detail"].encode("utf-8"))
    size += sum(len(resource.encode("utf-8")) for resource in item.get("Resources") or [])
    return size


def sized(n: int, size: int) -> DomainEvent:
    """An event whose entry is exactly `size` bytes as AWS counts them; the padding is mostly
    three-byte characters, so a size counted in characters would be far off."""
    base = documented_size(entry(event(n)))
    wide, narrow = divmod(size - base, 3)
    made = event(n, "€" * wide + "a" * narrow)
    assert documented_size(entry(made)) == size
    assert len(entry(made)["Detail"]) < size - 2 * wide + 100  # characters are not bytes here
    return made


def accepted(count: int, start: int = 0) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"ev-{start + i:04d}"} for i in range(count)]}


def failed(code: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": f"{code} (test)"}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The adapter's backoff between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("chalicelib.adapters.batching.time.sleep", recorded.append)  # the shared retry loop
    return recorded


def expect(stubber: Stubber, response: dict[str, Any], sent: list[DomainEvent]) -> None:
    stubber.add_response("put_events", response, {"Entries": [entry(e) for e in sent]})


# --- batching -------------------------------------------------------------------------------------


def test_25_events_are_three_calls_of_10_10_and_5(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    events = [event(i) for i in range(25)]
    expect(stubber, accepted(10), events[:10])
    expect(stubber, accepted(10, 10), events[10:20])
    expect(stubber, accepted(5, 20), events[20:])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True] * 25
    assert bus.calls == 3


def test_nothing_to_publish_is_no_call(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed
    bus = EventBus(BUS, client)
    assert bus.publish([]) == []
    assert bus.calls == 0


def test_entry_size_is_computed_as_aws_documents_it() -> None:
    plain = entry(event(1, "é€😀 plain"))
    assert entry_size(plain) == documented_size(plain)
    assert entry_size(plain) == len(b"socialcrm") + len(b"Case Opened") + len(plain["Detail"].encode())
    with_time = {**plain, "Time": "2026-11-22T09:30:00Z"}
    assert entry_size(with_time) == documented_size(with_time) == entry_size(plain) + 14
    with_resources = {**plain, "Resources": ["arn:aws:events:us-east-1:123456789012:rule/x", "ü"]}
    assert entry_size(with_resources) == entry_size(plain) + 44 + 2
    # EventBusName is not part of the size
    assert entry_size({**plain, "EventBusName": "x" * 1000}) == entry_size(plain)


def test_entries_filling_256_kib_exactly_go_in_one_call(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    events = [sized(0, 100 * KIB), sized(1, 100 * KIB), sized(2, MAX_BYTES - 200 * KIB)]
    assert sum(documented_size(entry(e)) for e in events) == MAX_BYTES == 262_144
    expect(stubber, accepted(3), events)
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True, True, True]
    assert bus.calls == 1


def test_one_byte_over_256_kib_splits_the_call(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    events = [sized(0, 100 * KIB), sized(1, 100 * KIB), sized(2, MAX_BYTES - 200 * KIB + 1)]
    expect(stubber, accepted(2), events[:2])
    expect(stubber, accepted(1, 2), events[2:])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True, True, True]
    assert bus.calls == 2


def test_calls_are_packed_by_size_and_count_together(stubbed: tuple[Any, Stubber]) -> None:
    """30 KiB entries: eight fit in 256 KiB (240 KiB), a ninth would not; small ones fill to ten."""
    client, stubber = stubbed
    big = [sized(i, 30 * KIB) for i in range(12)]
    small = [event(100 + i) for i in range(7)]
    everything = big + small
    assert batches([entry(e) for e in everything]) == [list(range(8)), list(range(8, 18)), [18]]
    expect(stubber, accepted(8), everything[:8])
    expect(stubber, accepted(10, 8), everything[8:18])
    expect(stubber, accepted(1, 18), everything[18:])
    bus = EventBus(BUS, client)
    assert bus.publish(everything) == [True] * 19
    assert bus.calls == 3


def test_an_event_of_exactly_256_kib_is_sent(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    limit = sized(0, MAX_BYTES)
    expect(stubber, accepted(1), [limit])
    assert EventBus(BUS, client).publish([limit]) == [True]


def test_an_event_over_256_kib_is_reported_failed_without_a_call(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    over, fine = sized(0, MAX_BYTES + 1), event(1)
    expect(stubber, accepted(1), [fine])
    bus = EventBus(BUS, client)
    assert bus.publish([over, fine]) == [False, True]
    assert bus.calls == 1


# --- entries that failed in a call that succeeded -------------------------------------------------


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalFailure", "InternalException"])
def test_retryable_failed_entries_are_sent_again_alone(
    stubbed: tuple[Any, Stubber], sleeps: list[float], code: str
) -> None:
    client, stubber = stubbed
    events = [event(i) for i in range(4)]
    first = {
        "FailedEntryCount": 2,
        "Entries": [{"EventId": "ev-0"}, failed(code), {"EventId": "ev-2"}, failed("ThrottlingException")],
    }
    expect(stubber, first, events)
    expect(stubber, accepted(2, 10), [events[1], events[3]])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True] * 4
    assert bus.calls == 2
    assert sleeps == [0.2]


def test_retries_of_several_calls_are_packed_together(stubbed: tuple[Any, Stubber], sleeps: list[float]) -> None:
    client, stubber = stubbed
    events = [event(i) for i in range(15)]
    throttled = failed("ThrottlingException")
    first = accepted(10)
    for i in (2, 5, 9):
        first["Entries"][i] = throttled
    first["FailedEntryCount"] = 3
    second = {"FailedEntryCount": 1, "Entries": [*accepted(4, 10)["Entries"], failed("InternalFailure")]}
    expect(stubber, first, events[:10])
    expect(stubber, second, events[10:])
    expect(stubber, accepted(4, 20), [events[2], events[5], events[9], events[14]])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True] * 15
    assert bus.calls == 3


def test_an_entry_failing_every_attempt_is_reported_failed(stubbed: tuple[Any, Stubber], sleeps: list[float]) -> None:
    client, stubber = stubbed
    events = [event(0), event(1)]
    expect(stubber, {"FailedEntryCount": 1, "Entries": [{"EventId": "ev-0"}, failed("ThrottlingException")]}, events)
    for _ in range(ATTEMPTS - 1):
        expect(stubber, {"FailedEntryCount": 1, "Entries": [failed("ThrottlingException")]}, [events[1]])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True, False]
    assert bus.calls == ATTEMPTS == 4
    assert sleeps == [0.2, 0.4, 0.8]  # exponential backoff between attempts


@pytest.mark.parametrize(
    "code",
    [
        "AccessDeniedException",
        "MalformedDetail",
        "InvalidArgument",
        "NotAuthorizedForSourceException",
        "ValidationException",
    ],
)
def test_a_refused_entry_fails_alone_and_is_not_retried(stubbed: tuple[Any, Stubber], code: str) -> None:
    client, stubber = stubbed
    events = [event(0), event(1), event(2)]
    expect(
        stubber, {"FailedEntryCount": 1, "Entries": [{"EventId": "ev-0"}, failed(code), {"EventId": "ev-2"}]}, events
    )
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [True, False, True]
    assert bus.calls == 1


def test_refused_and_retryable_in_one_response(stubbed: tuple[Any, Stubber], sleeps: list[float]) -> None:
    client, stubber = stubbed
    events = [event(i) for i in range(3)]
    first = {
        "FailedEntryCount": 2,
        "Entries": [failed("MalformedDetail"), failed("ThrottlingException"), {"EventId": "e"}],
    }
    expect(stubber, first, events)
    expect(stubber, accepted(1), [events[1]])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [False, True, True]
    assert bus.calls == 2


# --- a call that fails outright ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [("ThrottlingException", 400), ("InternalException", 500), ("AccessDeniedException", 400)]
)
def test_a_failed_call_fails_its_events_only(stubbed: tuple[Any, Stubber], code: str, status: int) -> None:
    """botocore's retries are done by then (the Stubber answers after them, so the error is final
    here); the adapter does not retry the call itself: the records go back to SQS."""
    client, stubber = stubbed
    events = [event(i) for i in range(15)]
    stubber.add_client_error(
        "put_events",
        service_error_code=code,
        service_message="Rate exceeded",
        http_status_code=status,
        expected_params={"Entries": [entry(e) for e in events[:10]]},
    )
    expect(stubber, accepted(5), events[10:])
    bus = EventBus(BUS, client)
    assert bus.publish(events) == [False] * 10 + [True] * 5
    assert bus.calls == 2


class ScriptedTransport:
    """Answers PutEvents at botocore's transport (`before-send`), below its retry handler, with
    HTTP responses as EventBridge's JSON protocol sends them."""

    def __init__(self, responses: list[tuple[int, dict[str, Any]]]) -> None:
        self.responses = responses
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse:
        self.requests.append(json.loads(request.body))
        status, body = self.responses.pop(0)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-RequestId"] = f"req-{len(self.requests)}"
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


@pytest.fixture
def worker_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The client EventBus builds for itself (worker profile), with botocore's waits skipped: the
    backoff between attempts, and adaptive mode's client-side rate limiter, which slows the
    client down for a couple of seconds after a throttle."""
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    monkeypatch.setattr("botocore.retries.bucket.TokenBucket._sleep_amount", lambda self, amount: 0)
    aws.reset_clients()
    yield aws.client("events", aws.WORKER_PROFILE)
    aws.reset_clients()


def test_botocore_retries_a_throttled_call_before_the_adapter_sees_it(worker_client: Any) -> None:
    throttled = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    transport = ScriptedTransport([throttled, throttled, (200, accepted(2))])
    worker_client.meta.events.register("before-send.events.PutEvents", transport)
    bus = EventBus(BUS)  # builds the worker-profile client: the one just made, cached
    assert bus.publish([event(0), event(1)]) == [True, True]
    assert bus.calls == 1  # one call for the adapter, three HTTP requests underneath
    assert len(transport.requests) == 3
    assert transport.requests[0] == transport.requests[2] == {"Entries": [entry(event(0)), entry(event(1))]}


def test_a_call_botocore_gives_up_on_fails_its_events(worker_client: Any) -> None:
    attempts = worker_client.meta.config.retries["total_max_attempts"]
    internal = (500, {"__type": "InternalException", "message": "try again"})
    transport = ScriptedTransport([internal] * attempts)
    worker_client.meta.events.register("before-send.events.PutEvents", transport)
    bus = EventBus(BUS)
    assert bus.publish([event(0)]) == [False]
    assert (bus.calls, len(transport.requests)) == (1, attempts)


# --- a real round trip ----------------------------------------------------------------------------


def test_round_trip_through_eventbridge_to_sqs_on_moto() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name=BUS)
        queues = {}
        for name in ("everything", "routed-alerts"):
            url = sqs.create_queue(QueueName=f"{BUS}-{name}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queues[name] = url
            pattern: dict[str, Any] = {"source": [SOURCE]}
            if name == "routed-alerts":  # as infra/template.json's RoutedAlertsRule
                pattern = {**pattern, "detail-type": ["Interaction Routed"], "detail": {"alert": [True]}}
            events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern), State="ENABLED")
            events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])

        sent = [
            DomainEvent(DetailType.INTERACTION_ROUTED, {"dedupe_key": "routed:x:1", "alert": True, "severity": "high"}),
            DomainEvent(
                DetailType.INTERACTION_ROUTED, {"dedupe_key": "routed:x:2", "alert": False, "severity": "info"}
            ),
            DomainEvent(DetailType.CRISIS_ALERT, {"dedupe_key": "crisis:b:1", "brand": "b", "severity": "critical"}),
            *[event(i, "é€") for i in range(12)],
        ]
        bus = EventBus(BUS, events)
        assert bus.publish(sent) == [True] * len(sent)
        assert bus.calls == 2

        received = drain(sqs, queues["everything"])
        assert sorted(r["detail"]["dedupe_key"] for r in received) == sorted(e.dedupe_key for e in sent)
        for message in received:
            assert message["source"] == "socialcrm"
            assert message["version"] == "0"
            assert message["region"] == "us-east-1"
            assert message["id"]
            assert message["time"]
            original = next(e for e in sent if e.dedupe_key == message["detail"]["dedupe_key"])
            assert message["detail-type"] == original.detail_type.value
            assert message["detail"] == original.detail  # an object again, non-ASCII intact
        routed = drain(sqs, queues["routed-alerts"])
        assert [r["detail"]["dedupe_key"] for r in routed] == ["routed:x:1"]

        # and the notifier reads what the rule delivers
        alert = hygiene.from_event(routed[0], received_at=datetime.now(UTC))
        assert (alert.detail_type, alert.severity.value, alert.dedupe_key) == (
            "Interaction Routed",
            "high",
            "routed:x:1",
        )


def test_max_entries_is_what_the_api_allows() -> None:
    assert (MAX_ENTRIES, MAX_BYTES) == (10, 256 * 1024)
