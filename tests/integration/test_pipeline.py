"""The whole pipeline on moto: signed webhook -> queue -> processor -> DynamoDB -> ops API.

The processor runs as Lambda's SQS event source would run it (the local worker's code), with
the offline analyzer; test_pipeline_comprehend.py runs it with the Comprehend engine."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from chalicelib import dependencies
from tests.helpers import dynamodb_requests_atomic, process_queue
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.webhook_client import SAMPLES_DIR, sign, sign_sample


def post_sample(client: Any, secrets: dict[str, Any], relative: str) -> dict[str, Any]:
    request = sign_sample(SAMPLES_DIR / relative, secrets)
    response = client.http.post(request.path, headers=request.headers, body=request.body)
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


def telegram(update_id: int, message_id: int, text: str, user: int = 4242, edit_date: int | None = None) -> bytes:
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": user, "is_bot": False, "first_name": "Zofia", "username": "zofia_p", "language_code": "pl"},
        "chat": {"id": user, "type": "private"},
        "date": 1763812800,
        "text": text,
    }
    key = "message"
    if edit_date is not None:
        message["edit_date"] = edit_date
        key = "edited_message"
    return json.dumps({"update_id": update_id, key: message}).encode()


def post_telegram(client: Any, secrets: dict[str, Any], body: bytes) -> None:
    request = sign("telegram", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200


OPS_TOKEN = load_file(DEV_SECRETS_PATH)["ops_api_token"]


def get(client: Any, path: str, token: str = OPS_TOKEN) -> tuple[int, Any]:
    response = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, json.loads(response.body) if response.body else None


def test_webhooks_become_customers_with_analysed_timelines(client, sqs, pipeline, secrets) -> None:
    for sample in ("meta/messenger-multi-entry.json", "telegram/message.json", "telegram/edited-message.json"):
        post_sample(client, secrets, sample)
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])

    status, found = get(client, "/identities/telegram/6100000001")
    assert status == 200
    status, view = get(client, f"/customers/{found['customer_id']}")
    assert status == 200
    assert [(i["platform"], i["user_id"], i["handle"]) for i in view["identities"]] == [
        ("telegram", "6100000001", "zofia_przyklad")
    ]
    (interaction,) = view["latest_interactions"]  # the edit updated the message, it is not a second one
    assert interaction["action"] == "edited"
    assert interaction["edited_at"] is not None
    assert interaction["language"] == "pl"
    assert interaction["sentiment"]["label"] in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    assert set(interaction["sentiment"]["scores"]) == {"POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"}
    assert {"platform", "kind", "external_id", "text", "occurred_at", "entities", "key_phrases", "pii_types"} <= set(
        interaction
    )
    aggregates = view["aggregates"]
    assert aggregates["interaction_count"] == 1
    assert aggregates["platform_counts"] == {"telegram": 1}
    assert aggregates["sentiment_trend"] is not None

    status, messenger = get(client, "/identities/messenger/25000000000000001")
    assert status == 200
    status, view = get(client, f"/customers/{messenger['customer_id']}")
    assert view["aggregates"]["platform_counts"] == {"messenger": 2}  # the page's echoed reply is not a contact
    assert [(i["external_id"][:11], i["direction"]) for i in view["latest_interactions"]] == [
        ("m_FAKEa3ech", "outbound"),
        ("m_FAKEa2Rr3", "inbound"),
        ("m_FAKEa1Qx7", "inbound"),
    ]
    assert view["latest_interactions"][0]["sentiment"] is None  # the brand's words are not analysed


def test_a_redelivered_webhook_stores_one_interaction(client, sqs, pipeline, secrets) -> None:
    body = telegram(1, 7, "Przesyłka nie dotarła, proszę o pomoc")
    post_telegram(client, secrets, body)
    post_telegram(client, secrets, body)
    assert process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"]) == 2
    _, found = get(client, "/identities/telegram/4242")
    _, page = get(client, f"/customers/{found['customer_id']}/interactions")
    assert len(page["interactions"]) == 1
    _, view = get(client, f"/customers/{found['customer_id']}")
    assert view["aggregates"]["interaction_count"] == 1


def test_personal_data_is_stored_redacted(client, sqs, pipeline, secrets) -> None:
    post_telegram(client, secrets, telegram(2, 8, "Mój email to zofia@example.com, PESEL 44051401359"))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    _, found = get(client, "/identities/telegram/4242")
    _, page = get(client, f"/customers/{found['customer_id']}/interactions")
    (stored,) = page["interactions"]
    assert stored["text"] == "Mój email to [EMAIL], PESEL [PESEL]"
    assert stored["text_redacted"] is True
    assert stored["pii_types"] == ["EMAIL", "PESEL"]


def test_pagination_is_newest_first_with_an_opaque_cursor(client, sqs, pipeline, secrets) -> None:
    for number in range(5):
        body = json.loads(telegram(10 + number, 100 + number, f"wiadomość {number}"))
        body["message"]["date"] += number * 60
        post_telegram(client, secrets, json.dumps(body).encode())
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    _, found = get(client, "/identities/telegram/4242")
    path = f"/customers/{found['customer_id']}/interactions"
    seen, cursor = [], None
    while True:
        status, page = get(client, f"{path}?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [i["text"] for i in page["interactions"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"wiadomość {n}" for n in (4, 3, 2, 1, 0)]
    assert get(client, f"{path}?limit=0")[0] == 400
    assert get(client, f"{path}?cursor=not-ours")[0] == 400


def test_unknown_identities_and_customers_are_404(client, pipeline) -> None:
    assert get(client, "/identities/telegram/nobody")[0] == 404
    assert get(client, "/customers/00000000-0000-0000-0000-000000000000")[0] == 404
    assert get(client, "/customers/00000000-0000-0000-0000-000000000000/interactions")[0] == 404


def test_a_message_that_is_not_an_interaction_goes_to_the_dead_letter_queue_at_once(
    sqs, pipeline, client, secrets
) -> None:
    """It never will be one: kept on the dead-letter queue (whose alarm tells ops) with the reason,
    rather than retried for an hour and a half first; its neighbours are stored."""
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post_telegram(client, secrets, telegram(3, 9, "Dzień dobry"))
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"not": "an interaction"}')
    assert process_queue(sqs, queue_url) == 2
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
    (dead,) = sqs.receive_message(QueueUrl=pipeline["SOCIALCRM_INGEST_DLQ_URL"], MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert dead["Body"] == '{"not": "an interaction"}'
    assert dead["MessageAttributes"]["reason"]["StringValue"] == "not an interaction: KeyError"
    assert get(client, "/identities/telegram/4242")[0] == 200


def test_one_odd_record_never_fails_its_neighbours(sqs, pipeline, client, secrets) -> None:
    """A lone surrogate (valid JSON, which a platform can send) used to break the offline
    analyzer for the whole batch; a body with a null text, the decoding. Both fail or pass alone."""
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post_telegram(client, secrets, telegram(11, 21, "Dzień dobry, gdzie jest paczka?", user=501))
    post_telegram(client, secrets, telegram(12, 22, "Adoro \ud83d o produto", user=502))
    post_telegram(client, secrets, telegram(13, 23, "Grazie mille per l'aiuto", user=503))
    broken = json.dumps(
        {
            "platform": "telegram",
            "kind": "message",
            "external_id": "9:9",
            "author": {"user_id": "504"},
            "text": None,  # all else as queued: only the text is wrong
            "occurred_at": "2026-11-22T10:00:00.000Z",
            "received_at": "2026-11-22T10:00:01.000Z",
        }
    )
    sqs.send_message(QueueUrl=queue_url, MessageBody=broken)
    assert process_queue(sqs, queue_url) == 4
    texts = {}
    for user in (501, 502, 503):
        status, found = get(client, f"/identities/telegram/{user}")
        assert status == 200, user
        status, view = get(client, f"/customers/{found['customer_id']}")
        assert status == 200
        (interaction,) = view["latest_interactions"]
        assert interaction["sentiment"]["label"] in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
        texts[user] = interaction["text"]
    assert texts[502] == "Adoro \ufffd o produto"  # no character there: the replacement character
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    (dead,) = sqs.receive_message(QueueUrl=pipeline["SOCIALCRM_INGEST_DLQ_URL"])["Messages"]  # only the broken one
    assert json.loads(dead["Body"])["external_id"] == "9:9"


def test_two_first_messages_at_once_make_one_customer(sqs, pipeline, client, secrets) -> None:
    """Two processors race on the same new customer (and on the same redelivered message)."""
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post_telegram(client, secrets, telegram(4, 11, "pierwsza"))
    post_telegram(client, secrets, telegram(5, 12, "druga"))
    post_telegram(client, secrets, telegram(5, 12, "druga"))
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    assert len(messages) == 3
    processor = dependencies.interaction_processor()
    barrier = threading.Barrier(len(messages))
    errors: list[BaseException] = []

    def run(message: dict[str, Any]) -> None:
        try:
            prepared = processor.prepare({message["MessageId"]: message["Body"]}, 60_000)
            barrier.wait()
            processor.complete(prepared[message["MessageId"]])
        except Exception as exc:  # a BUSY claim is an expected, retryable failure
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(message,)) for message in messages]
    with dynamodb_requests_atomic():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    _, found = get(client, "/identities/telegram/4242")
    _, page = get(client, f"/customers/{found['customer_id']}/interactions")
    assert sorted(i["text"] for i in page["interactions"]) == ["druga", "pierwsza"]
    table = boto3.resource("dynamodb").Table(pipeline["SOCIALCRM_TABLE"])
    profiles = [item for item in table.scan()["Items"] if item["sk"] == "PROFILE"]
    assert len(profiles) == 1
    assert profiles[0]["interaction_count"] == 2
    # The duplicate finds the other's claim in progress (busy: retried later), or, had its claim come
    # second after the first finished, the interaction stored; either way one copy is kept, which
    # the counts above check.
    assert len(errors) <= 1
    assert all("busy" in str(error) for error in errors)


def instagram_dm(mid: str, text: str, deleted: bool = False, timestamp: int = 1763812800000) -> bytes:
    message: dict[str, Any] = {"mid": mid, "text": text}
    if deleted:
        message = {"mid": mid, "is_deleted": True}
    item = {"sender": {"id": "IGSID1"}, "recipient": {"id": "IGACC"}, "timestamp": timestamp, "message": message}
    return json.dumps(
        {"object": "instagram", "entry": [{"id": "IGACC", "time": timestamp, "messaging": [item]}]}
    ).encode()


def test_a_deletion_removes_the_text_but_keeps_the_record(client, sqs, pipeline, secrets) -> None:
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    for body in (
        instagram_dm("mid.1", "Quero cancelar"),
        instagram_dm("mid.1", "", deleted=True, timestamp=1763812900000),
    ):
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200
        process_queue(sqs, queue_url)  # in order: the deletion after the message
    _, found = get(client, "/identities/instagram/IGSID1")
    _, page = get(client, f"/customers/{found['customer_id']}/interactions")
    (stored,) = page["interactions"]
    assert (stored["action"], stored["text"], stored["deleted_at"] is not None) == ("deleted", None, True)
    assert stored["sentiment"] is None


def test_a_deletion_that_arrives_first_keeps_the_original_from_being_stored(client, sqs, pipeline, secrets) -> None:
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    deletion = instagram_dm("mid.2", "", deleted=True, timestamp=1763812900000)
    original = instagram_dm("mid.2", "Meu CPF é 529.982.247-25, me liguem")
    for body in (deletion, original):  # the original was throttled and retried after its deletion
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200
        process_queue(sqs, queue_url)
    assert get(client, "/identities/instagram/IGSID1")[0] == 404  # nothing was stored of it


def test_a_replayed_generic_request_stores_nothing_new(client, sqs, pipeline, secrets) -> None:
    """Within the five minutes the timestamp allows, a captured request posted again verifies; its
    events keep their ids, so the second copy is recognised and nothing new is stored."""
    body = json.dumps(
        {
            "events": [
                {
                    "id": "t-1",
                    "author": {"id": "u-1"},
                    "text": "O pedido chegou quebrado",
                    "created_at": "2026-11-22T10:00:00Z",
                    "kind": "message",
                }
            ]
        }
    ).encode()
    request = sign("generic", body, secrets, source="shopforum")
    for _ in range(2):
        assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    status, found = get(client, "/identities/shopforum/u-1")
    assert status == 200
    status, view = get(client, f"/customers/{found['customer_id']}")
    assert [i["external_id"] for i in view["latest_interactions"]] == ["t-1"]
    assert view["aggregates"]["interaction_count"] == 1
