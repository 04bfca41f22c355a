"""Webhook deliveries kept whole in S3 because items in them were not read (a changed payload, a
parser bug), so that they can be replayed once the parser reads them.

The bucket is encrypted, private, and expires objects after the stage's retention. A key says what
a listing needs without reading the object: `<channel>/<yyyy-mm-dd>/<received, ms>-<digest>.<reasons>.json`,
e.g. `meta/2026-12-06/20261206T101112123Z-3f9a0c1b2d4e5f60.malformed-2+unknown-1.json`; the generic
source, which a replay must post as again, is the object's metadata.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from chalicelib.ports import ArchiveUnavailable, KeptDelivery

_KEY = re.compile(
    r"^(?P<channel>[a-z]+)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<stamp>\d{8}T\d{9}Z)-(?P<digest>[0-9a-f]{16})\.(?P<reasons>[a-z+\-0-9]+)\.json$"
)


def key_for(channel: str, body: bytes, received_at: datetime, reasons: dict[str, int]) -> str:
    moment = received_at.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    digest = hashlib.sha256(body).hexdigest()[:16]
    why = "+".join(f"{reason}-{count}" for reason, count in sorted(reasons.items()))
    return f"{channel}/{moment.strftime('%Y-%m-%d')}/{stamp}-{digest}.{why}.json"


def parse_key(key: str, size: int = 0, source: str | None = None) -> KeptDelivery | None:
    match = _KEY.match(key)
    if match is None:
        return None
    reasons = {}
    for part in match.group("reasons").split("+"):
        reason, _, count = part.rpartition("-")
        if not reason or not count.isdigit():
            return None
        reasons[reason] = int(count)
    received = datetime.strptime(match.group("stamp"), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    return KeptDelivery(key, match.group("channel"), source, received, reasons, size)


class S3DeliveryArchive:
    def __init__(self, bucket: str, s3_client: Any = None, profile: str = "webhook") -> None:
        self._bucket = bucket
        self._client = s3_client
        self._profile = profile

    @property
    def s3(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("s3", self._profile)
        return self._client

    def keep(
        self, channel: str, body: bytes, source: str | None, received_at: datetime, reasons: dict[str, int]
    ) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = key_for(channel, body, received_at, reasons)
        if not self._bucket:
            raise ArchiveUnavailable("SOCIALCRM_UNREAD_BUCKET is not set")
        try:
            self.s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                Metadata={"source": source} if source else {},
            )
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"PutObject failed: {type(exc).__name__}") from exc
        return key

    def listing(self, channel: str | None, limit: int, cursor: str | None) -> tuple[list[KeptDelivery], str | None]:
        """Oldest first; the cursor is the last key returned."""
        request: dict[str, Any] = {"Bucket": self._bucket, "MaxKeys": limit}
        if channel:
            request["Prefix"] = f"{channel}/"
        if cursor:
            request["StartAfter"] = cursor
        response = self.s3.list_objects_v2(**request)
        found = [parse_key(str(item["Key"]), int(item.get("Size", 0))) for item in response.get("Contents", [])]
        kept = [entry for entry in found if entry is not None]
        more = bool(response.get("IsTruncated")) and bool(response.get("Contents"))
        return kept, str(response["Contents"][-1]["Key"]) if more else None

    def body(self, key: str) -> tuple[KeptDelivery, bytes] | None:
        from botocore.exceptions import ClientError

        try:
            response = self.s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body = response["Body"].read()
        entry = parse_key(key, len(body), (response.get("Metadata") or {}).get("source"))
        return (entry, body) if entry is not None else None

    def discard(self, key: str) -> None:
        self.s3.delete_object(Bucket=self._bucket, Key=key)
