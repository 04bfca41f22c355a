"""Erasure and the alerts that name a customer, on moto: a brand's crisis alert loses the erased
customer's samples even when the erasure died half-way and was run again, or when two customers
sampled in it are erased at once; and an alert whose transaction only collided with another write
is recorded at once, not failed into a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib import dependencies
from chalicelib.models.alert import Alert
from chalicelib.models.interaction import Author
from chalicelib.store import privacy
from chalicelib.store.models import AlertItem, AlertRefItem
from tests.helpers import crisis_alert, retention_alert

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
ANA, BRUNO, CARLA = "25000000000000111", "25000000000000222", "25000000000000333"


def customers(*psids: str) -> list[str]:
    store = dependencies.customer_store()
    return [store.resolve("messenger", Author(psid), T0) for psid in psids]


def crisis(alert_id: str, *sampled: str) -> Alert:
    return crisis_alert(
        alert_id,
        T0,
        sample_interactions=[
            {"customer_id": customer, "platform": "messenger", "external_id": f"mid.{n}"}
            for n, customer in enumerate(sampled)
        ],
    )


def sampled(alert_id: str) -> list[str]:
    kept = dependencies.alert_store().get(alert_id)
    assert kept is not None
    return [sample["customer_id"] for sample in kept.detail["sample_interactions"]]


def test_an_erasure_that_died_before_stripping_a_crisis_alert_strips_it_when_run_again(aws, monkeypatch) -> None:
    """The references to the alerts that name her are what lets a rerun find them: they go only
    after the alerts themselves are dealt with."""
    ana, bruno = customers(ANA, BRUNO)
    assert dependencies.alert_store().record(crisis("crisis-1", ana, bruno)) is not None
    records = dependencies.customer_records()

    def died(alert_id: str, customer_id: str) -> None:
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(privacy, "_strip", died)
    with pytest.raises(RuntimeError, match="timed out"):
        records.erase(ana)
    monkeypatch.undo()
    assert sampled("crisis-1") == [ana, bruno]  # she is still named: the erasure is not finished

    erased = records.erase(ana)  # as DELETE /customers/{id} runs it again
    assert erased is not None
    assert sampled("crisis-1") == [bruno]
    assert not list(AlertRefItem.query(f"CUSTOMER#{ana}"))
    assert records.erase(ana) is None  # finished: the profile went last


def test_two_customers_sampled_in_one_alert_erased_at_once_both_leave_it(aws, monkeypatch) -> None:
    """Ana's erasure reads the alert; Bruno's strips him from it before Ana's writes: Ana's write
    must not put Bruno back (it would name him for the alert's two years)."""
    ana, bruno, carla = customers(ANA, BRUNO, CARLA)
    assert dependencies.alert_store().record(crisis("crisis-2", ana, bruno, carla)) is not None
    records = dependencies.customer_records()
    read = AlertItem.get
    raced: list[str] = []

    def read_then_bruno_erased(hash_key: str, range_key: str, **kwargs: Any) -> AlertItem:
        item = read(hash_key, range_key, **kwargs)
        if hash_key == "ALERT#crisis-2" and not raced:
            raced.append(bruno)
            assert records.erase(bruno) is not None  # runs whole between Ana's read and her write
        return item

    monkeypatch.setattr(AlertItem, "get", read_then_bruno_erased)
    assert records.erase(ana) is not None
    assert raced == [bruno]
    assert sampled("crisis-2") == [carla]


def conflict(*codes: str | None) -> TransactWriteError:
    """A cancelled transaction as DynamoDB reports it, with one reason per item."""
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=code) if code else None for code in codes],
    )
    return TransactWriteError("Failed to write transaction items", cause)


def test_an_alert_whose_transaction_only_collided_is_recorded_in_place(aws, monkeypatch) -> None:
    """The processor was updating Ana's profile as the alert's transaction checked it: DynamoDB
    cancels it with TransactionConflict (no condition failed). Tried again after a short, jittered
    pause, it is recorded, with its reference, and the notifier's record does not fail."""
    (ana,) = customers(ANA)
    store = dependencies.alert_store()
    connection = store._connection
    write = connection.transact_write_items
    calls: list[int] = []
    pauses: list[float] = []

    def collides_twice(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:  # reasons in PynamoDB's order: the customer's check, the alert, the reference
            raise conflict("TransactionConflict", None, None)
        return write(*args, **kwargs)

    monkeypatch.setattr(connection, "transact_write_items", collides_twice)
    monkeypatch.setattr("chalicelib.store.transactions.time.sleep", pauses.append)
    alert = retention_alert(ana, "alert-ana", T0)
    assert store.record(alert) == alert
    assert len(calls) == 3
    assert len(pauses) == 2
    assert all(0 <= pause <= 0.2 for pause in pauses)  # small: the record stays within its invocation
    assert store.get("alert-ana") is not None
    assert [ref.relation for ref in AlertRefItem.query(f"CUSTOMER#{ana}", AlertRefItem.sk.startswith("ALERT#"))] == [
        "about"
    ]


def test_an_alert_whose_transaction_failed_otherwise_still_fails(aws, monkeypatch) -> None:
    (ana,) = customers(ANA)
    store = dependencies.alert_store()

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise conflict(None, "ThrottlingError", None)

    monkeypatch.setattr(store._connection, "transact_write_items", throttled)
    monkeypatch.setattr("chalicelib.store.transactions.time.sleep", lambda seconds: None)
    with pytest.raises(TransactWriteError):
        store.record(retention_alert(ana, "alert-ana", T0))
