"""Replies sent from socialcrm, in their customer's partition; the client's reply ids that make a
double POST one reply; and per channel account, the re-authorisation episode and the pacing of
messages to one recipient.

Every write of a reply is conditional (its version, and that it still exists), so an erasure that
deleted it is not undone by a sender finishing late, and two writers never lose each other's step.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.reply import Reply, ReplyState
from chalicelib.store import keys
from chalicelib.store.models import ChannelStateItem, ReplyItem, ReplyRequestItem
from chalicelib.store.transactions import (
    cancellation_codes,
    condition_failed_at,
    customer_writable,
    is_condition_failure,
)

REPLY = "REPLY#"
ATTEMPTS = 8
REAUTH = "REAUTH"
# How long a re-authorisation episode lasts without a send that works: after this, a new failure
# is a new episode (and a new alert), so a forgotten one is raised again the next day.
REAUTH_EPISODE = timedelta(hours=24)


class CustomerGone(LookupError):
    """The customer does not exist (or is being erased): nothing may be written for them."""


def new_reply_id(customer_id: str) -> str:
    """`<customer_id>_R<random>`: a reply lives in its customer's partition, so its id says which."""
    return f"{customer_id}_R{secrets.token_hex(10)}"


def customer_of_reply(reply_id: str) -> str | None:
    customer_id, _, suffix = reply_id.rpartition("_")
    return customer_id if customer_id and len(suffix) == 21 and suffix.startswith("R") else None


class ReplyStore:
    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)

    def create(self, reply: Reply) -> tuple[Reply, bool]:
        """Keep a new reply (queued); with a client reply id, only once per case: the second
        request gets the first reply back, and False. Raises CustomerGone when the customer is
        not there or is being erased (nothing may be written for them)."""
        item = self._item(reply)
        for _ in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    customer_writable(transaction, reply.customer_id)
                    if reply.client_reply_id:
                        transaction.save(
                            ReplyRequestItem(
                                keys.customer(reply.customer_id),
                                _request_sk(reply.case_id, reply.client_reply_id),
                                reply_id=reply.reply_id,
                                expires_at=reply.created_at + self._retention,
                            ),
                            condition=ReplyRequestItem.pk.does_not_exist(),
                        )
                    transaction.save(item, condition=ReplyItem.pk.does_not_exist())
            except TransactWriteError as exc:
                if condition_failed_at(exc, 0):
                    raise CustomerGone(reply.customer_id) from None
                if reply.client_reply_id and condition_failed_at(exc, 1):
                    earlier = self.by_client_id(reply.customer_id, reply.case_id, reply.client_reply_id)
                    if earlier is not None:
                        return earlier, False
                    continue  # its reply is being written: read again
                if "TransactionConflict" in cancellation_codes(exc):
                    continue
                raise
            return reply, True
        raise RuntimeError(f"reply for case {reply.case_id} kept colliding; giving up after {ATTEMPTS} attempts")

    def by_client_id(self, customer_id: str, case_id: str, client_reply_id: str) -> Reply | None:
        try:
            request = ReplyRequestItem.get(
                keys.customer(customer_id), _request_sk(case_id, client_reply_id), consistent_read=True
            )
        except DoesNotExist:
            return None
        return self.get(request.reply_id)

    def get(self, reply_id: str) -> Reply | None:
        customer_id = customer_of_reply(reply_id)
        if customer_id is None:
            return None
        try:
            item = ReplyItem.get(keys.customer(customer_id), REPLY + reply_id, consistent_read=True)
        except DoesNotExist:
            return None
        return _reply(item)

    def of_customer(self, customer_id: str, case_id: str | None = None) -> list[Reply]:
        """The customer's replies, oldest first (a case's only, when given)."""
        query = ReplyItem.query(keys.customer(customer_id), ReplyItem.sk.startswith(REPLY), consistent_read=True)
        found = [_reply(item) for item in query if case_id is None or item.case_id == case_id]
        return sorted(found, key=lambda reply: reply.created_at)

    def begin_send(self, reply_id: str, now: datetime) -> tuple[Reply | None, bool]:
        """Take the reply for a call to the platform: (reply, True) when this sender may call;
        (reply, False) when it may not: it is no longer queued, or an earlier attempt began a call
        whose outcome nobody recorded (the caller marks it unknown). (None, False): no such reply."""
        for _ in range(ATTEMPTS):
            item = self._read(reply_id)
            if item is None:
                return None, False
            if item.state != ReplyState.QUEUED.value or cast(datetime | None, item.sending_since) is not None:
                return _reply(item), False
            customer_id = _reply(item).customer_id
            try:
                # Only while the customer is not being erased: an erasure under way deletes the
                # reply, and nothing may be sent in their name meanwhile.
                with TransactWrite(connection=self._connection) as transaction:
                    customer_writable(transaction, customer_id)
                    transaction.update(
                        item,
                        actions=[ReplyItem.sending_since.set(now)],
                        condition=ReplyItem.pk.exists() & ReplyItem.sending_since.does_not_exist(),
                    )
            except TransactWriteError as exc:
                if condition_failed_at(exc, 0):
                    return None, False  # being erased (or gone): as if there were no reply
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue  # it changed (another sender, a status): look again
                raise
            return _reply(item), True
        raise RuntimeError(f"reply {reply_id} kept changing; giving up after {ATTEMPTS} attempts")

    def call_started_at(self, reply_id: str) -> datetime | None:
        """When the call begun on the reply began, if one is begun and not ended."""
        item = self._read(reply_id)
        return cast(datetime | None, item.sending_since) if item is not None else None

    def change(
        self, reply_id: str, change: Callable[[Reply], Reply | None], *, sending_done: bool = False
    ) -> Reply | None:
        """Apply `change` to the reply as stored (None from it: nothing to do), on condition that
        nobody wrote it meanwhile (read again and retried then). `sending_done` ends the send begun
        by `begin_send`. Returns the reply as written, or None if it is gone or unchanged."""
        for _ in range(ATTEMPTS):
            item = self._read(reply_id)
            if item is None:
                return None
            changed = change(_reply(item))
            if changed is None and not sending_done:
                return None
            actions: list[Action] = []
            if changed is not None:
                actions += [
                    ReplyItem.state.set(changed.state.value),
                    ReplyItem.record.set(changed.to_record()),
                ]
            if sending_done:
                actions.append(ReplyItem.sending_since.remove())
            try:
                item.update(actions=actions, condition=ReplyItem.pk.exists())
            except UpdateError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return changed
        raise RuntimeError(f"reply {reply_id} kept changing; giving up after {ATTEMPTS} attempts")

    def open_reauth_episode(self, platform: str, account: str, now: datetime) -> bool:
        """True when this failure opens a re-authorisation episode for the channel account (raise
        one alert); False while one is open."""
        item = ChannelStateItem(_channel(platform, account), REAUTH, since=now, expires_at=now + REAUTH_EPISODE)
        try:
            item.save(condition=ChannelStateItem.pk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def close_reauth_episode(self, platform: str, account: str) -> None:
        """A send that worked ends the episode: the next failure alerts again."""
        ChannelStateItem(_channel(platform, account), REAUTH).delete()

    def pace(self, platform: str, account: str, recipient: str, spacing: timedelta, now: datetime) -> float:
        """Reserve the next slot for a message to one recipient: 0 when it may go now (the slot is
        taken), else the seconds to wait. Platforms limit messages to one chat or user (Telegram
        about one a second per chat, WhatsApp one every six seconds per user)."""
        # The recipient as a hash: this item lives outside the customer's partition (an hour at most).
        digest = hashlib.sha256(recipient.encode()).hexdigest()[:32]
        key = (_channel(platform, account), f"PACE#{digest}")
        for _ in range(ATTEMPTS):
            try:
                item = ChannelStateItem.get(*key, consistent_read=True)
                next_at = cast(datetime | None, item.next_at)
            except DoesNotExist:
                item, next_at = None, None
            if next_at is not None and next_at > now:
                return (next_at - now).total_seconds()
            fresh = ChannelStateItem(*key, next_at=now + spacing, expires_at=now + timedelta(hours=1))
            condition = (
                ChannelStateItem.pk.does_not_exist()
                if item is None
                else ChannelStateItem.next_at == next_at
                if next_at is not None
                else ChannelStateItem.next_at.does_not_exist()
            )
            try:
                fresh.save(condition=condition)
            except PutError as exc:
                if is_condition_failure(exc):
                    continue  # another send to the same recipient took the slot: look again
                raise
            return 0.0
        return spacing.total_seconds()

    def _read(self, reply_id: str) -> ReplyItem | None:
        customer_id = customer_of_reply(reply_id)
        if customer_id is None:
            return None
        try:
            return ReplyItem.get(keys.customer(customer_id), REPLY + reply_id, consistent_read=True)
        except DoesNotExist:
            return None

    def _item(self, reply: Reply) -> ReplyItem:
        return ReplyItem(
            keys.customer(reply.customer_id),
            REPLY + reply.reply_id,
            case_id=reply.case_id,
            state=reply.state.value,
            record=reply.to_record(),
            expires_at=reply.created_at + self._retention,
        )


def _reply(item: ReplyItem) -> Reply:
    return Reply.from_record(dict(item.record))


def _request_sk(case_id: str, client_reply_id: str) -> str:
    return f"REPLYREQ#{case_id}#{client_reply_id}"


def _channel(platform: str, account: str) -> str:
    return f"CHANNEL#{platform}#{account}"
