"""What the platforms send back after a reply went out, and the thread that sends it.

A reply's fate reaches socialcrm only through these webhooks: Messenger and Instagram echo the
message (with the `metadata` it was sent with, which is how a sender recognises its own reply) and
report its delivery and reading; WhatsApp sends `sent`, `delivered` and `read` statuses naming the
wamid and echoing `biz_opaque_callback_data`; X delivers the account's own DM as an account-activity
event. The bodies copy the shapes of real deliveries (tests/data/captures/: messenger-echo-app-id,
messenger-delivery, messenger-read, instagram dm_read, whatsapp status_*, x aaa-dm-sent-by-account)
and are signed with the stack's secrets by tools/webhook_client.py, exactly as the demo signs its
samples, so they pass the same verification as a real platform's.

They go from one background thread, each after a delay (the platforms' are never instant, and a
sender must cope with an echo that arrives before or after its own answer): the send's answer never
waits for them. A callback that fails is logged (which one and why, never its text nor a secret)
and not retried: the real platforms do retry, but a sandbox that hides a broken webhook route
behind retries would hide the bug too.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.webhook_client import sign

log = logging.getLogger("local.sandbox")

# The app id Meta puts on echoes of messages an app sent (the helpers of socialcrm's tests use it too).
META_APP_ID = 1000000000000001
# The client X names on DMs the account sent through the API.
X_APP_ID = "26000099"
# The demo's WhatsApp number (events/webhooks/meta/whatsapp-*.json): its business account and
# display number, which every status webhook names. Other numbers get their own id for both.
WHATSAPP_NUMBERS = {"100000000000101": ("100000000000100", "15550100000")}


@dataclass(frozen=True)
class Callback:
    """One webhook delivery to make: the channel route it goes to, its body, and a label for the log."""

    channel: str
    document: dict[str, Any]
    label: str


def millis() -> int:
    return int(time.time() * 1000)


# --- Messenger and Instagram ---------------------------------------------------------------------


def meta_echo_and_receipts(
    platform: str, account: str, customer: str, mid: str, text: str, metadata: str | None
) -> list[Callback]:
    """The echo of a message the Page (or Instagram account) sent through the app, then what the
    customer's app reports: Messenger a `delivery` and a `read` watermark; Instagram, which has no
    delivery event, a `read` naming the message (its `messaging_seen` event)."""
    obj = "instagram" if platform == "instagram" else "page"
    message: dict[str, Any] = {"mid": mid, "is_echo": True, "app_id": META_APP_ID, "text": text}
    if metadata is not None:
        message["metadata"] = metadata
    sent = millis()
    outbound = {"sender": {"id": account}, "recipient": {"id": customer}}
    inbound = {"sender": {"id": customer}, "recipient": {"id": account}}
    echo = _meta_delivery(obj, account, {**outbound, "message": message})
    if obj == "instagram":
        read = _meta_delivery(obj, account, {**inbound, "read": {"mid": mid}})
        return [Callback("meta", echo, f"{platform} echo"), Callback("meta", read, f"{platform} read")]
    delivered = _meta_delivery(obj, account, {**inbound, "delivery": {"mids": [mid], "watermark": sent}})
    read = _meta_delivery(obj, account, {**inbound, "read": {"watermark": sent}})
    return [
        Callback("meta", echo, f"{platform} echo"),
        Callback("meta", delivered, f"{platform} delivery"),
        Callback("meta", read, f"{platform} read"),
    ]


def _meta_delivery(obj: str, account: str, item: dict[str, Any]) -> dict[str, Any]:
    # Stamped when built: each event's time is near when it is sent (the delay is short).
    now = millis()
    return {"object": obj, "entry": [{"id": account, "time": now, "messaging": [{**item, "timestamp": now}]}]}


# --- WhatsApp ------------------------------------------------------------------------------------


def whatsapp_statuses(
    phone_number_id: str,
    wamid: str,
    recipient: str,
    business_scoped: bool,
    opaque: str | None,
    template: bool,
) -> list[Callback]:
    """`sent`, `delivered` and `read`, one webhook each, as the Cloud API sends them. To a phone
    number (`to`) a status names the `recipient_id` and carries the conversation and its pricing;
    to a business-scoped user id (`recipient`) it names `recipient_user_id` and carries per-message
    pricing without a conversation (as status_delivered_bsuid_pmp.json shows)."""
    account, display = WHATSAPP_NUMBERS.get(phone_number_id, (phone_number_id, "15550000000"))
    category = "utility" if template else "service"
    # One conversation per number and customer, as Meta keys them (32 hex digits).
    conversation_id = hashlib.sha256(f"{phone_number_id}:{recipient}".encode()).hexdigest()[:32]
    opened = int(time.time())
    callbacks = []
    for state in ("sent", "delivered", "read"):
        status: dict[str, Any] = {"id": wamid, "status": state, "timestamp": str(int(time.time()))}
        if business_scoped:
            status["recipient_user_id"] = recipient
        else:
            status["recipient_id"] = recipient
        if opaque is not None:
            status["biz_opaque_callback_data"] = opaque
        if business_scoped:
            status["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}
        else:
            conversation: dict[str, Any] = {"id": conversation_id}
            if state == "sent":
                conversation["expiration_timestamp"] = str(opened + 24 * 3600)
            conversation["origin"] = {"type": category}
            status["conversation"] = conversation
            status["pricing"] = {"billable": True, "pricing_model": "CBP", "category": category}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
            "statuses": [status],
        }
        document = {
            "object": "whatsapp_business_account",
            "entry": [{"id": account, "changes": [{"value": value, "field": "messages"}]}],
        }
        callbacks.append(Callback("meta", document, f"whatsapp {state} status"))
    return callbacks


# --- X -------------------------------------------------------------------------------------------


def x_dm_echo(account: str, participant: str, event_id: str, text: str) -> list[Callback]:
    """The account's own DM, as the Account Activity API delivers it to the account's webhook
    (`for_user_id` is the account and so is the sender)."""
    document = {
        "for_user_id": account,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": event_id,
                "created_timestamp": str(millis()),
                "message_create": {
                    "target": {"recipient_id": participant},
                    "sender_id": account,
                    "source_app_id": X_APP_ID,
                    "message_data": {
                        "text": text,
                        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                    },
                },
            }
        ],
        "apps": {X_APP_ID: {"id": X_APP_ID, "name": "socialcrm (sandbox)", "url": "https://example.com"}},
    }
    return [Callback("x", document, "x dm echo")]


# --- Sending them --------------------------------------------------------------------------------


@dataclass(order=True)
class _Job:
    due: float
    sequence: int
    callback: Callback = field(compare=False)


class Dispatcher:
    """Posts callbacks to `base_url` (the stack's API) from one daemon thread, each when it is due.
    The callbacks of one send are spaced by `delay` (echo, then delivery, then read), in order."""

    def __init__(self, base_url: str, secrets: Mapping[str, Any], delay: float = 0.5, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.delay = delay
        self._secrets = dict(secrets)
        self._timeout = timeout
        self._jobs: list[_Job] = []
        self._sequence = itertools.count()
        self._changed = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sandbox-callbacks", daemon=True)
        self._thread.start()

    def schedule(self, callbacks: list[Callback]) -> None:
        now = time.monotonic()
        with self._changed:
            for index, callback in enumerate(callbacks, start=1):
                heapq.heappush(self._jobs, _Job(now + self.delay * index, next(self._sequence), callback))
            self._changed.notify_all()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every scheduled callback has been posted (for tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._jobs or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closed and (not self._jobs or self._jobs[0].due > time.monotonic()):
                    self._changed.wait(self._jobs[0].due - time.monotonic() if self._jobs else None)
                if self._closed:
                    return
                job = heapq.heappop(self._jobs)
                self._busy = True
            try:
                self._post(job.callback)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _post(self, callback: Callback) -> None:
        body = json.dumps(callback.document, ensure_ascii=False).encode("utf-8")
        signed = sign(callback.channel, body, self._secrets)
        request = urllib.request.Request(  # noqa: S310 - the stack's own API, http on this machine
            self.base_url + signed.path, data=signed.body, headers=signed.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                log.info("callback %s -> %d", callback.label, answer.status)
        except urllib.error.HTTPError as error:
            log.warning("callback %s -> %d (not retried)", callback.label, error.code)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            log.warning("callback %s failed: %s (not retried)", callback.label, type(reason).__name__)
