"""Real payloads: every capture in tests/data/captures (taken from public sources and the platforms'
documentation, see each folder's PROVENANCE.md) is parsed by its channel, and what is queued and
what is ignored (and the statuses of the brand's messages) must equal its
`.expected.json`, written from the platform's documentation of the
shape. A capture without an expected file fails: each one says what it must become."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.channels.base import WebhookRequest
from chalicelib.channels.registry import CHANNELS

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"
# Folder -> the channel (webhook route) that platform's deliveries arrive on.
CHANNEL_OF = {
    "meta": "meta",
    "instagram": "meta",
    "whatsapp": "meta",
    "telegram": "telegram",
    "trustpilot": "trustpilot",
    "x": "x",
}
RECEIVED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def captures() -> list[Path]:
    return sorted(
        path
        for folder in CHANNEL_OF
        for path in (CAPTURES / folder).glob("*.json")
        if not path.name.endswith(".expected.json")
    )


def parsed(path: Path) -> dict[str, Any]:
    channel = CHANNELS[CHANNEL_OF[path.parent.name]]
    result = channel.parse(WebhookRequest(body=path.read_bytes()), RECEIVED)
    queued = [{k: v for k, v in i.to_dict().items() if k != "received_at"} for i in result.interactions]
    statuses = [status.to_dict() for status in result.statuses]
    return {"queued": queued, "statuses": statuses, "ignored": dict(sorted(result.ignored.items()))}


def test_every_capture_has_its_expected_result() -> None:
    missing = [
        str(path.relative_to(CAPTURES)) for path in captures() if not path.with_suffix(".expected.json").exists()
    ]
    assert missing == []


@pytest.mark.parametrize("path", captures(), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_a_capture_becomes_what_the_platform_documents(path: Path) -> None:
    expected_path = path.with_suffix(".expected.json")
    if not expected_path.exists():
        pytest.fail(f"no {expected_path.name}")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    got = parsed(path)
    assert got["ignored"] == expected["ignored"]
    # What the platform says of the brand's messages (receipts, statuses): none unless listed.
    assert got["statuses"] == expected.get("statuses", [])
    by_key = sorted(got["queued"], key=lambda m: m["idempotency_key"])
    wanted = sorted(expected["queued"], key=lambda m: m["idempotency_key"])
    assert [m["idempotency_key"] for m in by_key] == [m["idempotency_key"] for m in wanted]
    for actual, want in zip(by_key, wanted, strict=True):
        assert actual == want, actual["idempotency_key"]
