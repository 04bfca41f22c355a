"""Trustpilot rules the captures in tests/data/captures/trustpilot do not show: product reviews,
updates and deletions (names known, bodies never published), and events of unknown names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.channels import trustpilot
from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Action, Author, Kind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def parse(*events: dict[str, Any]) -> ParseResult:
    return trustpilot.parse(json.dumps({"events": list(events)}).encode(), NOW)


def service(name: str = "service-review-created", **data: Any) -> dict[str, Any]:
    review = {
        "id": "62c8968b00000000000000a1",
        "language": "en",
        "stars": 2,
        "title": "Slow",
        "text": "Waited an hour.",
        "locationId": None,
        "createdAt": "2022-07-08T22:41:48Z",
        "consumer": {"id": "bbbbb", "name": "some one"},
    }
    return {"eventName": name, "version": "1", "eventData": {**review, **data}}


def product(**data: Any) -> dict[str, Any]:
    review = {
        "id": "6a00000000000000000000b1",
        "stars": 1,
        "content": "The grinder broke after a week.",
        "product": {"id": "6a00000000000000000000p1", "sku": "GR-1", "name": "Grinder"},
        "referenceId": "ORDER-1",
        "consumer": {"id": "6a00000000000000000000c1", "name": "Ana", "email": "ana@example.com"},
        "state": "published",
        "createdAt": "2026-11-20T10:00:00.000Z",
    }
    return {"eventName": "product-review-created", "version": "1", "eventData": {**review, **data}}


def test_a_product_review_is_a_review_threaded_by_its_product_without_the_email() -> None:
    (got,) = parse(product()).interactions
    assert (got.kind, got.action, got.external_id, got.thread_id, got.parent_id) == (
        Kind.REVIEW,
        Action.CREATED,
        "6a00000000000000000000b1",
        "6a00000000000000000000p1",
        None,
    )
    assert (got.text, got.rating, got.title) == ("The grinder broke after a week.", 1.0, None)
    assert got.author == Author("6a00000000000000000000c1", None, "Ana")
    assert "ana@example.com" not in json.dumps(got.to_dict())


def test_a_product_review_not_yet_published_is_still_what_the_customer_wrote() -> None:
    (got,) = parse(product(state="pending")).interactions
    assert got.text == "The grinder broke after a week."


def test_a_consumer_named_only_by_display_name_keeps_it() -> None:
    (got,) = parse(product(consumer={"id": "c2", "displayName": "Ana P."})).interactions
    assert got.author == Author("c2", None, "Ana P.")


def test_an_unknown_event_is_kept_and_its_neighbours_are_queued() -> None:
    result = parse(service(), service("foo", id="other"), product())
    assert [i.external_id for i in result.interactions] == ["62c8968b00000000000000a1", "6a00000000000000000000b1"]
    assert result.unread == {"unknown": 1}
    assert result.problems == ["events[1].eventName: not handled: 'foo'"]


def test_product_review_edits_are_unknown_until_their_shape_is_seen() -> None:
    result = parse({**product(), "eventName": "product-review-updated"})
    assert (result.interactions, dict(result.ignored)) == ([], {"unknown": 1})


def test_an_event_without_a_name_is_malformed() -> None:
    result = parse({"version": "1", "eventData": {}})
    assert result.ignored == {"malformed": 1}


def test_updates_and_deletions_keep_the_review_id() -> None:
    result = parse(service("service-review-updated", stars=4), service("service-review-deleted", id="r2"))
    edited, deleted = result.interactions
    assert (edited.action, edited.external_id, edited.rating) == (Action.EDITED, "62c8968b00000000000000a1", 4.0)
    assert (deleted.action, deleted.idempotency_key) == (Action.DELETED, "trustpilot:r2:deleted")


def test_a_deletion_without_the_review_s_time_happened_when_it_arrived() -> None:
    event = service("service-review-deleted")
    del event["eventData"]["createdAt"]
    (got,) = parse(event).interactions
    assert got.occurred_at == NOW


def test_the_account_is_the_business_unit_else_the_location_else_none() -> None:
    unit, location, neither = parse(
        service(id="a", businessUnitId="bu-1", locationId="loc-1"),
        service(id="b", locationId="43f51215-a1fc-4c60-b6dd-e4afb6d7b831"),
        service(id="c"),
    ).interactions
    assert [unit.account_id, location.account_id, neither.account_id] == [
        "bu-1",
        "43f51215-a1fc-4c60-b6dd-e4afb6d7b831",
        None,
    ]


def test_created_at_with_or_without_milliseconds() -> None:
    plain, millis = parse(
        service(id="a", createdAt="2022-07-08T22:41:48Z"), service(id="b", createdAt="2022-07-08T22:41:48.120Z")
    ).interactions
    assert plain.occurred_at == datetime(2022, 7, 8, 22, 41, 48, tzinfo=UTC)
    assert millis.occurred_at == datetime(2022, 7, 8, 22, 41, 48, 120000, tzinfo=UTC)
