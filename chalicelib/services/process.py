"""Processing a batch of queued interactions, in three phases.

`prepare` (the whole batch at once): decode each message, claim its idempotency key (before any
paid call, so a redelivery costs nothing), skip those already stored (a redelivery after a failed
publish), and analyse the rest together, which is what lets Comprehend's batch APIs be used 25
documents at a time.

`complete` (one record at a time, under Powertools' BatchProcessor): tie the interaction to its
customer, decide its intent, route, case and alerts, and store it all in one transaction, with the
events to publish in the interaction's pointer (an outbox). A record that fails here releases its
claim and raises, so SQS redelivers it (and, after ten receives, about 90 minutes, dead-letters it) while the rest of
the batch is kept.

`finish` (after the batch's events are published together): a record whose events all reached the
bus has its claim marked done; one whose events did not is released and failed, so its redelivery
publishes the stored events again. Events are therefore sent at least once; each carries a
`dedupe_key` for its consumers.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from enum import Enum
from typing import Protocol

from chalicelib.errors import describe
from chalicelib.models.customer import StoredText
from chalicelib.models.events import DomainEvent
from chalicelib.models.interaction import BUILTIN_PLATFORMS, Action, Direction, Interaction
from chalicelib.models.reply import Reply, ReplyState, ReplyStatus
from chalicelib.nlp import pii
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document
from chalicelib.observability import logger
from chalicelib.ports import Claim, Claims, CustomerErased, CustomerRepository, TextAnalyzer, WrittenBeforeErasure
from chalicelib.services.decide import Decider, classifiable
from chalicelib.services.mentions import MentionResolver, without_fetching

# Sources whose language field describes the text itself. X's `lang` comes from X's own
# detection; Telegram's `language_code` is the user's interface language, not the message's.
_TRUSTED_HINTS = frozenset({"x", "trustpilot"})


# How many documents that make the analyzer raise are looked for in one batch (see `_analyse`).
BISECTION_CULPRITS = 3


class Outcome(Enum):
    READY = "ready"
    STORED = "stored"  # stored by an earlier delivery whose events may not have gone out
    DUPLICATE = "duplicate"
    BUSY = "busy"
    INVALID = "invalid"
    STORE_FAILED = "store_failed"  # a DynamoDB call for this record failed before its analysis
    FETCH_FAILED = "fetch_failed"  # what the webhook left out could not be fetched yet
    ANALYSIS_FAILED = "analysis_failed"
    STATUS = "status"  # what a platform said of a reply socialcrm sent (a receipt, a status)


class RecordFailed(Exception):
    """This record must be retried (SQS redelivers it; after ten receives it is dead-lettered)."""


@dataclass
class Prepared:
    outcome: Outcome
    interaction: Interaction | None = None
    analysis: Analysis | None = None
    reason: str = ""
    events: tuple[DomainEvent, ...] = ()
    status: ReplyStatus | None = None


class CustomerIndex(Protocol):
    """Where customers are indexed for search (services/directory.py)."""

    def index(self, customer_id: str, interaction: Interaction) -> None: ...


class ReplyStatusSink(Protocol):
    """Where what the platforms say of the replies socialcrm sent goes (services/replies.py)."""

    def apply(self, status: ReplyStatus) -> int: ...

    def reply(self, reply_id: str) -> Reply | None: ...

    def sent_as(self, customer_id: str, platform: str, platform_message_id: str) -> Reply | None: ...


def trusted_language_hint(interaction: Interaction) -> str | None:
    generic = interaction.platform not in BUILTIN_PLATFORMS
    return interaction.language_hint if generic or interaction.platform in _TRUSTED_HINTS else None


def needs_analysis(interaction: Interaction) -> bool:
    """Customers' words only: the brand's replies are kept, not analysed (nor paid for)."""
    return (
        interaction.direction is Direction.INBOUND
        and bool(interaction.text.strip())
        and interaction.action is not Action.DELETED
        and not interaction.text_pending
    )


class InteractionProcessor:
    def __init__(
        self,
        claims: Claims,
        analyzer: TextAnalyzer,
        store: CustomerRepository,
        decider: Decider,
        redact: bool,
        mentions: MentionResolver | None = None,
        replies: ReplyStatusSink | None = None,
        directory: CustomerIndex | None = None,
    ) -> None:
        self._claims = claims
        self._analyzer = analyzer
        self._store = store
        self._decider = decider
        self._redact = redact
        self._mentions = mentions
        self._replies = replies
        self._directory = directory

    def prepare(self, bodies: dict[str, str], remaining_ms: int) -> dict[str, Prepared]:
        """Never raises: whatever goes wrong for one record (a body that is not an interaction, a
        refused claim, an analysis that blows up) becomes that record's outcome, so that its
        neighbours are still stored and only it is retried."""
        prepared: dict[str, Prepared] = {}
        claimed_here: set[str] = set()
        for message_id, body in bodies.items():
            try:
                item = self._claim(body, remaining_ms, claimed_here)
            except Exception as exc:  # the claim's write failed: this record alone is retried
                item = Prepared(Outcome.STORE_FAILED, reason=f"claim: {describe(exc)}")
            prepared[message_id] = item
            if item.outcome is Outcome.READY and item.interaction is not None:
                claimed_here.add(item.interaction.idempotency_key)
        self._find_stored(prepared)
        self._complete_pending(prepared)
        fresh = [
            item
            for item in prepared.values()
            if item.outcome is Outcome.READY and item.interaction is not None and needs_analysis(item.interaction)
        ]
        documents = [
            Document(item.interaction.text, trusted_language_hint(item.interaction))
            for item in fresh
            if item.interaction
        ]
        results = self._analyse(documents) if documents else []
        for item, result in zip(fresh, results, strict=True):
            if isinstance(result, AnalysisFailed):
                assert item.interaction is not None
                self._claims.release(item.interaction.idempotency_key, result)
                item.outcome, item.reason = Outcome.ANALYSIS_FAILED, str(result)
            else:
                item.analysis = result
        return prepared

    def _complete_pending(self, prepared: dict[str, Prepared]) -> None:
        """Mentions and comments that arrived without their words or author get them from the
        platform now, before analysis; one that must be fetched later fails alone, and is retried."""
        for item in prepared.values():
            interaction = item.interaction
            if item.outcome is not Outcome.READY or interaction is None or not interaction.text_pending:
                continue
            if interaction.action is Action.DELETED:
                continue  # a deletion needs no words
            try:
                item.interaction = (
                    self._mentions.resolve(interaction) if self._mentions else without_fetching(interaction)
                )
            except Exception as exc:  # retried: SQS brings the record back
                self._claims.release(interaction.idempotency_key, exc)
                item.outcome, item.reason = Outcome.FETCH_FAILED, f"fetch: {describe(exc)}"

    def _analyse(self, documents: list[Document]) -> list[Analysis | AnalysisFailed]:
        """The analyzer reports a failed document in its place; should it raise instead (a
        document it cannot handle), halve the batch until the culprit fails alone and the rest
        are still analysed in batches. Finding one culprit takes 2 calls per halving; the budget
        allows for a few culprits, so an analyzer that raises for everything costs a few passes
        over the batch, not one per halving (every document then fails, and is retried)."""
        budget = [1 + BISECTION_CULPRITS * 2 * max(1, math.ceil(math.log2(len(documents))))]
        return self._analyse_within(documents, budget)

    def _analyse_within(self, documents: list[Document], budget: list[int]) -> list[Analysis | AnalysisFailed]:
        budget[0] -= 1
        try:
            return self._analyzer.analyze(documents, redact=self._redact)
        except Exception as exc:
            if len(documents) == 1 or budget[0] < 2:
                return [AnalysisFailed(f"analysis raised {describe(exc)}") for _ in documents]
            middle = len(documents) // 2
            first = self._analyse_within(documents[:middle], budget)
            return first + self._analyse_within(documents[middle:], budget)

    def complete(self, item: Prepared) -> tuple[DomainEvent, ...]:
        """Store the record; returns the events to publish before `finish`."""
        if item.outcome is Outcome.DUPLICATE:
            return ()
        if item.outcome is Outcome.STATUS and item.status is not None:
            # Statuses only move a reply forward, so a redelivered one changes nothing: no claim.
            if self._replies is not None:
                self._replies.apply(item.status)
            return ()
        if item.outcome is Outcome.STORED:
            return item.events
        if item.outcome is not Outcome.READY or item.interaction is None:
            raise RecordFailed(f"{item.outcome.value}: {item.reason}")
        interaction = item.interaction
        try:
            item.events = self._store_one(interaction, item.analysis)
        except WrittenBeforeErasure:
            # Its person was erased after writing it (it came late: an SQS retry, a replayed
            # delivery, the brand's echo): storing it would bring them back. Done, not retried;
            # the log names the platform only.
            logger.info(
                "interaction written before its person's erasure: dropped",
                extra={"platform": interaction.platform, "direction": interaction.direction.value},
            )
            item.events = ()
        except Exception as exc:
            self._claims.release(interaction.idempotency_key, exc)
            raise
        return item.events

    def finish(self, item: Prepared, published: bool) -> None:
        """After publishing: done, or released so that the redelivery publishes again."""
        if item.interaction is None or item.outcome not in (Outcome.READY, Outcome.STORED):
            return
        if published:
            self._claims.complete(item.interaction.idempotency_key)
        else:
            self._claims.release(item.interaction.idempotency_key, RecordFailed("events not published"))

    def _find_stored(self, prepared: dict[str, Prepared]) -> None:
        """A claimed new interaction whose pointer exists was stored by an earlier delivery that
        could not publish its events (or was deleted before it came): no analysis, no new write."""
        new = [
            item
            for item in prepared.values()
            if item.outcome is Outcome.READY
            and item.interaction is not None
            and item.interaction.action is Action.CREATED
        ]
        if not new:
            return
        try:
            stored = self._store.stored_events([item.interaction for item in new if item.interaction])
        except Exception as exc:  # the lookup failed: the records it covered are retried
            for item in new:
                assert item.interaction is not None
                self._claims.release(item.interaction.idempotency_key, exc)
                item.outcome, item.reason = Outcome.STORE_FAILED, f"stored lookup: {describe(exc)}"
            return
        for item in new:
            assert item.interaction is not None
            events = stored.get(item.interaction.idempotency_key)
            if events is not None:
                item.outcome, item.events = Outcome.STORED, events

    def _claim(self, body: str, remaining_ms: int, claimed_here: set[str]) -> Prepared:
        try:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise TypeError("not a JSON object")
            if document.get("type") == "reply_status":
                return Prepared(Outcome.STATUS, status=ReplyStatus.from_dict(document))
            interaction = Interaction.from_dict(document)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            return Prepared(Outcome.INVALID, reason=f"not an interaction: {type(exc).__name__}")
        if interaction.idempotency_key in claimed_here:
            # The same event twice in one batch: the first copy carries it, this one is done.
            # Should the first fail, its own redelivery brings the same event back.
            return Prepared(Outcome.DUPLICATE, interaction)
        claim = self._claims.claim(interaction.idempotency_key, remaining_ms)
        if claim is Claim.DONE:
            return Prepared(Outcome.DUPLICATE, interaction)
        if claim is Claim.BUSY:
            return Prepared(Outcome.BUSY, interaction, reason="another invocation holds the claim")
        return Prepared(Outcome.READY, interaction)

    def _sent_from_here(self, reply: Interaction) -> Interaction | None:
        """A reply socialcrm sent (its id came with it: the sender's record, or an echo carrying
        the metadata socialcrm sent) is confirmed as sent with the platform's id, whichever of
        the two comes first, and answers the case in the name of the person who sent it, with
        its words (a WhatsApp `sent` status carries none). None: an echo on another platform than
        the reply's (a Facebook comment's private reply, echoed on Messenger), which the sender's
        own record already stands for."""
        if reply.reply_id is None or self._replies is None:
            return reply
        self._replies.apply(
            ReplyStatus(
                reply.platform,
                reply.external_id,
                ReplyState.SENT,
                reply.occurred_at,
                reply_id=reply.reply_id,
                account_id=reply.account_id,
                recipient_id=reply.recipient_id,
            )
        )
        sent = self._replies.reply(reply.reply_id)
        if sent is None:
            return reply
        if sent.platform != reply.platform:
            return None
        return replace(reply, sent_by=reply.sent_by or sent.by, text=reply.text or sent.text)

    def _known_as_sent(self, customer_id: str, reply: Interaction) -> Interaction:
        """An echo that does not carry socialcrm's reply id (X, the Page feed, Telegram) but is a
        reply socialcrm sent, processed before the sender's own record of it (SQS has no order):
        found among the customer's replies by the platform's id, it answers the case in the name
        of the agent who sent it, as the sender's record would have."""
        if reply.reply_id is not None or self._replies is None:
            return reply
        sent = self._replies.sent_as(customer_id, reply.platform, reply.external_id)
        if sent is None:
            return reply
        return replace(reply, reply_id=sent.reply_id, sent_by=sent.by, text=reply.text or sent.text)

    def _store_one(self, interaction: Interaction, analysis: Analysis | None) -> tuple[DomainEvent, ...]:
        if interaction.action is Action.DELETED:  # found by its id: who wrote it does not matter
            self._store.delete(interaction)
            return ()
        author = interaction.author
        if author is None:  # pending ones were completed in `prepare`, with an author
            raise RecordFailed("an interaction without an author")
        inbound = interaction.direction is Direction.INBOUND
        if not inbound:
            confirmed = self._sent_from_here(interaction)
            if confirmed is None:
                return ()
            interaction = confirmed
        stored = self._stored(interaction, analysis)
        intent = self._decider.classify(interaction, analysis) if inbound and classifiable(interaction) else None
        if interaction.action is Action.EDITED and self._store.revise(interaction, analysis, stored, intent):
            return ()  # an edit changes what is stored, not the route, case or alerts already made
        if self._store.deleted(interaction):
            return ()  # its author deleted it before it reached us: keep nothing, not even a customer
        if not inbound:
            answered = self._answered_customer(interaction)
            if answered is None and interaction.parent_id:
                if self._store.await_parent(interaction, stored):
                    return ()  # kept until the comment it answers arrives (SQS has no order)
                answered = self._answered_customer(interaction)  # that comment landed meanwhile
            if answered is None:
                logger.warning("brand reply answers nobody", extra={"platform": interaction.platform})
                return ()
            interaction = self._known_as_sent(answered, interaction)
            try:
                decision = self._store.add(
                    answered, interaction, None, stored, lambda snapshot: self._decider.outbound(snapshot, interaction)
                )
            except CustomerErased:
                if not interaction.recipient_id:  # a reply to a comment of someone being erased: theirs too
                    return ()
                # Written after the erasure was requested, it starts a new customer (detach raises
                # WrittenBeforeErasure for one written before: it goes with what is erased).
                self._store.detach(interaction.platform, interaction.recipient_id, answered, interaction.occurred_at)
                answered = self._store.identify(interaction.platform, interaction.recipient_id, interaction.occurred_at)
                decision = self._store.add(
                    answered, interaction, None, stored, lambda snapshot: self._decider.outbound(snapshot, interaction)
                )
            return decision.events if decision else ()
        customer_id = self._store.resolve(interaction.platform, author, interaction.occurred_at)
        self._index(customer_id, interaction)
        try:
            decision = self._store.add(
                customer_id,
                interaction,
                analysis,
                stored,
                lambda snapshot: self._decider.inbound(snapshot, interaction, analysis),
            )
        except CustomerErased:
            # The person's old customer is being erased (or an erasure was interrupted): a message
            # written after the erasure was requested starts a new customer rather than failing
            # until the erasure is finished; one written before belongs to what is erased, and is
            # dropped (detach raises WrittenBeforeErasure).
            self._store.detach(interaction.platform, author.user_id, customer_id, interaction.occurred_at)
            customer_id = self._store.resolve(interaction.platform, author, interaction.occurred_at)
            self._index(customer_id, interaction)
            decision = self._store.add(
                customer_id,
                interaction,
                analysis,
                stored,
                lambda snapshot: self._decider.inbound(snapshot, interaction, analysis),
            )
        if decision is not None:
            return decision.events
        if interaction.action is Action.EDITED:
            # The original (or its deletion) landed between our look and our write: revise it.
            self._store.revise(interaction, analysis, stored, intent)
            return ()
        # Another delivery stored it between our look and our write: it publishes the events.
        return ()

    def _index(self, customer_id: str, interaction: Interaction) -> None:
        """Index the customer for search by this message (who wrote it, the e-mail addresses and
        phone numbers in its words, hashed before anything is redacted) before it is stored: should
        storing fail, the redelivery indexes again what is missing; once it is stored, a
        redelivery stops before this (its pointer is found)."""
        if self._directory is not None:
            self._directory.index(customer_id, interaction)

    def _answered_customer(self, interaction: Interaction) -> str | None:
        """The customer a brand reply answers: the recipient the platform names (their identity is
        created if their own message has not arrived yet), or else the author of the comment it
        replies to, if that comment is stored. The brand itself never becomes a customer."""
        if interaction.recipient_id:
            return self._store.identify(interaction.platform, interaction.recipient_id, interaction.occurred_at)
        if interaction.parent_id:
            return self._store.customer_of(interaction.platform, interaction.parent_id)
        return None

    def _stored(self, interaction: Interaction, analysis: Analysis | None) -> StoredText:
        """What is kept of the words: the analysis' redacted text where there was analysis, the
        shared patterns otherwise (titles, and texts too short or refused for analysis)."""
        types = set(analysis.pii_types) if analysis else set()
        text, title = interaction.text or None, interaction.title
        if analysis is not None and analysis.redacted_text is not None:
            text = analysis.redacted_text or None
        elif self._redact and text:
            spans = pii.find(text)
            text, types = pii.redact(text, spans), types | {span.type for span in spans}
        if self._redact and title:
            spans = pii.find(title)
            title, types = pii.redact(title, spans), types | {span.type for span in spans}
        return StoredText(text=text, title=title, redacted=self._redact and bool(types), pii_types=tuple(sorted(types)))


def in_time(item: Prepared) -> tuple[float, int]:
    """Sort key: when it happened; at the same moment the customer's words before the brand's."""
    if item.interaction is None:
        return (float("-inf"), 0)
    outbound = item.interaction.direction is Direction.OUTBOUND
    return (item.interaction.occurred_at.timestamp(), int(outbound))


def summary(prepared: dict[str, Prepared]) -> dict[str, int]:
    """Outcome counts for the log (never texts or ids of people)."""
    return dict(Counter(item.outcome.value for item in prepared.values()))
