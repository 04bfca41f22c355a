"""Lake records from the bus's events: an allow-list of fields per table, so a field added to an
event later stays out of the lake until someone decides it belongs there.

Three tables (the Glue definitions in infra/template.json name the same columns):
- `interactions`: one record per `Interaction Stored` event;
- `events`: one per other event (alerts, cases, crises), without their reasons, which may quote
  a customer's words;
- `topics`: one per topic and hour each time the topics are counted (aggregates: no ids at all,
  and only topics enough messages name).

Delivery is at least once, so a record can land twice: `record_id` is the same for every copy,
and the queries count distinct ids (the README's queries do).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.models.events import DetailType
from chalicelib.models.interaction import iso, parse_iso

INTERACTIONS, EVENTS, TOPICS = "interactions", "events", "topics"
# A topic is one word customers wrote: an hour's topic goes to the lake only once this many
# messages name it, so no one person's rare word (a name, a street) is copied out of the table.
TOPIC_MIN_MENTIONS = 3
_REF_LENGTH = 32  # hex characters: 128 bits, ample against collisions, short in every row


class Pseudonyms:
    """Keyed hashes under the stage's lake key: the same id gives the same reference in every
    record (so the lake joins), and nobody without the key can tell which id it was."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the lake key must be at least 16 bytes")
        self._key = key

    def ref(self, kind: str, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:_REF_LENGTH]

    def customer(self, salt: str | None) -> str | None:
        """A customer's reference comes from the random salt on their profile, not from their id:
        once erasure deletes the salt, no key and no record of the id leads to their rows."""
        return self.ref("customer", salt)


def customer_of(envelope: Mapping[str, Any]) -> str | None:
    """The customer an event is about, if one."""
    detail = envelope.get("detail") or {}
    value = detail.get("customer_id")
    return str(value) if value else None


def record(envelope: Mapping[str, Any], salt: str | None, pseudonyms: Pseudonyms) -> dict[str, Any]:
    """The lake record of one EventBridge event as SQS delivers it (the whole envelope); `salt`
    is its customer's lake salt (None: no customer, or one erased since)."""
    detail_type = DetailType(envelope["detail-type"])
    detail: Mapping[str, Any] = envelope["detail"]
    common = {
        "record_id": pseudonyms.ref("record", str(detail["dedupe_key"])),
        "customer_ref": pseudonyms.customer(salt),
    }
    if detail_type is DetailType.INTERACTION_STORED:
        return {**common, **_interaction(detail, pseudonyms)}
    return {**common, **_event(detail_type, detail, str(envelope["time"]), pseudonyms)}


def _when(moment: str) -> dict[str, Any]:
    at = parse_iso(moment)
    return {"day": at.strftime("%Y-%m-%d"), "hour": at.hour}


def _interaction(detail: Mapping[str, Any], pseudonyms: Pseudonyms) -> dict[str, Any]:
    reference: Mapping[str, Any] = detail["interaction"]
    intent = detail.get("intent") or {}
    return {
        "lake_table": INTERACTIONS,
        **_when(reference["occurred_at"]),
        "occurred_at": reference["occurred_at"],
        "platform": reference["platform"],
        "account_id": reference.get("account_id"),
        "kind": reference["kind"],
        "direction": detail.get("direction"),
        "action": detail.get("action"),
        "interaction_ref": pseudonyms.ref("interaction", f"{reference['platform']}:{reference['external_id']}"),
        "case_ref": pseudonyms.ref("case", detail.get("case_id")),
        "agent_ref": pseudonyms.ref("agent", detail.get("sent_by")),
        "sentiment": detail.get("sentiment"),
        "language": detail.get("language"),
        "intent": intent.get("label"),
        "intent_confidence": intent.get("confidence"),
        "team": detail.get("team"),
        "priority": detail.get("priority"),
        "rating": detail.get("rating"),
        "reaction": detail.get("reaction"),
        "competitors": list(detail.get("competitors") or ()),
        "first_response_seconds": detail.get("first_response_seconds"),
    }


def _event(detail_type: DetailType, detail: Mapping[str, Any], at: str, pseudonyms: Pseudonyms) -> dict[str, Any]:
    reference: Mapping[str, Any] = detail.get("interaction") or {}
    external = reference.get("external_id")
    platform = reference.get("platform") or detail.get("platform")
    intent = detail.get("intent")
    return {
        "lake_table": EVENTS,
        **_when(at),
        "at": at,
        "detail_type": detail_type.value,
        "severity": detail.get("severity"),
        "case_ref": pseudonyms.ref("case", detail.get("case_id")),
        "interaction_ref": pseudonyms.ref("interaction", f"{platform}:{external}") if external else None,
        "platform": platform,
        "account_id": reference.get("account_id") or detail.get("brand") or detail.get("channel_account"),
        "team": detail.get("team") or (detail.get("route") or {}).get("team"),
        "priority": detail.get("priority") or (detail.get("route") or {}).get("priority"),
        "intent": intent.get("label") if isinstance(intent, Mapping) else intent,
        "churn_risk": detail.get("churn_risk"),
        "lead_score": detail.get("lead_score"),
        "overdue_minutes": detail.get("overdue_minutes"),
        "z_score": detail.get("z_score"),
        "negative_count": detail.get("negative_count"),
        "episode": detail.get("episode"),
        "topic": detail.get("topic"),
    }


def topic_records(hour: datetime, counts: Mapping[str, tuple[int, int]], counted_at: datetime) -> list[dict[str, Any]]:
    """One record per topic of an hour named by at least TOPIC_MIN_MENTIONS messages: `counts`
    maps each topic to (mentions, negative ones). The hour is counted again every run while it is
    recent; the latest `counted_at` is its count."""
    stamp = iso(counted_at)
    day = hour.strftime("%Y-%m-%d")
    return [
        {
            "record_id": hashlib.sha256(f"{day}:{hour.hour}:{topic}:{stamp}".encode()).hexdigest()[:_REF_LENGTH],
            "lake_table": TOPICS,
            "day": day,
            "hour": hour.hour,
            "topic": topic,
            "mentions": mentions,
            "negative": negative,
            "counted_at": stamp,
        }
        for topic, (mentions, negative) in sorted(counts.items())
        if mentions >= TOPIC_MIN_MENTIONS
    ]
