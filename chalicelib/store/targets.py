"""What a reply needs to know about the message it answers: the case's latest message from the
customer, where it was written (platform, account, thread), by which of the customer's identities,
when, and whether it still exists. Read from the customer's partition through the case's list of
interactions (newest first) and their pointers."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pynamodb.exceptions import DoesNotExist

from chalicelib.models.case import Case
from chalicelib.models.reply import AnsweredMessage
from chalicelib.store import keys
from chalicelib.store.models import CustomerIdentityItem, InteractionItem, PointerItem
from chalicelib.store.timeline import POINTER

# A case lists its interactions oldest first, replies among them; the customer's latest message is
# found within the newest few.
LOOK_BACK = 20


class ReplyTargets:
    def latest_inbound(self, case: Case) -> AnsweredMessage | None:
        """The case's newest message from the customer (deleted ones included: the caller refuses
        to answer them), or None when none is stored."""
        for ref in reversed(case.interactions[-LOOK_BACK:]):
            platform, _, external_id = ref.partition(":")
            try:
                pointer = PointerItem.get(keys.pointer(platform, external_id), POINTER, consistent_read=True)
            except DoesNotExist:
                continue
            if not pointer.interaction_sk or pointer.customer_id != case.customer_id:
                continue
            try:
                item = InteractionItem.get(
                    keys.customer(case.customer_id), pointer.interaction_sk, consistent_read=True
                )
            except DoesNotExist:
                continue
            if item.direction != "inbound":
                continue
            user_id = self._user_id(case.customer_id, platform)
            if user_id is None:
                return None
            deleted = cast(datetime | None, item.deleted_at) is not None or pointer.deleted_at is not None
            return AnsweredMessage(
                platform=platform,
                kind=item.kind,
                external_id=item.external_id,
                account_id=item.account_id,
                thread_id=item.thread_id,
                parent_id=item.parent_id,
                user_id=user_id,
                occurred_at=item.occurred_at,
                deleted=deleted,
            )
        return None

    def platforms(self, customer_id: str) -> list[str]:
        """The platforms the customer is known on (the 'another channel' a refusal may offer)."""
        return sorted({item.platform for item in self._identities(customer_id)})

    def _user_id(self, customer_id: str, platform: str) -> str | None:
        """The customer's id on the platform; of several (a phone number and a business-scoped id),
        the one seen last."""
        found = [item for item in self._identities(customer_id) if item.platform == platform]
        return max(found, key=lambda item: item.last_seen_at).user_id if found else None

    def _identities(self, customer_id: str) -> list[CustomerIdentityItem]:
        return list(
            CustomerIdentityItem.query(
                keys.customer(customer_id),
                CustomerIdentityItem.sk.startswith("IDENTITY#"),
                consistent_read=True,
            )
        )
