"""The lake's records (chalicelib/lake): an allow-list of facts, pseudonymised, with the Glue
tables' columns; and the Firehose sink's packing and retries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.lake import MAX_RECORDS, FirehoseSink, encode
from chalicelib.lake.archive import Archiver
from chalicelib.lake.records import Pseudonyms, record, topic_records
from chalicelib.models.case import Case
from chalicelib.models.decision import Intent, IntentResult, Priority, Route, RouteAction
from chalicelib.models.interaction import Author, Direction, Interaction, Kind
from chalicelib.rules import catalogue
from chalicelib.rules.cases import open_case
from chalicelib.rules.routing import load_default
from tools import lake

KEY = b"k" * 32
AT = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
WORDS = "my email is ana@example.com and the order 4411 never came"


def message(
    external_id: str = "m_1", direction: Direction = Direction.INBOUND, sent_by: str | None = None
) -> Interaction:
    return Interaction(
        platform="messenger",
        kind=Kind.MESSAGE,
        external_id=external_id,
        author=Author("psid-999", "ana.s", "Ana Silva"),
        text=WORDS,
        occurred_at=AT,
        received_at=AT,
        account_id="PAGE1",
        thread_id="psid-999",
        direction=direction,
        sent_by=sent_by,
    )


def envelope(event: Any, time: str = "2026-11-22T09:31:02Z") -> dict[str, Any]:
    """As the lake's rule hands an event to SQS: EventBridge's envelope."""
    return {"version": "0", "id": "e-1", "detail-type": event.detail_type.value, "source": "socialcrm", "time": time,
            "detail": json.loads(json.dumps(event.detail))}  # fmt: skip


def _case() -> Case:
    route = Route("support", Priority.P2, "complaint", (RouteAction.OPEN_CASE,))
    return open_case("cust-1", message(), Intent.COMPLAINT, route, load_default().sla_minutes)


CASE = _case()


def a_case() -> Case:
    return CASE


def stored_inbound() -> dict[str, Any]:
    intent = IntentResult(Intent.COMPLAINT, 0.91, ("words (en): 'never came'",))
    route = Route("support", Priority.P2, "complaint", (RouteAction.OPEN_CASE,))
    event = catalogue.interaction_stored(
        "cust-1", message(), "NEGATIVE", "en", intent, route, a_case(), ("nimbus mobile",), None
    )
    return envelope(event)


def test_an_interaction_record_has_its_facts_and_nothing_that_names_anyone() -> None:
    row = record(stored_inbound(), "salt-1", Pseudonyms(KEY))
    assert row["lake_table"] == "interactions"
    assert (row["day"], row["hour"], row["occurred_at"]) == ("2026-11-22", 9, "2026-11-22T09:30:00.000Z")
    assert (row["platform"], row["account_id"], row["kind"], row["direction"]) == (
        "messenger",
        "PAGE1",
        "message",
        "inbound",
    )
    assert (row["sentiment"], row["language"], row["intent"], row["intent_confidence"]) == (
        "NEGATIVE",
        "en",
        "complaint",
        0.91,
    )
    assert (row["team"], row["priority"], row["competitors"]) == ("support", "P2", ["nimbus mobile"])
    flat = json.dumps(row)
    for private in ("cust-1", "m_1", "psid-999", "Ana", "ana.s", "never came", "4411", "example.com"):
        assert private not in flat, private
    for ref in ("customer_ref", "interaction_ref", "case_ref"):
        assert len(row[ref]) == 32
        assert int(row[ref], 16) >= 0


def test_references_join_across_records_and_differ_by_key_and_by_salt() -> None:
    one, again = (
        record(stored_inbound(), "salt-1", Pseudonyms(KEY)),
        record(stored_inbound(), "salt-1", Pseudonyms(KEY)),
    )
    assert one == again  # a redelivery is the same record, record_id included
    other_key = record(stored_inbound(), "salt-1", Pseudonyms(b"x" * 32))
    assert other_key["customer_ref"] != one["customer_ref"]
    assert other_key["case_ref"] != one["case_ref"]
    new_salt = record(stored_inbound(), "salt-2", Pseudonyms(KEY))
    assert new_salt["customer_ref"] != one["customer_ref"]
    assert new_salt["case_ref"] == one["case_ref"]
    assert record(stored_inbound(), None, Pseudonyms(KEY))["customer_ref"] is None  # erased: no one
    opened = record(
        envelope(catalogue.case_opened(a_case(), message(), IntentResult(Intent.COMPLAINT, 0.9, ()))),
        "salt-1",
        Pseudonyms(KEY),
    )
    assert opened["case_ref"] == one["case_ref"]
    assert opened["interaction_ref"] == one["interaction_ref"]
    assert opened["customer_ref"] == one["customer_ref"]
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonyms(b"short")


def test_an_event_record_keeps_figures_and_drops_reasons_and_platform_messages() -> None:
    retention = catalogue.retention_alert(
        "cust-1", 2, 0.82, 0.7, ("cancel intent: 'quero cancelar'",), message(), "cust-1_abc"
    )
    row = record(envelope(retention), "salt-1", Pseudonyms(KEY))
    assert (row["lake_table"], row["detail_type"], row["severity"]) == ("events", "Retention Alert", "high")
    assert (row["churn_risk"], row["episode"], row["day"], row["hour"]) == (0.82, 2, "2026-11-22", 9)
    assert "quero" not in json.dumps(row)
    reauth = catalogue.channel_needs_reauthorization("messenger", "PAGE1", "190", "token of ana expired", AT)
    row = record(envelope(reauth), None, Pseudonyms(KEY))
    assert (row["platform"], row["account_id"], row["customer_ref"]) == ("messenger", "PAGE1", None)
    assert "ana" not in json.dumps(row)


def test_a_reply_record_carries_its_case_and_how_long_it_waited() -> None:
    reply = message("m_2", Direction.OUTBOUND, sent_by="agent@example.com")
    event = catalogue.interaction_stored("cust-1", reply, None, None, None, None, a_case(), (), 1260.0)
    row = record(envelope(event), "salt-1", Pseudonyms(KEY))
    assert (row["direction"], row["first_response_seconds"], row["team"]) == ("outbound", 1260.0, "support")
    assert row["agent_ref"]
    assert "agent@" not in json.dumps(row)


def test_records_have_exactly_the_columns_of_their_glue_tables() -> None:
    columns = {name: {column for column, _ in found if column != "dt"} for name, found in lake.tables().items()}
    assert set(columns) == {"interactions", "events", "topics"}
    for detail in (stored_inbound(), envelope(catalogue.sla_breached(a_case(), AT))):
        row = record(detail, "salt-1", Pseudonyms(KEY))
        assert set(row) == columns[row["lake_table"]], row["lake_table"]
    hour = topic_records(AT.replace(minute=0), {"battery": (7, 5), "joaquim": (2, 2)}, AT)
    assert len(hour) == 1  # a word fewer than three messages name stays out of the lake
    assert set(hour[0]) == columns["topics"]
    assert (hour[0]["topic"], hour[0]["mentions"], hour[0]["negative"], hour[0]["hour"]) == ("battery", 7, 5, 9)
    engine_types = {lake.engine_type(kind) for found in lake.tables().values() for _, kind in found}
    assert engine_types == {"VARCHAR", "INTEGER", "DOUBLE", "VARCHAR[]"}  # each Glue type has DuckDB's


class Keys:
    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    def salts(self, customer_ids: set[str]) -> dict[str, str | None]:
        self.asked.append(customer_ids)
        return {customer_id: None if customer_id == "erased" else f"salt-{customer_id}" for customer_id in customer_ids}


class Sink:
    def __init__(self, refuse: int = 0) -> None:
        self.records: list[dict[str, Any]] = []
        self.refuse = refuse

    def put(self, records: Any) -> list[bool]:
        self.records += records
        return [i >= self.refuse for i in range(len(records))]


def test_the_archiver_reads_salts_once_a_batch_and_fails_only_what_did_not_land() -> None:
    keys, sink = Keys(), Sink(refuse=1)
    bodies = {
        "q1": json.dumps(stored_inbound()),
        "q2": json.dumps(envelope(catalogue.sla_breached(a_case(), AT))),
        "q3": "not json",
        "q4": json.dumps({"detail-type": "Interaction Stored"}),
    }
    done = Archiver(keys, sink, lambda: KEY).archive(bodies)
    assert keys.asked == [{"cust-1"}]
    assert done.failed == {"q1", "q3", "q4"}
    assert done.accepted == 1
    assert done.unreadable == 2
    assert [row["lake_table"] for row in sink.records] == ["interactions", "events"]


def stubbed() -> tuple[FirehoseSink, Stubber]:
    client = boto3.client("firehose", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return FirehoseSink("lake", client, backoff_seconds=0), Stubber(client)


def test_the_sink_packs_500_a_call_and_retries_only_the_refused() -> None:
    sink, stub = stubbed()
    rows = [{"lake_table": "topics", "n": i} for i in range(MAX_RECORDS + 2)]
    ok = [{"RecordId": f"r{i}"} for i in range(MAX_RECORDS)]
    refused = [{"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}, {"RecordId": "late"}]
    stub.add_response("put_record_batch", {"FailedPutCount": 0, "RequestResponses": ok})
    stub.add_response("put_record_batch", {"FailedPutCount": 1, "RequestResponses": refused})
    stub.add_response(
        "put_record_batch",
        {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "again"}]},
        {"DeliveryStreamName": "lake", "Records": [{"Data": encode(rows[MAX_RECORDS])}]},
    )
    with stub:
        assert sink.put(rows) == [True] * (MAX_RECORDS + 2)
        stub.assert_no_pending_responses()
    assert sink.calls == 3


def test_the_sink_reports_what_never_landed() -> None:
    sink, stub = stubbed()
    for _ in range(4):
        stub.add_client_error("put_record_batch", "ServiceUnavailableException", http_status_code=503)
    with stub:
        assert sink.put([{"lake_table": "events"}]) == [False]
    assert encode({"b": 1, "a": "é"}) == '{"a":"é","b":1}\n'.encode()


def test_the_readme_shows_the_lake_queries_the_tests_run() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.findall(r"```sql\n(.*?)```", readme, flags=re.DOTALL)
    assert sorted(shown) == sorted(lake.queries().values())
    assert len(shown) == 3
