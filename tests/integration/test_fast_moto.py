"""The local stack's moto (tools/local/fast_moto.py) answers every DynamoDB read exactly as moto
does, only faster: the same queries, on the table and on each kind of index, with key conditions,
filters, limits and pages, projections and counts, give the same answers before and after it is
installed, and after writes that move items between partitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from chalicelib import dependencies
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem
from chalicelib.store.serde import case_item
from tools.local import fast_moto

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def seed() -> None:
    for number in range(40):
        case_id = f"cust{number % 13}_20261122090000{number:06x}"
        at = T0 + timedelta(minutes=(number * 7) % 50)
        case = Case(
            case_id=case_id,
            customer_id=case_id.split("_")[0],
            status=(CaseStatus.OPEN, CaseStatus.RESPONDED)[number % 2],
            team=("support", "sales", "retention")[number % 3],
            priority=Priority.P2,
            intent=Intent.COMPLAINT,
            rule="complaint",
            platform="messenger",
            thread_key=f"t{number}",
            opened_at=at,
            due_at=at + timedelta(minutes=number % 9),
            last_inbound_at=at,
            responded_at=at + timedelta(minutes=1) if number % 2 else None,
            assignee="cognito:ana@example.com" if number % 4 == 0 else None,
            history=({"at": "x", "status": "open", "by": "rule:complaint", "nested": {"list": [1, "two"]}},),
        )
        case_item(case).save()
    for number in range(13):
        CustomerItem(keys.customer(f"cust{number}"), keys.PROFILE, customer_id=f"cust{number}", created_at=T0).save()


def reads(table: str) -> list[Any]:
    client = boto3.client("dynamodb")
    answers: list[Any] = []

    def clean(response: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in response.items() if key not in ("ResponseMetadata", "ConsumedCapacity")}

    def pages(**request: Any) -> list[dict[str, Any]]:
        found = []
        while True:
            response = client.query(TableName=table, **request)
            found.append(clean(response))
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    for shard in range(keys.SHARDS):
        for status in ("open", "responded"):
            values = {":p": {"S": keys.inbox_cases(status, shard)}}
            answers.append(
                pages(
                    IndexName="inbox", KeyConditionExpression="gsi4pk = :p", ExpressionAttributeValues=values, Limit=2
                )
            )
            answers.append(
                pages(
                    IndexName="inbox",
                    KeyConditionExpression="gsi4pk = :p AND gsi4sk > :after",
                    FilterExpression="team = :team",
                    ExpressionAttributeValues={
                        **values,
                        ":after": {"S": "2026-11-22T09:10"},
                        ":team": {"S": "support"},
                    },
                    Limit=3,
                    ScanIndexForward=False,
                )
            )
            newest = {":p": {"S": keys.newest_cases(status, shard)}}
            answers.append(
                pages(
                    IndexName="recent",
                    KeyConditionExpression="gsi1pk = :p",
                    ExpressionAttributeValues=newest,
                    ScanIndexForward=False,
                )
            )
            worklist = {":p": {"S": keys.worklist_cases(status, shard)}}
            answers.append(
                pages(
                    IndexName="worklist",
                    KeyConditionExpression="gsi3pk = :p",
                    ExpressionAttributeValues=worklist,
                    ProjectionExpression="pk, sk, history[0].nested",
                )
            )
        unread = {":p": {"S": keys.unread_cases(shard)}}
        answers.append(
            pages(
                IndexName="sentiment",
                KeyConditionExpression="gsi2pk = :p",
                ExpressionAttributeValues=unread,
                Select="COUNT",
            )
        )
    for number in range(13):
        partition = {":p": {"S": keys.customer(f"cust{number}")}, ":case": {"S": "CASE#"}}
        answers.append(
            pages(
                KeyConditionExpression="pk = :p AND begins_with(sk, :case)",
                ExpressionAttributeValues=partition,
                ProjectionExpression="case_id, assignee, unread",
            )
        )
        answers.append(pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": partition[":p"]}))
        between = {":p": partition[":p"], ":a": {"S": "CASE#"}, ":b": {"S": "CASE#cust9~"}}
        answers.append(
            pages(
                KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                ExpressionAttributeValues=between,
                ScanIndexForward=False,
                Limit=1,
            )
        )
        below = {":p": partition[":p"], ":b": {"S": "PROFILE"}}
        answers.append(pages(KeyConditionExpression="pk = :p AND sk < :b", ExpressionAttributeValues=below, Limit=2))
        answers.append(pages(KeyConditionExpression="pk = :p AND sk >= :b", ExpressionAttributeValues=below))
        for forward in (True, False):  # pages that end exactly where the matching run ends
            answers.append(
                pages(
                    KeyConditionExpression="pk = :p AND begins_with(sk, :case)",
                    ExpressionAttributeValues=partition,
                    ScanIndexForward=forward,
                    Limit=1,
                )
            )
    wanted = [{"pk": {"S": keys.customer(f"cust{n}")}, "sk": {"S": keys.PROFILE}} for n in range(13)]
    batch = client.batch_get_item(RequestItems={table: {"Keys": wanted, "ProjectionExpression": "pk, customer_id"}})
    answers.append(sorted(str(item) for item in batch["Responses"][table]))
    answers.append(clean(client.get_item(TableName=table, Key=wanted[0])))
    answers.append(clean(client.scan(TableName=table, Limit=500)))
    return answers


def test_the_local_stacks_moto_answers_as_moto_does(aws: dict[str, str]) -> None:
    table = aws["SOCIALCRM_TABLE"]
    dependencies.customer_store()  # binds the models to the table
    seed()
    stock = reads(table)
    fast_moto.install()
    try:
        fast = reads(table)
        for index, (mine, theirs) in enumerate(zip(fast, stock, strict=True)):
            assert mine == theirs, index
        # Writes move cases between partitions: what was read before is not trusted after.
        client = boto3.client("dynamodb")
        first = {"pk": {"S": keys.customer("cust0")}, "sk": {"S": "CASE#cust0_20261122090000000000"}}
        client.update_item(
            TableName=table,
            Key=first,
            UpdateExpression="SET gsi4pk = :p, team = :t",
            ExpressionAttributeValues={":p": {"S": keys.inbox_cases("responded", 7)}, ":t": {"S": "support"}},
        )
        client.delete_item(
            TableName=table, Key={"pk": {"S": keys.customer("cust1")}, "sk": {"S": "CASE#cust1_20261122090000000001"}}
        )
        moved = reads(table)
        assert moved != stock
    finally:
        fast_moto.uninstall()
    assert reads(table) == moved


def transactions(table: str) -> list[Any]:
    """Transactions that succeed, that a condition cancels half-way (after a put, an update and a
    delete of their own) and that name an item twice, and the table after each."""
    client = boto3.client("dynamodb")
    customer = keys.customer("tx")

    def key(sk: str) -> dict[str, Any]:
        return {"pk": {"S": customer}, "sk": {"S": sk}}

    def put(sk: str, value: str, **extra: Any) -> dict[str, Any]:
        return {"Put": {"TableName": table, "Item": {**key(sk), "v": {"S": value}}, **extra}}

    def update(sk: str, value: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": table,
                "Key": key(sk),
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"S": value}},
            }
        }

    def outcome(items: Any) -> str:
        try:
            client.transact_write_items(TransactItems=items)
        except client.exceptions.TransactionCanceledException as exc:
            return str(exc.response["CancellationReasons"])
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    def state() -> list[Any]:
        found = client.query(
            TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": customer}}
        )
        other = client.get_item(TableName=table, Key={"pk": {"S": "tx-new"}, "sk": {"S": "X"}}).get("Item")
        return [found["Items"], other]

    answers: list[Any] = [outcome([put("A", "1"), put("B", "1")]), state()]
    refused = {"ConditionExpression": "attribute_not_exists(pk)"}
    cancelled = [
        put("C", "new"),
        {"Put": {"TableName": table, "Item": {"pk": {"S": "tx-new"}, "sk": {"S": "X"}}}},
        update("A", "2"),
        {"Delete": {"TableName": table, "Key": key("B")}},
        put("B", "again", **refused),  # B exists: the whole transaction is cancelled
    ]
    answers += [outcome(cancelled), state()]
    answers += [outcome([update("A", "3"), {"Delete": {"TableName": table, "Key": key("A")}}]), state()]
    answers += [outcome([update("A", "4"), {"Delete": {"TableName": table, "Key": key("B")}}]), state()]
    return answers


def test_the_local_stacks_moto_rolls_transactions_back_as_moto_does(aws: dict[str, str]) -> None:
    """moto copies the whole table before each transaction; the local stack's keeps only the items
    the transaction names, with the same outcome."""
    table = aws["SOCIALCRM_TABLE"]
    stock = transactions(table)
    boto3.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": keys.customer("tx")}, "sk": {"S": "A"}})
    fast_moto.install()
    try:
        fast = transactions(table)
    finally:
        fast_moto.uninstall()
    assert fast == stock
    assert stock[1][0], "the first transaction wrote"
    assert stock[3] == stock[1], "the cancelled transaction changed nothing"
    assert stock[4] != "ok", "an item named twice is refused"
    assert stock[6] == "ok"
