"""Segments on moto: a known population lands in the expected segments, the clusters are the same run
to run, the 360 view shows them, routing uses them, and their sizes are kept per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import dependencies
from chalicelib.insight.segment_service import Segments
from chalicelib.insight.segments import parse
from chalicelib.models.churn import ChurnState, Signal
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem
from chalicelib.store.segments import SegmentStore
from chalicelib.store.serde import churn_to_json
from tests.helpers import call, meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000088"
NOW = datetime.now(UTC).replace(microsecond=0)


def profile(customer_id: str, interactions: int, sentiment: float, quiet_days: float, **extra: Any) -> None:
    """A profile as the processor leaves it (listed for the segment job as every new one is)."""
    CustomerItem(
        keys.customer(customer_id),
        keys.PROFILE,
        customer_id=customer_id,
        created_at=NOW - timedelta(days=200),
        interaction_count=interactions,
        sentiment_score=sentiment,
        sentiment_samples=interactions,
        first_contact_at=NOW - timedelta(days=200),
        last_contact_at=NOW - timedelta(days=quiet_days),
        platform_counts=extra.pop("platforms", {"messenger": interactions}),
        gsi1pk=keys.profiles(keys.shard(customer_id)),
        gsi1sk=customer_id,
        **extra,
    ).save()


def population() -> dict[str, str]:
    """Who should land where, by the default segments document."""
    expected = {}
    for n in range(6):
        profile(f"prom-{n}", 6 + n, 0.7, 2)
        expected[f"prom-{n}"] = "promoters"
    for n in range(4):
        profile(f"detr-{n}", 4, -0.6, 5)
        expected[f"detr-{n}"] = "detractors"
    for n in range(3):
        profile(f"risk-{n}", 3, -0.1, 1, churn_risk=0.8)
        expected[f"risk-{n}"] = "at-risk"
    for n in range(3):
        state = ChurnState(signals={"purchase_intent": Signal(1.0, NOW - timedelta(days=1))})
        profile(f"lead-{n}", 2, 0.2, 1, churn=churn_to_json(state))
        expected[f"lead-{n}"] = "leads"
    for n in range(4):
        profile(f"dorm-{n}", 2, 0.0, 90 + n)
        expected[f"dorm-{n}"] = "dormant"
    profile("multi-0", 5, 0.1, 3, platforms={"messenger": 2, "telegram": 3})
    expected["multi-0"] = "multichannel"
    return expected


def auto(customer_id: str) -> set[str]:
    return set(CustomerItem.get(keys.customer(customer_id), keys.PROFILE).auto_segments or ())


def test_a_known_population_lands_in_its_segments_and_the_clusters_are_stable(client, pipeline) -> None:
    expected = population()
    service = dependencies.segments()
    first = service.run(NOW)
    assert first["customers"] == len(expected)
    for customer_id, segment in expected.items():
        assert segment in auto(customer_id), (customer_id, auto(customer_id))
    assert "promoters" not in auto("detr-0")
    assert "dormant" not in auto("prom-0")
    # Every customer is in exactly one cluster, and a second run finds the same (nothing changes).
    clusters = {customer_id: [s for s in auto(customer_id) if s.startswith("cluster-")] for customer_id in expected}
    assert all(len(found) == 1 for found in clusters.values())
    again = service.run(NOW)
    assert again["changed"] == 0
    assert again["sizes"] == first["sizes"]
    # The dormant customers share a cluster, described from its centre in words.
    assert len({clusters[f"dorm-{n}"][0] for n in range(4)}) == 1

    # Seen in the 360 view, kept apart from what a person gave.
    assert call(client, "put", "/customers/detr-0/segments", {"segments": ["press"]})[0] == 200
    view = call(client, "get", "/customers/detr-0")[1]
    assert {"press", "detractors"} <= set(view["segments"])
    service.run(NOW)
    assert "press" in call(client, "get", "/customers/detr-0")[1]["segments"]

    status, body = call(client, "get", f"/insights/segments?from={NOW.date()}&to={NOW.date()}", role="supervisor")
    assert status == 200, body
    sizes = {row["segment"]: row["size"] for row in body["rows"]}
    assert sizes["promoters"] == 6
    assert sizes["dormant"] == 4
    assert sum(size for name, size in sizes.items() if name.startswith("cluster-")) == len(expected)
    assert {cluster["name"] for cluster in body["clusters"]} == {f"cluster-{n}" for n in range(1, 6)}
    assert all(cluster["description"] for cluster in body["clusters"])
    dormant = next(c for c in body["clusters"] if c["name"] == clusters["dorm-0"][0])
    assert "long quiet" in dormant["description"]


def test_segments_found_by_the_job_route_the_next_message(client, sqs, pipeline, secrets) -> None:
    """A document that makes frequent writers "vip": the default routing's vip-unhappy rule then
    takes their next complaint."""
    psid = "25000000000000301"
    deliver = [meta_message(PAGE, psid, f"mid.s{n}", "Hello there", NOW - timedelta(hours=3 - n)) for n in range(3)]
    for body in deliver:
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    vip = parse({"version": "test.1", "segments": [{"name": "vip", "when": {"min_interactions": 3}}]})
    assert Segments(SegmentStore(), vip).run(NOW)["sizes"]["vip"] == 1

    complaint = meta_message(PAGE, psid, "mid.s9", "My order never arrived, this is terrible service", NOW)
    request = sign("meta", complaint, secrets)
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    cases = call(client, "get", "/cases")[1]["cases"]
    assert [(case["team"], case["rule"]) for case in cases] == [("vip-care", "vip-unhappy")]


def test_a_published_override_segments_by_its_rules_and_an_invalid_one_changes_nothing(
    client, pipeline, tmp_path
) -> None:
    import boto3
    import pytest

    from chalicelib.handlers.insight import assign_segments
    from tools import segments as tool

    population()
    profile("waited-0", 3, -0.2, 1, churn=churn_to_json(ChurnState(signals={"sla_breach": Signal(1.0, NOW)})))
    document = tmp_path / "segments.json"
    document.write_text(
        '{"version": "ops-2", "segments": [{"name": "kept-waiting", "description": "missed deadlines",'
        ' "when": {"min_waiting": 0.5}}, {"name": "promoters", "when": {"min_sentiment": 0.4}}]}'
    )
    ssm = boto3.client("ssm")
    assert tool.publish(ssm, document, "dev") == pipeline["SOCIALCRM_SEGMENTS_PARAMETER"]
    done = assign_segments({}, None)
    assert done["customers"] == 22
    assert auto("waited-0") >= {"kept-waiting"}
    assert "promoters" in auto("prom-0")
    assert "detractors" not in auto("detr-0")
    body = call(client, "get", "/insights/segments", role="supervisor")[1]
    assert [s["segment"] for s in body["segments"]] == ["kept-waiting", "promoters"]
    assert body["version"] == "ops-2"

    # Invalid (edited by hand in the console): the run fails before writing, nothing changes.
    ssm.put_parameter(Name=pipeline["SOCIALCRM_SEGMENTS_PARAMETER"], Value='{"version": "3"}', Overwrite=True)
    dependencies.reset()
    from chalicelib.insight.segments import SegmentError

    with pytest.raises(SegmentError, match="at least one segment"):
        assign_segments({}, None)
    assert auto("waited-0") >= {"kept-waiting"}
    assert call(client, "get", "/insights/segments", role="supervisor")[0] == 200  # shows the default's rules
