"""Writing a customer's timeline: new interactions with their aggregates, edits, deletions.

An interaction is stored with its pointer and the customer's new aggregates in one transaction:
the pointer's condition makes it once-only, the profile's version makes concurrent updates of
the same customer retry. Edits and deletions find the interaction through its pointer; one that
arrives before the original is applied when the original lands, or (a deletion) leaves a
tombstone so that the original, arriving later, is never stored with the text its author removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.insight import counts
from chalicelib.insight.counts import Where
from chalicelib.insight.topics import late_listing
from chalicelib.models.aggregates import Aggregates
from chalicelib.models.case import ACTIVE, Case
from chalicelib.models.customer import StoredText
from chalicelib.models.decision import IntentResult
from chalicelib.models.events import DomainEvent
from chalicelib.models.interaction import Direction, Interaction
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis
from chalicelib.observability import logger
from chalicelib.ports import CustomerErased
from chalicelib.rules.aggregates import current_name
from chalicelib.rules.cases import reply_of
from chalicelib.store import keys
from chalicelib.store.figures import add_counts
from chalicelib.store.models import CaseItem, CustomerItem, InteractionItem, PointerItem
from chalicelib.store.serde import (
    apply_churn,
    case_from_item,
    case_item,
    churn_from_json,
    segments_of,
    waiting_replies_of,
)
from chalicelib.store.transactions import (
    cancellation_codes,
    condition_failed_at,
    customer_writable,
    is_condition_failure,
)

POINTER = "POINTER"
AGGREGATE_ATTEMPTS = 8
MAX_EARLY_ANSWERS = 25  # two transaction items each when their interaction lands
# Position of the pointer among the add() transaction's puts, for reading which condition failed.
_POINTER = 0


class TimelineWriter:
    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)

    def add(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        decide: Callable[[CustomerSnapshot], Decision],
    ) -> Decision | None:
        """Store a new interaction with what was decided about it, atomically: the pointer (which
        makes it once-only, and holds the events to publish), the interaction, the customer's new
        figures and the case it opened, joined or answered. None when its pointer exists: stored
        before, or deleted before it arrived. If the customer or the case changed under us, read
        them again and decide again. Brand replies that arrived before the interaction and wait
        on its pointer (replies to those replies included: they wait there too, see
        `await_parent`) are taken into the customer's timeline with it, and may answer its case."""
        early: list[dict[str, Any]] | None = None  # the replies waiting on the pointer, as read
        for _ in range(AGGREGATE_ATTEMPTS):
            profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
            if cast(datetime | None, profile.erasing_at) is not None:  # PynamoDB types it as never None
                raise CustomerErased(f"customer {customer_id} is being erased")
            answers = [_answer(entry) for entry in early or ()]
            snapshot = CustomerSnapshot(
                customer_id=customer_id,
                aggregates=aggregates(profile),
                churn=churn_from_json(profile.churn),
                segments=segments_of(profile),
                active_cases=self._active_cases(customer_id),
                waiting_replies=waiting_replies_of(profile) + tuple(reply_of(reply) for reply, _ in answers),
            )
            decision = decide(snapshot)
            now = datetime.now(UTC)  # when it is stored: where late figures and topics are booked
            item = self._item(customer_id, interaction, analysis, stored, now, decision)
            pointer = PointerItem(
                keys.pointer(interaction.platform, interaction.external_id),
                POINTER,
                customer_id=customer_id,
                interaction_sk=item.sk,
                version_at=item.version_at,
                events=[event.to_dict() for event in decision.events] or None,
                expires_at=item.expires_at,
            )
            inbound = interaction.direction is Direction.INBOUND
            if inbound:
                if cast(str | None, profile.gsi1pk) is None:  # a profile from before the segment job: listed now
                    profile.gsi1pk, profile.gsi1sk = keys.profiles(keys.shard(customer_id)), customer_id
                _apply(profile, decision.aggregates)
                apply_churn(profile, decision.churn)
                if interaction.author is not None:
                    last = snapshot.aggregates.last_contact_at
                    newer = last is None or interaction.occurred_at >= last
                    profile.display_name = current_name(interaction.author.display_name, profile.display_name, newer)
                    profile.handle = current_name(interaction.author.handle, profile.handle, newer)
            if decision.waiting_replies is not None:
                profile.waiting_replies = [reply.to_dict() for reply in decision.waiting_replies] or None
            added = _figures(interaction, analysis, decision, snapshot, [reply for reply, _ in answers])
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.save(pointer, condition=_free(early))
                    add_counts(transaction, added, interaction.idempotency_key, now)
                    transaction.save(item)
                    if inbound or decision.waiting_replies is not None:
                        transaction.save(profile)  # conditional on the version read above
                    else:  # a brand reply that changes nothing of the profile must not land in an erasure
                        customer_writable(transaction, customer_id)
                    if decision.case is not None:
                        transaction.save(case_item(decision.case, self._retention))  # new, or unchanged since read
                    for reply, text in answers:  # the replies that waited on it join the timeline
                        answer = self._item(customer_id, reply, None, text, now)
                        transaction.save(answer)
                        transaction.update(
                            PointerItem(keys.pointer(reply.platform, reply.external_id), POINTER),
                            actions=[
                                PointerItem.customer_id.set(customer_id),
                                PointerItem.interaction_sk.set(answer.sk),
                                PointerItem.awaiting.remove(),
                            ],
                        )
            except TransactWriteError as exc:
                # PynamoDB sends condition checks first, then puts (the pointer first of them).
                checked = not (inbound or decision.waiting_replies is not None)
                if condition_failed_at(exc, _POINTER + int(checked)):
                    found = self._pointer(interaction)
                    if found is not None and _expected(found):
                        early = list(found.answers or ())  # replies came for it meanwhile: take them
                        continue
                    return None
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue  # the customer or the case changed under us: read them again
                raise
            return decision
        raise RuntimeError(f"customer {customer_id} kept changing; giving up after {AGGREGATE_ATTEMPTS} attempts")

    def await_parent(self, reply: Interaction, stored: StoredText) -> bool:
        """Keep a brand reply to an interaction we have not seen yet (SQS has no order) on that
        interaction's pointer, until it lands and takes the reply into its customer's timeline
        (see `add`). True when kept (or kept by an earlier delivery). False when there is nothing
        to wait for, so that the caller looks for the customer again: the interaction is stored
        already (the reply is stored with its customer); or it was deleted before it arrived, or
        too many replies wait for it already, and the reply, which names no recipient (one that
        does never waits here), answers nothing we keep and is dropped.

        Replies wait only on the pointer of an interaction expected to land, never on another
        waiting reply's: a reply to a reply that waits itself (the Page answering under its own
        comment, itself under a visitor's post not here yet) waits where that one does, and a
        reply that finds replies to it already waiting on its own pointer (they came first) takes
        them along. So when the interaction lands it takes in every reply under it at once."""
        own_key = keys.pointer(reply.platform, reply.external_id)
        entry = {
            "interaction": {**reply.to_dict(), "text": stored.text or "", "title": stored.title},
            "redacted": stored.redacted,
            "pii_types": list(stored.pii_types),
        }
        for _ in range(AGGREGATE_ATTEMPTS):
            own = self._read_pointer(own_key)
            if own is not None and not _expected(own):
                return True  # kept (or stored) by an earlier delivery of the same reply
            key, parent = self._awaited(keys.pointer(reply.platform, reply.parent_id or ""))
            if parent is not None and _customer(parent) is not None:
                return False
            if parent is not None and _deleted(parent):
                logger.info("brand reply to an interaction deleted before it arrived: not kept", extra=_about(reply))
                return False
            mine = list(own.answers or ()) if own is not None else []  # replies to this reply, waiting
            before = list(parent.answers or ()) if parent is not None else None
            if len(before or ()) + 1 + len(mine) > MAX_EARLY_ANSWERS:
                logger.warning("brand reply not kept: too many wait for one interaction", extra=_about(reply))
                return False
            waiting = PointerItem(
                key,
                POINTER,
                version_at=parent.version_at if parent is not None else reply.occurred_at,
                answers=[*(before or ()), entry, *mine],
                expires_at=parent.expires_at if parent is not None else reply.occurred_at + self._retention,
            )
            kept = PointerItem(
                own_key,
                POINTER,
                awaiting=key,
                version_at=reply.occurred_at,
                expires_at=reply.occurred_at + self._retention,
            )
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.save(kept, condition=_unchanged(own, mine))
                    transaction.save(waiting, condition=_unchanged(parent, before or []))
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue  # it, or a reply to it or to its parent, came meanwhile: look again
                raise
            return True
        raise RuntimeError(f"interaction {own_key} kept changing; giving up after {AGGREGATE_ATTEMPTS} attempts")

    def _awaited(self, key: str) -> tuple[str, PointerItem | None]:
        """The pointer a reply to `key` waits on, and that pointer as read: `key`'s, unless that is
        a brand reply waiting itself, then the one that reply waits on (followed until one that is
        not a waiting reply: one step, as replies never wait on a waiting reply's pointer)."""
        seen = {key}
        pointer = self._read_pointer(key)
        while pointer is not None and _customer(pointer) is None and not _deleted(pointer):
            awaiting = cast(str | None, pointer.awaiting)
            if awaiting is None or awaiting in seen:
                break
            key = awaiting
            seen.add(key)
            pointer = self._read_pointer(key)
        return key, pointer

    def _read_pointer(self, key: str) -> PointerItem | None:
        try:
            return PointerItem.get(key, POINTER, consistent_read=True)
        except DoesNotExist:
            return None

    def _active_cases(self, customer_id: str) -> tuple[Case, ...]:
        items = CaseItem.query(
            keys.customer(customer_id),
            CaseItem.sk.startswith("CASE#"),
            filter_condition=CaseItem.status.is_in(*(status.value for status in ACTIVE)),
            consistent_read=True,
        )
        return tuple(case_from_item(item) for item in items)

    def stored_events(self, interactions: Sequence[Interaction]) -> dict[str, tuple[DomainEvent, ...]]:
        """Of these new interactions, those stored already (or deleted before they arrived), with
        the events they raised: a redelivery needs no analysis, only its events sent again."""
        wanted = {keys.pointer(i.platform, i.external_id): i.idempotency_key for i in interactions}
        found: dict[str, tuple[DomainEvent, ...]] = {}
        for pointer in PointerItem.batch_get([(pk, POINTER) for pk in wanted]):
            if not _expected(pointer):  # replies waiting for it are not it: it is still to be stored
                found[wanted[pointer.pk]] = tuple(DomainEvent.from_dict(e) for e in pointer.events or ())
        return found

    def customer_of(self, platform: str, external_id: str) -> str | None:
        """Whose timeline holds this interaction (None if unknown or deleted before it arrived)."""
        try:
            pointer = PointerItem.get(keys.pointer(platform, external_id), POINTER)
        except DoesNotExist:
            return None
        customer_id: str | None = pointer.customer_id
        return customer_id

    def revise(
        self,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        intent: IntentResult | None = None,
    ) -> bool:
        """Apply an edit to the stored interaction. False when nothing is stored under its id
        yet; True when applied, when a newer revision is already there, or when it was deleted."""
        pointer = self._pointer(interaction)
        if pointer is not None and _deleted(pointer):
            return True  # deleted: an edit does not bring the text back
        if pointer is None or _customer(pointer) is None:
            return False
        version_at = interaction.edited_at or interaction.received_at
        fresh = self._item(pointer.customer_id, interaction, analysis, stored, datetime.now(UTC))
        actions: list[Action] = [
            _set_or_remove(InteractionItem.text, fresh.text),
            _set_or_remove(InteractionItem.title, fresh.title),
            _set_or_remove(InteractionItem.rating, fresh.rating),
            InteractionItem.text_truncated.set(interaction.text_truncated),
            InteractionItem.redacted.set(stored.redacted),
            InteractionItem.pii_types.set(cast(Any, list(stored.pii_types))),
            InteractionItem.edited_at.set(version_at),
            InteractionItem.action.set("edited"),
            InteractionItem.version_at.set(version_at),
        ]
        if intent is not None:
            actions.append(InteractionItem.intent.set(intent.to_dict()))
        if fresh.topics_at is not None:
            self._list_late(pointer, fresh)
        if analysis is not None:
            actions += [
                InteractionItem.analysis.set(fresh.analysis),
                _set_or_remove(InteractionItem.language, fresh.language),
            ]
            if fresh.sentiment_label is not None:
                actions += [
                    InteractionItem.sentiment_label.set(fresh.sentiment_label),
                    InteractionItem.polarity.set(fresh.polarity),
                    InteractionItem.gsi2pk.set(fresh.gsi2pk),
                    InteractionItem.gsi2sk.set(fresh.gsi2sk),
                ]
        self._update_if_newer(pointer, version_at, actions)
        return True

    def delete(self, interaction: Interaction) -> None:
        """The author deleted it on the platform: drop its words, keep the record; or, if it is
        not here yet, leave a tombstone so it is never stored."""
        version_at = interaction.edited_at or interaction.received_at
        pointer = self._pointer(interaction)
        if pointer is None:
            tombstone = PointerItem(
                keys.pointer(interaction.platform, interaction.external_id),
                POINTER,
                version_at=version_at,
                deleted_at=version_at,
                expires_at=interaction.occurred_at + self._retention,
            )
            try:
                tombstone.save(condition=PointerItem.pk.does_not_exist())
                return
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
                pointer = self._pointer(interaction)  # the original landed in between
            if pointer is None:  # pragma: no cover - it was there a moment ago
                raise RuntimeError("pointer vanished while deleting")
        if _deleted(pointer):
            return
        if _customer(pointer) is None:
            # Only replies wait for it: it will not be stored now, and they, naming no recipient,
            # answer nothing we keep. They are dropped with it rather than kept waiting for good.
            dropped = len(pointer.answers or ())
            pointer.update(actions=[PointerItem.deleted_at.set(version_at), PointerItem.answers.remove()])
            if dropped:
                logger.info(
                    "brand replies to an interaction deleted before it arrived: not kept",
                    extra={"platform": interaction.platform, "replies": dropped},
                )
            return
        actions: list[Action] = [
            InteractionItem.deleted_at.set(version_at),
            InteractionItem.action.set("deleted"),
            InteractionItem.text.remove(),
            InteractionItem.title.remove(),
            InteractionItem.analysis.remove(),
            InteractionItem.version_at.set(version_at),
        ]
        self._update_if_newer(pointer, version_at, actions)
        pointer.update(actions=[PointerItem.deleted_at.set(version_at)])

    def deleted(self, interaction: Interaction) -> bool:
        """Whether a deletion of this interaction was recorded (a tombstone or a deleted item)."""
        pointer = self._pointer(interaction)
        return pointer is not None and _deleted(pointer)

    def _pointer(self, interaction: Interaction) -> PointerItem | None:
        try:
            return PointerItem.get(
                keys.pointer(interaction.platform, interaction.external_id), POINTER, consistent_read=True
            )
        except DoesNotExist:
            return None

    def _list_late(self, pointer: PointerItem, fresh: InteractionItem) -> None:
        """An edit, after its message's hour had its last topic count, that brings the first words
        to a message stored without any (a rating alone, an attachment): listed for the count
        where it arrives, as `fresh` is (`_late`). A message analysed before was counted already,
        and is not listed again."""
        stored = InteractionItem(keys.customer(pointer.customer_id or ""), pointer.interaction_sk or "")
        try:
            stored.update(
                actions=[
                    InteractionItem.topics_at.set(fresh.topics_at),
                    InteractionItem.gsi4pk.set(fresh.gsi4pk),
                    InteractionItem.gsi4sk.set(fresh.gsi4sk),
                ],
                condition=InteractionItem.pk.exists() & InteractionItem.analysis.does_not_exist(),
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise  # else it was analysed, and counted, before

    def _update_if_newer(self, pointer: PointerItem, version_at: datetime, actions: list[Action]) -> None:
        stored = InteractionItem(keys.customer(pointer.customer_id or ""), pointer.interaction_sk or "")
        try:
            stored.update(
                actions=actions, condition=InteractionItem.pk.exists() & (InteractionItem.version_at < version_at)
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise  # else a newer revision is already there

    def _late(self, interaction: Interaction, analysis: Analysis | None, now: datetime) -> datetime | None:
        """When topics count this message, stored `now`, apart from its own hour
        (insight/topics.late_listing): only an analysed one (topics count nothing else), and never
        one already past its retention (it is gone within days, and its example would name the
        customer in a day's tally its erasure could no longer find)."""
        if analysis is None or interaction.occurred_at + self._retention <= now:
            return None
        return late_listing(interaction.occurred_at, now)

    def _item(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        now: datetime,
        decision: Decision | None = None,
    ) -> InteractionItem:
        shard = keys.shard(customer_id)
        timeline = keys.timeline(interaction.occurred_at, interaction.platform, interaction.external_id)
        sentiment = analysis.sentiment if analysis else None
        late = self._late(interaction, analysis, now)
        return InteractionItem(
            keys.customer(customer_id),
            keys.interaction_sk(interaction.occurred_at, interaction.platform, interaction.external_id),
            customer_id=customer_id,
            platform=interaction.platform,
            kind=interaction.kind.value,
            action=interaction.action.value,
            direction=interaction.direction.value,
            reply_id=interaction.reply_id,
            external_id=interaction.external_id,
            account_id=interaction.account_id,
            recipient_id=interaction.recipient_id,
            thread_id=interaction.thread_id,
            parent_id=interaction.parent_id,
            title=stored.title or None,
            text=stored.text or None,
            text_truncated=interaction.text_truncated,
            redacted=stored.redacted,
            pii_types=list(stored.pii_types),
            rating=interaction.rating,
            reaction=interaction.reaction,
            attachments=[attachment.type for attachment in interaction.attachments],
            media=[attachment.to_dict() for attachment in interaction.attachments] or None,
            language_hint=interaction.language_hint,
            occurred_at=interaction.occurred_at,
            received_at=interaction.received_at,
            edited_at=interaction.edited_at,
            version_at=interaction.edited_at or interaction.occurred_at,
            language=analysis.language if analysis else None,
            sentiment_label=sentiment.label if sentiment else None,
            polarity=sentiment.polarity if sentiment else None,
            analysis=analysis.to_dict() if analysis else None,
            intent=decision.intent.to_dict() if decision and decision.intent else None,
            route=decision.route.to_dict() if decision and decision.route else None,
            case_id=decision.case.case_id if decision and decision.case else None,
            gsi1pk=keys.recent(interaction.occurred_at, shard),
            gsi1sk=timeline,
            gsi2pk=keys.by_sentiment(sentiment.label, interaction.occurred_at, shard) if sentiment else None,
            gsi2sk=timeline if sentiment else None,
            topics_at=late,
            gsi4pk=keys.late_topics(late, shard) if late else None,
            gsi4sk=timeline if late else None,
            expires_at=interaction.occurred_at + self._retention,
        )


def _figures(
    interaction: Interaction,
    analysis: Analysis | None,
    decision: Decision,
    snapshot: CustomerSnapshot,
    joining: Sequence[Interaction],
) -> dict[Where, Counter[str]]:
    """What storing this interaction adds to the figures: itself, the brand replies that waited
    for it and join the timeline with it, and what its decision did to a case."""
    sentiment = analysis.sentiment.label if analysis and analysis.sentiment else None
    language = analysis.language if analysis else None
    intent = decision.intent.label.value if decision.intent else None
    parts = [counts.for_interaction(interaction, sentiment, language, intent, dict(decision.competitors))]
    parts += [counts.for_interaction(reply, None, None, None) for reply in joining]
    if decision.case is not None:
        before = [case for case in snapshot.active_cases if case.case_id == decision.case.case_id]
        if decision.case_is_new or before:
            parts.append(counts.for_case(before[0] if before else None, decision.case))
    return counts.merge(*parts)


def aggregates(profile: CustomerItem) -> Aggregates:
    return Aggregates(
        interaction_count=int(profile.interaction_count or 0),
        platform_counts={str(k): int(v) for k, v in (profile.platform_counts.as_dict() or {}).items()},
        sentiment_score=float(profile.sentiment_score) if profile.sentiment_score is not None else None,
        sentiment_samples=int(profile.sentiment_samples or 0),
        first_contact_at=profile.first_contact_at,
        last_contact_at=profile.last_contact_at,
        last_platform=profile.last_platform,
    )


def _apply(profile: CustomerItem, figures: Aggregates) -> None:
    profile.interaction_count = figures.interaction_count
    profile.platform_counts = figures.platform_counts
    profile.sentiment_score = figures.sentiment_score
    profile.sentiment_samples = figures.sentiment_samples
    profile.first_contact_at = figures.first_contact_at
    profile.last_contact_at = figures.last_contact_at
    profile.last_platform = figures.last_platform


def _customer(pointer: PointerItem) -> str | None:
    """Whose interaction the pointer leads to; None while the interaction has not arrived."""
    return cast(str | None, pointer.customer_id)  # PynamoDB types nullable attributes as never None


def _expected(pointer: PointerItem) -> bool:
    """A pointer that stands for an interaction not here yet, with the brand's replies to it."""
    return _customer(pointer) is None and not _deleted(pointer) and cast(str | None, pointer.awaiting) is None


def _free(early: list[dict[str, Any]] | None) -> Condition:
    """The new pointer's condition: nothing there, or only the replies read before."""
    if early is None:
        condition: Condition = PointerItem.pk.does_not_exist()
    else:
        condition = (
            PointerItem.customer_id.does_not_exist()
            & PointerItem.deleted_at.does_not_exist()
            & (PointerItem.answers == early)
        )
    return condition


def _unchanged(pointer: PointerItem | None, answers: list[dict[str, Any]]) -> Condition:
    """A waiting reply's write: the pointer is still as read (absent, or expected with these
    replies waiting on it), so that nothing that came meanwhile is overwritten."""
    if pointer is None:
        condition: Condition = PointerItem.pk.does_not_exist()
    else:
        condition = (
            PointerItem.pk.exists()
            & PointerItem.customer_id.does_not_exist()
            & PointerItem.deleted_at.does_not_exist()
            & PointerItem.awaiting.does_not_exist()
            & (PointerItem.answers == answers if answers else PointerItem.answers.does_not_exist())
        )
    return condition


def _about(reply: Interaction) -> dict[str, str]:
    """What a log line says about a reply: where, never what or whose."""
    return {"platform": reply.platform, "kind": reply.kind.value}


def _answer(entry: dict[str, Any]) -> tuple[Interaction, StoredText]:
    """A reply kept on a pointer: the interaction (its text already as it is to be stored)."""
    reply = Interaction.from_dict(entry["interaction"])
    text = StoredText(
        text=reply.text or None,
        title=reply.title,
        redacted=bool(entry.get("redacted")),
        pii_types=tuple(entry.get("pii_types") or ()),
    )
    return reply, text


def _deleted(pointer: PointerItem) -> bool:
    deleted_at: datetime | None = pointer.deleted_at  # a tombstone, or a deleted interaction
    return deleted_at is not None


def _set_or_remove(attribute: Any, value: Any) -> Action:
    action: Action = attribute.set(value) if value is not None else attribute.remove()
    return action
