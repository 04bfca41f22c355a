"""SQS has no order: a brand reply processed before the customer's message it answers still answers
its case. Every platform's outbound shape, in both orders and with the two in one batch, on moto
through the signed webhook routes and the queue consumer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.models.interaction import iso
from tests.helpers import call, meta_message, process_queue
from tools.webhook_client import sign

COMPLAINT = "My order never arrived and nobody answers, this is terrible service"
ANSWER = "We are sorry! Your parcel leaves today."
PAGE, IG, WA_NUMBER, X_ACCOUNT = "104000000000077", "17841400000000077", "106540352242922", "3300000077"


@dataclass(frozen=True)
class Shape:
    """One platform's customer message and the brand's reply to it, as webhook bodies."""

    channel: str
    platform: str
    customer: str  # the customer's user id on the platform
    brand: str  # the brand account's id: never a customer
    message: Callable[[datetime], bytes]
    reply: Callable[[datetime], bytes]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _feed(comment: dict[str, Any], at: datetime) -> bytes:
    value = {"post_id": f"{PAGE}_900", "created_time": int(at.timestamp()), "item": "comment", "verb": "add", **comment}
    return json.dumps(
        {"object": "page", "entry": [{"id": PAGE, "time": _ms(at), "changes": [{"field": "feed", "value": value}]}]}
    ).encode()


def _ig_comment(comment: dict[str, Any], at: datetime) -> bytes:
    value = {"media": {"id": "18000000000000900", "media_product_type": "FEED"}, **comment}
    change = {"field": "comments", "value": value}
    return json.dumps(
        {"object": "instagram", "entry": [{"id": IG, "time": int(at.timestamp()), "changes": [change]}]}
    ).encode()


def _tweet(tweet_id: str, user: dict[str, str], text: str, at: datetime, **reply: str) -> bytes:
    tweet = {"id_str": tweet_id, "text": text, "user": user, "timestamp_ms": str(_ms(at)), "lang": "en", **reply}
    return json.dumps({"for_user_id": X_ACCOUNT, "tweet_create_events": [tweet]}).encode()


def _x_dm(dm_id: str, sender: str, recipient: str, text: str, at: datetime) -> bytes:
    event = {
        "type": "message_create",
        "id": dm_id,
        "created_timestamp": str(_ms(at)),
        "message_create": {"target": {"recipient_id": recipient}, "sender_id": sender, "message_data": {"text": text}},
    }
    users = {"2200000077": {"id": "2200000077", "screen_name": "kim", "name": "Kim"}}
    return json.dumps({"for_user_id": X_ACCOUNT, "direct_message_events": [event], "users": users}).encode()


def _kim_mentions(at: datetime) -> bytes:
    return _tweet("1860000000000000001", {"id_str": "2200000077", "screen_name": "kim"}, f"@acme {COMPLAINT}", at)


def _dm_to_kim(at: datetime) -> bytes:
    return _x_dm("1870000000000000002", X_ACCOUNT, "2200000077", ANSWER, at)


VISITOR, VISITOR_POST = "7700000000000778", f"{PAGE}_901"


def _visitor_post(at: datetime) -> bytes:
    """A visitor's post on the Page's feed: the customer writing, as a comment opening a thread."""
    return _feed(
        {"item": "post", "post_id": VISITOR_POST, "from": {"id": VISITOR, "name": "Bo"}, "message": COMPLAINT}, at
    )


def _page_comment(comment_id: str, parent_id: str, at: datetime) -> bytes:
    """The Page's comment on the visitor's post: directly under it (`parent_id` the post), or a reply
    to a comment under it."""
    value = {"post_id": VISITOR_POST, "from": {"id": PAGE, "name": "ACME"}, "comment_id": comment_id}
    return _feed({**value, "parent_id": parent_id, "message": ANSWER}, at)


def _whatsapp(value: dict[str, Any]) -> bytes:
    metadata = {"display_phone_number": "15550000077", "phone_number_id": WA_NUMBER}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "1000077", "changes": [change]}]}
    ).encode()


def _telegram_business(message_id: int, sender: dict[str, Any], text: str, at: datetime) -> bytes:
    """A Telegram Business chat: the customer's messages and the owner's answers both arrive as
    `business_message`, in the private chat whose id is the customer's."""
    chat = {"id": 6100000777, "type": "private", "first_name": "Ana"}
    message = {
        "business_connection_id": "BCxA7777",
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": int(at.timestamp()),
        "text": text,
    }
    return json.dumps({"update_id": 900000000 + message_id, "business_message": message}).encode()


SHAPES = [
    Shape(
        "meta",
        "messenger",
        "25000000000000777",
        PAGE,
        lambda at: meta_message(PAGE, "25000000000000777", "m_c1", COMPLAINT, at),
        lambda at: meta_message(PAGE, "25000000000000777", "m_r1", ANSWER, at, echo=True),
    ),
    Shape(
        "meta",
        "instagram",
        "5000000000000777",
        IG,
        lambda at: meta_message(IG, "5000000000000777", "aWdf_c1", COMPLAINT, at, obj="instagram"),
        lambda at: meta_message(IG, "5000000000000777", "aWdf_r1", ANSWER, at, obj="instagram", echo=True),
    ),
    Shape(
        "meta",
        "facebook",
        "7700000000000777",
        PAGE,
        lambda at: _feed(
            {
                "from": {"id": "7700000000000777", "name": "Ana"},
                "comment_id": f"{PAGE}_900_1",
                "parent_id": f"{PAGE}_900",
                "message": COMPLAINT,
            },
            at,
        ),
        lambda at: _feed(
            {
                "from": {"id": PAGE, "name": "ACME"},
                "comment_id": f"{PAGE}_900_2",
                "parent_id": f"{PAGE}_900_1",
                "message": ANSWER,
            },
            at,
        ),
    ),
    Shape(
        "meta",
        "instagram",
        "17841499999990777",
        IG,
        lambda at: _ig_comment(
            {"id": "17900000000000001", "from": {"id": "17841499999990777", "username": "ana"}, "text": COMPLAINT}, at
        ),
        lambda at: _ig_comment(
            {
                "id": "17900000000000002",
                "from": {"id": IG, "username": "acme"},
                "parent_id": "17900000000000001",
                "text": ANSWER,
            },
            at,
        ),
    ),
    Shape(
        "x",
        "x",
        "2200000077",
        X_ACCOUNT,
        _kim_mentions,
        lambda at: _tweet(
            "1860000000000000002",
            {"id_str": X_ACCOUNT, "screen_name": "acme"},
            f"@kim {ANSWER}",
            at,
            in_reply_to_status_id_str="1860000000000000001",
            in_reply_to_user_id_str="2200000077",
        ),
    ),
    Shape(
        "x",
        "x",
        "2200000077",
        X_ACCOUNT,
        lambda at: _x_dm("1870000000000000001", "2200000077", X_ACCOUNT, COMPLAINT, at),
        _dm_to_kim,
    ),
    # The brand answers kim's public mention by DM: another conversation, no case of its own there,
    # so it answers kim's latest open case on X, whichever is processed first.
    Shape("x", "x", "2200000077", X_ACCOUNT, _kim_mentions, _dm_to_kim),
    # The Page's comment directly under a visitor's post answers the post.
    Shape("meta", "facebook", VISITOR, PAGE, _visitor_post, lambda at: _page_comment("901_2", VISITOR_POST, at)),
    Shape(
        "meta",
        "whatsapp",
        "5511900000777",
        WA_NUMBER,
        lambda at: _whatsapp(
            {
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511900000777"}],
                "messages": [
                    {
                        "from": "5511900000777",
                        "id": "wamid.c1",
                        "timestamp": str(int(at.timestamp())),
                        "type": "text",
                        "text": {"body": COMPLAINT},
                    }
                ],
            }
        ),
        lambda at: _whatsapp(
            {
                "statuses": [
                    {
                        "id": "wamid.r1",
                        "status": "sent",
                        "timestamp": str(int(at.timestamp())),
                        "recipient_id": "5511900000777",
                    }
                ]
            }
        ),
    ),
    Shape(
        "telegram",
        "telegram",
        "6100000777",
        "6100000001",
        lambda at: _telegram_business(41, {"id": 6100000777, "is_bot": False, "first_name": "Ana"}, COMPLAINT, at),
        lambda at: _telegram_business(42, {"id": 6100000001, "is_bot": False, "first_name": "Loja"}, ANSWER, at),
    ),
]
NAMES = [
    "messenger-echo",
    "instagram-echo",
    "facebook-comment-reply",
    "instagram-comment-reply",
    "x-reply-tweet",
    "x-dm",
    "x-mention-answered-by-dm",
    "facebook-visitor-post-page-comment",
    "whatsapp-sent-status",
    "telegram-business-answer",
]
VISITOR_SHAPE = SHAPES[NAMES.index("facebook-visitor-post-page-comment")]


def post(client: Any, secrets: dict[str, Any], shape: Shape, body: bytes) -> None:
    request = sign(shape.channel, body, secrets)
    response = client.http.post(request.path, headers=request.headers, body=body)
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["queued"] == 1, response.body


def written() -> tuple[datetime, datetime]:
    message = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    return message, message + timedelta(minutes=4)


def the_case(client: Any, shape: Shape) -> dict[str, Any]:
    status, found = call(client, "get", f"/identities/{shape.platform}/{shape.customer}")
    assert status == 200, found
    status, view = call(client, "get", f"/customers/{found['customer_id']}/export", role="admin")
    assert status == 200
    (case,) = view["cases"]
    directions = sorted(i["direction"] for i in view["interactions"])
    assert directions == ["inbound", "outbound"]  # the reply is on the customer's timeline, once
    assert call(client, "get", f"/identities/{shape.platform}/{shape.brand}")[0] == 404  # never a customer
    return dict(case)


ORDERS = ["message-first", "reply-first", "one-batch-reply-posted-first"]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("shape", SHAPES, ids=NAMES)
def test_the_reply_answers_the_case_whatever_the_order(client, sqs, pipeline, secrets, shape, order) -> None:
    message_at, reply_at = written()
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    message, reply = shape.message(message_at), shape.reply(reply_at)
    if order == "message-first":
        post(client, secrets, shape, message)
        process_queue(sqs, queue)
        post(client, secrets, shape, reply)
        process_queue(sqs, queue)
    elif order == "reply-first":
        post(client, secrets, shape, reply)
        process_queue(sqs, queue)
        post(client, secrets, shape, message)
        process_queue(sqs, queue)
    else:
        post(client, secrets, shape, reply)
        post(client, secrets, shape, message)
        assert process_queue(sqs, queue) == 2
    case = the_case(client, shape)
    assert case["status"] == "responded"
    assert case["responded_at"] == iso(reply_at)
    assert case["responded_by"] == f"{shape.platform}:{shape.brand}"
    assert case["overdue"] is False


@pytest.mark.parametrize("shape", [SHAPES[0], SHAPES[2]], ids=["messenger-echo", "facebook-comment-reply"])
def test_a_reply_written_before_the_message_does_not_answer_it(client, sqs, pipeline, secrets, shape) -> None:
    """The brand's earlier reply, processed first, answered an earlier conversation, not this one."""
    message_at, _ = written()
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post(client, secrets, shape, shape.reply(message_at - timedelta(minutes=10)))
    process_queue(sqs, queue)
    post(client, secrets, shape, shape.message(message_at))
    process_queue(sqs, queue)
    case = the_case(client, shape)
    assert case["status"] == "open"
    assert case["responded_at"] is None


def test_a_reply_whose_pointer_is_taken_is_not_stored_and_not_retried_forever(client, sqs, pipeline, secrets) -> None:
    """A reply that answers an open case checks the profile in its transaction (PynamoDB sends that
    check first), which shifts the pointer's place in the cancellation reasons: the store must read
    the right one and see the pointer taken (here, the reply deleted before it arrived), rather than
    take it for a conflict and retry until it gives up."""
    from datetime import timedelta

    from chalicelib import dependencies
    from chalicelib.channels import meta
    from chalicelib.models.customer import StoredText
    from chalicelib.store.models import PointerItem

    message_at, reply_at = written()
    shape = SHAPES[0]
    post(client, secrets, shape, shape.message(message_at))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    store, decider = dependencies.customer_store(), dependencies.decider()
    customer = store.customer_for(shape.platform, shape.customer)
    assert customer is not None
    (reply,) = meta.parse(shape.reply(reply_at), reply_at).interactions
    PointerItem(
        f"INTERACTION#messenger#{reply.external_id}",
        "POINTER",
        version_at=reply_at,
        deleted_at=reply_at,
        expires_at=reply_at + timedelta(days=30),
    ).save()
    stored = StoredText(text=ANSWER, title=None)
    assert store.add(customer, reply, None, stored, lambda snapshot: decider.outbound(snapshot, reply)) is None


def drained(sqs: Any, queue: str) -> None:
    """Every record was handled: none failed and waits for a retry."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
    assert [int(attributes[name]) for name in names] == [0, 0]


def items(pipeline: dict[str, str]) -> list[dict[str, Any]]:
    import boto3

    table = boto3.resource("dynamodb").Table(pipeline["SOCIALCRM_TABLE"])
    return list(table.scan()["Items"])


def the_timeline(client: Any, platform: str, user_id: str) -> dict[str, Any]:
    status, found = call(client, "get", f"/identities/{platform}/{user_id}")
    assert status == 200, found
    status, view = call(client, "get", f"/customers/{found['customer_id']}/export", role="admin")
    assert status == 200
    return dict(view)


@pytest.mark.parametrize("order", ["P-R1-R2", "P-R2-R1", "R1-P-R2", "R1-R2-P", "R2-P-R1", "R2-R1-P"])
def test_the_pages_reply_to_its_own_comment_joins_the_timeline_in_any_order(client, sqs, pipeline, secrets, order):
    """A visitor's post P, the Page's comment R1 under it, the Page's reply R2 to R1 (answering
    someone in R1's thread): R2 may come while R1 itself still waits for P. All three end on the
    visitor's timeline, R1 answering the case, whatever the order."""
    message_at, first_at = written()
    bodies = {
        "P": _visitor_post(message_at),
        "R1": _page_comment("901_2", VISITOR_POST, first_at),
        "R2": _page_comment("901_3", "901_2", first_at + timedelta(minutes=2)),
    }
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    for name in order.split("-"):
        post(client, secrets, VISITOR_SHAPE, bodies[name])
        process_queue(sqs, queue)
    drained(sqs, queue)
    view = the_timeline(client, "facebook", VISITOR)
    assert sorted((i["direction"], i["external_id"]) for i in view["interactions"]) == [
        ("inbound", VISITOR_POST),
        ("outbound", "901_2"),
        ("outbound", "901_3"),
    ]
    (case,) = view["cases"]
    assert (case["status"], case["responded_at"]) == ("responded", iso(first_at))
    assert call(client, "get", f"/identities/facebook/{PAGE}")[0] == 404


DELETED_FIRST = ["deletion-reply-comment", "reply-deletion-comment", "deletion-comment-reply"]


@pytest.mark.parametrize("order", DELETED_FIRST)
def test_a_reply_to_a_comment_deleted_before_it_arrived_is_not_kept(client, sqs, pipeline, secrets, order) -> None:
    """The customer deleted their comment before it reached us: nothing of it is kept, not even a
    customer. The Page's reply to it, naming no recipient, answers nothing we keep: it is dropped
    rather than left waiting on the tombstone for a comment that will never be stored."""
    shape = SHAPES[2]
    message_at, reply_at = written()
    deletion = _feed(
        {"from": {"id": shape.customer}, "comment_id": f"{PAGE}_900_1", "parent_id": f"{PAGE}_900", "verb": "remove"},
        reply_at + timedelta(minutes=1),
    )
    bodies = {"deletion": deletion, "reply": shape.reply(reply_at), "comment": shape.message(message_at)}
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    for name in order.split("-"):
        post(client, secrets, shape, bodies[name])
        process_queue(sqs, queue)
    drained(sqs, queue)
    assert call(client, "get", f"/identities/facebook/{shape.customer}")[0] == 404
    kept = items(pipeline)
    assert not [item for item in kept if item["sk"] == "PROFILE"]
    assert not [item for item in kept if "answers" in item]
    assert ANSWER not in json.dumps(kept, default=str)  # the reply is nowhere, waiting or stored


def test_the_pages_comments_under_its_own_post_make_no_customer_and_never_fail(client, sqs, pipeline, secrets):
    """The webhook does not say whose post a Page comment is under: under the Page's own post (never
    queued) it waits for a post that never lands. That makes no customer, counts as nobody's
    contact, and more such comments than a pointer can hold are dropped rather than failed."""
    from chalicelib.store import timeline

    _, reply_at = written()
    own_post = f"{PAGE}_902"
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    for index in range(timeline.MAX_EARLY_ANSWERS + 2):
        value = {"post_id": own_post, "from": {"id": PAGE}, "comment_id": f"902_{index}", "parent_id": own_post}
        post(client, secrets, VISITOR_SHAPE, _feed({**value, "message": ANSWER}, reply_at + timedelta(seconds=index)))
    process_queue(sqs, queue)
    drained(sqs, queue)
    kept = items(pipeline)
    assert not [item for item in kept if item["sk"] == "PROFILE" or item["pk"].startswith("IDENTITY")]
    (waiting,) = [item for item in kept if item.get("answers")]
    assert waiting["pk"] == f"INTERACTION#facebook#{own_post}"
    assert "customer_id" not in waiting
    assert len(json.loads(waiting["answers"])) == timeline.MAX_EARLY_ANSWERS
