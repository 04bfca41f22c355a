"""Builds webhook requests signed the way each platform signs them.

Used by the local demo, the end-to-end test and the benchmark to play the platforms' part. The
signatures come from the same primitives the routes verify with; those primitives are checked
against published known-answer vectors in tests/unit/test_signing.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib.channels import generic
from chalicelib.channels.signing import base64_signature, hex_signature

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "events" / "webhooks"
CHANNELS = ("meta", "x", "telegram", "trustpilot", "generic")


@dataclass(frozen=True)
class SignedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


def sign(
    channel: str, body: bytes, secrets: dict[str, Any], source: str = "", now: float | None = None
) -> SignedRequest:
    headers = {"Content-Type": "application/json"}
    path = f"/webhooks/{channel}"
    if channel == "meta":
        headers["X-Hub-Signature-256"] = hex_signature(secrets["meta_app_secret"], body)
    elif channel == "x":
        headers["X-Twitter-Webhooks-Signature"] = base64_signature(secrets["x_consumer_secret"], body)
    elif channel == "telegram":
        headers["X-Telegram-Bot-Api-Secret-Token"] = secrets["telegram_secret_token"]
    elif channel == "trustpilot":
        path += "?" + urlencode({"token": secrets["trustpilot_token"]})
    elif channel == "generic":
        timestamp = str(int(now if now is not None else time.time()))
        path = f"/webhooks/generic/{source}"
        headers["X-SocialCRM-Timestamp"] = timestamp
        secret = (secrets.get("generic_secrets") or {}).get(source) or secrets["generic_secret"]
        headers["X-SocialCRM-Signature"] = generic.sign(secret, timestamp, source, body)
    else:
        raise ValueError(f"unknown channel {channel!r}")
    return SignedRequest(path=path, headers=headers, body=body)


def sample_files() -> list[Path]:
    """Every sample body under events/webhooks/<channel>/, in a stable order."""
    return sorted(path for path in SAMPLES_DIR.glob("*/*.json") if not path.name.endswith(".expected.json"))


def sign_sample(path: Path, secrets: dict[str, Any], now: float | None = None) -> SignedRequest:
    """A generic sample's source is its name up to the first dot: `helpdesk.update.json` posts as
    `helpdesk`, so a later delivery can edit what an earlier sample of the same source sent."""
    channel = path.parent.name
    return sign(channel, path.read_bytes(), secrets, source=path.stem.split(".")[0], now=now)
