"""Where alerts go: SNS topics by severity, an optional chat incoming webhook for urgent ones
(its URL is the `chat_webhook_url` secret), and, on the local stack, the worker's log."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.models.alert import Alert
from chalicelib.observability import logger
from chalicelib.ports import SecretNotSet, SecretReader, SecretUnavailable
from chalicelib.rules.hygiene import Channel

CHAT_TIMEOUT_SECONDS = 5


class NotificationChannels:
    def __init__(
        self,
        topics: Mapping[Channel, str],
        secrets: SecretReader,
        echo: bool = False,
        sns_client: Any = None,
    ) -> None:
        self._topics = dict(topics)
        self._secrets = secrets
        self._echo = echo
        self._sns = sns_client

    def send(self, channel: Channel, subject: str, body: str, alert: Alert | None) -> tuple[str, ...]:
        delivered: list[str] = []
        if self._echo:
            # The local stack's `make run` log: what an e-mail would say. The weekly summary's body
            # names topics, which are customers' words: its subject (counts) only.
            shown = "" if channel is Channel.SUMMARY else body
            indented = "".join(f"\n    {line}" for line in shown.splitlines())
            print(f"ALERT [{channel.value}] {subject}{indented}", file=sys.stderr, flush=True)
            delivered.append("log")
        topic = self._topics.get(channel)
        if topic:
            attributes = {"channel": {"DataType": "String", "StringValue": channel.value}}
            if alert is not None:
                attributes["severity"] = {"DataType": "String", "StringValue": alert.severity.value}
                attributes["type"] = {"DataType": "String", "StringValue": alert.detail_type}
            self._client().publish(TopicArn=topic, Subject=subject, Message=body, MessageAttributes=attributes)
            delivered.append(f"sns:{channel.value}")
        if channel is Channel.URGENT:
            try:
                if self._chat(subject, body):
                    delivered.append("chat")
            except (OSError, SecretUnavailable) as exc:  # URLError, HTTPError, timeouts; the secret unreadable
                # The topic has it already: retrying the record would e-mail everyone again.
                logger.warning("chat webhook failed", extra={"error": type(exc).__name__})
                if not delivered:
                    raise
        return tuple(delivered)

    def _chat(self, subject: str, body: str) -> bool:
        try:
            url = self._secrets.get("chat_webhook_url")
        except SecretNotSet:
            return False  # not configured (a secret that cannot be read at all raises)
        payload = json.dumps({"text": f"*{subject}*\n{body}"}).encode()
        request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=CHAT_TIMEOUT_SECONDS) as response:  # noqa: S310 - https only, checked at deploy
            logger.info("chat notified", extra={"status": response.status})
        return True

    def _client(self) -> Any:
        if self._sns is None:
            self._sns = client("sns", WORKER_PROFILE)
        return self._sns
