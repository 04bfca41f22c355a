"""The processing service with in-memory ports: what is analysed, stored, retried and released."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models.aggregates import Aggregates
from chalicelib.models.churn import ChurnState
from chalicelib.models.customer import StoredText
from chalicelib.models.decision import IntentResult
from chalicelib.models.events import DetailType, DomainEvent
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document, Sentiment
from chalicelib.ports import Claim, CustomerErased, WrittenBeforeErasure
from chalicelib.rules.intent import IntentClassifier
from chalicelib.rules.routing import load_default
from chalicelib.services.decide import Decider
from chalicelib.services.process import InteractionProcessor, Outcome, RecordFailed, trusted_language_hint

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


@dataclass
class Claims:
    states: dict[str, str] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)

    def claim(self, key: str, remaining_ms: int) -> Claim:
        state = self.states.get(key)
        if state == "done":
            return Claim.DONE
        if state == "busy":
            return Claim.BUSY
        self.states[key] = "busy"
        return Claim.NEW

    def complete(self, key: str) -> None:
        self.states[key] = "done"

    def release(self, key: str, reason: Exception) -> None:
        self.states.pop(key, None)
        self.released.append(key)


@dataclass
class Analyzer:
    calls: list[list[Document]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def analyze(self, documents: Sequence[Document], redact: bool) -> list[Analysis | AnalysisFailed]:
        self.calls.append(list(documents))
        return [
            AnalysisFailed("analysis: ThrottlingException")
            if d.text in self.fail
            else Analysis("pt", 0.99, Sentiment("NEGATIVE", {"POSITIVE": 0.0, "NEGATIVE": 1.0}), redacted_text=None)
            for d in documents
        ]


@dataclass
class Store:
    added: list[tuple[str, Interaction, StoredText]] = field(default_factory=list)
    decisions: dict[str, Decision] = field(default_factory=dict)
    revised: list[Interaction] = field(default_factory=list)
    deletions: list[Interaction] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    broken: bool = False
    lands_meanwhile: set[str] = field(default_factory=set)  # stored by someone else before our add
    awaiting: list[Interaction] = field(default_factory=list)  # replies kept for a comment not here yet

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        return f"customer-of-{author.user_id}"

    def identify(self, platform: str, user_id: str, seen_at: datetime) -> str:
        return f"customer-of-{user_id}"

    def detach(self, platform: str, user_id: str, customer_id: str, written_at: datetime) -> None:
        raise AssertionError("nobody is being erased here")

    def await_parent(self, reply: Interaction, stored: StoredText) -> bool:
        if self.customer_of(reply.platform, reply.parent_id or "") is not None:
            return False
        self.awaiting.append(reply)
        return True

    def customer_for(self, platform: str, user_id: str) -> str | None:
        return f"customer-of-{user_id}" if user_id.startswith("known") else None

    def customer_of(self, platform: str, external_id: str) -> str | None:
        found = [customer for customer, interaction, _ in self.added if interaction.external_id == external_id]
        return found[0] if found else None

    def add(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        decide: Callable[[CustomerSnapshot], Decision],
    ) -> Decision | None:
        if self.broken:
            raise RuntimeError("DynamoDB is down")
        if interaction.external_id in self.known or interaction.external_id in self.lands_meanwhile:
            self.known.add(interaction.external_id)
            return None
        decision = decide(CustomerSnapshot(customer_id, Aggregates(), ChurnState()))
        self.added.append((customer_id, interaction, stored))
        self.decisions[interaction.idempotency_key] = decision
        self.known.add(interaction.external_id)
        return decision

    def stored_events(self, interactions: Sequence[Interaction]) -> dict[str, tuple[DomainEvent, ...]]:
        return {
            i.idempotency_key: self.decisions[i.idempotency_key].events
            for i in interactions
            if i.idempotency_key in self.decisions
        }

    def revise(
        self, interaction: Interaction, analysis: Analysis | None, stored: StoredText, intent: IntentResult | None
    ) -> bool:
        if interaction.external_id not in self.known:
            return False
        self.revised.append(interaction)
        return True

    def delete(self, interaction: Interaction) -> None:
        self.deletions.append(interaction)

    def deleted(self, interaction: Interaction) -> bool:
        return interaction.external_id in {i.external_id for i in self.deletions}


def message(external_id: str = "1", text: str = "O pedido chegou quebrado", **changes: object) -> str:
    values: dict[str, object] = {
        "platform": "telegram",
        "kind": Kind.MESSAGE,
        "external_id": external_id,
        "author": Author("7", "ana", "Ana"),
        "text": text,
        "occurred_at": T0,
        "received_at": T0,
    }
    values.update(changes)
    return json.dumps(Interaction(**values).to_dict())  # type: ignore[arg-type]


@pytest.fixture
def parts() -> tuple[InteractionProcessor, Claims, Analyzer, Store]:
    claims, analyzer, store = Claims(), Analyzer(), Store()
    decider = Decider(load_default(), IntentClassifier(None))
    return InteractionProcessor(claims, analyzer, store, decider, redact=True), claims, analyzer, store


def run(processor: InteractionProcessor, bodies: dict[str, str]) -> dict[str, str]:
    outcomes = {}
    for message_id, item in processor.prepare(bodies, 60_000).items():
        try:
            processor.complete(item)
            processor.finish(item, published=True)
            outcomes[message_id] = "ok" if item.outcome is Outcome.READY else item.outcome.value
        except RecordFailed as exc:
            outcomes[message_id] = f"failed: {exc}"
    return outcomes


def test_a_whole_batch_is_analysed_in_one_call(parts) -> None:
    processor, _, analyzer, store = parts
    outcomes = run(processor, {f"m{i}": message(str(i)) for i in range(5)})
    assert set(outcomes.values()) == {"ok"}
    assert [len(call) for call in analyzer.calls] == [5]
    assert len(store.added) == 5


def test_a_duplicate_costs_nothing_and_stores_nothing(parts) -> None:
    processor, _, analyzer, store = parts
    run(processor, {"m1": message("1")})
    assert run(processor, {"m2": message("1")}) == {"m2": "duplicate"}
    assert len(analyzer.calls) == 1
    assert len(store.added) == 1


def test_the_same_event_twice_in_one_batch_is_one_interaction(parts) -> None:
    processor, _, analyzer, store = parts
    outcomes = run(processor, {"m1": message("1"), "m2": message("1")})
    assert outcomes == {"m1": "ok", "m2": "duplicate"}
    assert [len(call) for call in analyzer.calls] == [1]
    assert len(store.added) == 1


def test_a_failed_analysis_fails_its_record_and_releases_the_claim(parts) -> None:
    processor, claims, analyzer, _ = parts
    analyzer.fail = {"boom"}
    outcomes = run(processor, {"m1": message("1", "boom"), "m2": message("2")})
    assert outcomes == {"m1": "failed: analysis_failed: analysis: ThrottlingException", "m2": "ok"}
    assert claims.released == ["telegram:1"]
    analyzer.fail = set()
    assert run(processor, {"m1": message("1", "boom")}) == {"m1": "ok"}  # the redelivery is processed in full


def test_a_storage_failure_releases_the_claim_and_raises(parts) -> None:
    processor, claims, _, store = parts
    assert not store.added
    store.broken = True
    prepared = processor.prepare({"m1": message("1")}, 60_000)
    with pytest.raises(RuntimeError, match="DynamoDB is down"):
        processor.complete(prepared["m1"])
    assert claims.released == ["telegram:1"]


def test_a_body_that_is_not_an_interaction_fails_without_a_claim(parts) -> None:
    processor, claims, analyzer, _ = parts
    bodies = {"m1": "{}", "m2": "not json", "m3": "[]", "m4": "null", "m5": '{"author": 5}', "m6": message("ok")}
    outcomes = run(processor, bodies)
    assert outcomes.pop("m6") == "ok"
    assert outcomes == {
        "m1": "failed: invalid: not an interaction: KeyError",
        "m2": "failed: invalid: not an interaction: JSONDecodeError",
        "m3": "failed: invalid: not an interaction: TypeError",
        "m4": "failed: invalid: not an interaction: TypeError",
        "m5": "failed: invalid: not an interaction: TypeError",
    }
    assert claims.states == {"telegram:ok": "done"}
    assert [len(call) for call in analyzer.calls] == [1]


def test_fields_of_the_wrong_type_fail_their_record_alone(parts) -> None:
    """A body that decodes as JSON but holds the wrong types must not reach the analysis (where a
    None text would break the whole batch)."""
    processor, claims, analyzer, store = parts
    good = json.loads(message("x"))
    bodies = {
        "text-null": json.dumps(good | {"external_id": "a", "text": None}),
        "text-number": json.dumps(good | {"external_id": "b", "text": 5}),
        "year-one": json.dumps(good | {"external_id": "c", "occurred_at": "0001-01-01T00:30:00+01:00"}),
        "attachments": json.dumps(good | {"external_id": "d", "attachments": "photo.jpg"}),
        "user-id": json.dumps(good | {"external_id": "e", "author": {"user_id": 7}}),
        "pending-text": json.dumps(good | {"external_id": "g", "text_pending": "false"}),
        "rating-nan": json.dumps(good | {"external_id": "h", "rating": float("nan")}),
        "fine": message("f"),
    }
    outcomes = run(processor, bodies)
    assert outcomes.pop("fine") == "ok"
    assert outcomes == {
        "text-null": "failed: invalid: not an interaction: TypeError",
        "text-number": "failed: invalid: not an interaction: TypeError",
        "year-one": "failed: invalid: not an interaction: OverflowError",
        "attachments": "failed: invalid: not an interaction: TypeError",
        "user-id": "failed: invalid: not an interaction: TypeError",
        "pending-text": "failed: invalid: not an interaction: TypeError",
        "rating-nan": "failed: invalid: not an interaction: ValueError",
    }
    assert claims.states == {"telegram:f": "done"}
    assert [i.external_id for _, i, _ in store.added] == ["f"]
    assert [[d.text for d in call] for call in analyzer.calls] == [["O pedido chegou quebrado"]]


@dataclass
class RefusingClaims(Claims):
    refuse: str = ""

    def claim(self, key: str, remaining_ms: int) -> Claim:
        if key == self.refuse:
            raise ConnectionError("endpoint unreachable")
        return super().claim(key, remaining_ms)


def test_a_claim_that_cannot_be_written_fails_its_record_alone() -> None:
    claims, analyzer, store = RefusingClaims(refuse="telegram:2"), Analyzer(), Store()
    processor = InteractionProcessor(claims, analyzer, store, Decider(load_default(), IntentClassifier(None)), True)
    outcomes = run(processor, {"m1": message("1"), "m2": message("2"), "m3": message("3")})
    assert outcomes == {"m1": "ok", "m2": "failed: store_failed: claim: ConnectionError", "m3": "ok"}
    assert [len(call) for call in analyzer.calls] == [2]
    assert claims.states == {"telegram:1": "done", "telegram:3": "done"}


class LookupFails(Store):
    def stored_events(self, interactions: Sequence[Interaction]) -> dict[str, tuple[DomainEvent, ...]]:
        raise ConnectionError("endpoint unreachable")


def test_a_failed_lookup_of_stored_records_releases_their_claims_before_any_paid_call() -> None:
    claims, analyzer, store = Claims(), Analyzer(), LookupFails()
    processor = InteractionProcessor(claims, analyzer, store, Decider(load_default(), IntentClassifier(None)), True)
    edit = message("2", "O pedido chegou, obrigado", action=Action.EDITED, edited_at=T0 + timedelta(minutes=5))
    outcomes = run(processor, {"m1": message("1"), "m2": "not json", "m3": edit})
    assert outcomes == {
        "m1": "failed: store_failed: stored lookup: ConnectionError",
        "m2": "failed: invalid: not an interaction: JSONDecodeError",
        "m3": "ok",  # an edit is not looked up (it revises what is stored): it goes on
    }
    assert [[d.text for d in call] for call in analyzer.calls] == [["O pedido chegou, obrigado"]]
    assert claims.released == ["telegram:1"]
    assert "telegram:1" not in claims.states


@dataclass
class Exploding(Analyzer):
    """An analyzer that raises for a whole batch holding a document it cannot handle."""

    explode: str = ""

    def analyze(self, documents: Sequence[Document], redact: bool) -> list[Analysis | AnalysisFailed]:
        if any(d.text == self.explode for d in documents):
            self.calls.append(list(documents))
            raise UnicodeEncodeError("utf-8", self.explode, 0, 1, "surrogates not allowed")
        return super().analyze(documents, redact)


def test_an_analyzer_that_raises_fails_only_the_document_it_cannot_handle() -> None:
    claims, analyzer, store = Claims(), Exploding(explode="bad"), Store()
    processor = InteractionProcessor(claims, analyzer, store, Decider(load_default(), IntentClassifier(None)), True)
    bodies = {f"m{i}": message(str(i), "bad" if i == 5 else f"texto {i}") for i in range(8)}
    outcomes = run(processor, bodies)
    assert outcomes.pop("m5") == "failed: analysis_failed: analysis raised UnicodeEncodeError"
    assert set(outcomes.values()) == {"ok"}
    # halved until the culprit is alone: 8 raises; 0-3 pass; 4-7 raises; 4-5 raises; 4 passes,
    # 5 raises alone; 6-7 pass
    assert [len(call) for call in analyzer.calls] == [8, 4, 4, 2, 1, 1, 2]
    assert claims.released == ["telegram:5"]
    assert len(store.added) == 7


def test_an_analyzer_that_raises_for_everything_is_not_called_once_per_halving() -> None:
    """Halving to the end would analyse 1,024 documents about eleven times over; the budget stops
    it after a few culprits' worth of calls, and every record fails for a retry."""
    claims, analyzer, store = Claims(), Exploding(explode="bad"), Store()
    processor = InteractionProcessor(claims, analyzer, store, Decider(load_default(), IntentClassifier(None)), True)
    bodies = {f"m{i}": message(str(i), "bad") for i in range(1024)}
    outcomes = run(processor, bodies)
    assert set(outcomes.values()) == {"failed: analysis_failed: analysis raised UnicodeEncodeError"}
    # The whole batch, three culprits' halvings (2 calls each, 10 deep), then one last try for each
    # half still pending on the way back up.
    assert len(analyzer.calls) <= 1 + 3 * 2 * 10 + 10
    assert sum(len(call) for call in analyzer.calls) <= 4 * 1024  # about three passes; halving to the end: 11
    assert len(claims.released) == 1024


def test_nothing_to_read_is_not_analysed(parts) -> None:
    processor, _, analyzer, store = parts
    bodies = {
        "reaction": message("r", "", kind=Kind.REACTION, reaction="like"),
        "deleted": message("d", "", action=Action.DELETED, author=None),  # a deletion needs no author
        "pending": message("p", "", author=None, text_pending=True, kind=Kind.MENTION, thread_id="media-9"),
    }
    assert set(run(processor, bodies).values()) == {"ok"}
    assert analyzer.calls == []
    assert [i.external_id for _, i, _ in store.added] == ["r", "p"]
    # Without a way to fetch its words, the mention is kept visibly incomplete, not held back.
    mention = store.added[1][1]
    assert (mention.text, mention.text_pending, mention.attachments) == ("", False, (Attachment("mention", "media-9"),))
    assert mention.author is not None
    assert mention.author.user_id == "unknown-author:-"
    assert [i.external_id for i in store.deletions] == ["d"]


def test_an_edit_revises_the_stored_interaction_or_is_stored_when_first_seen(parts) -> None:
    processor, _, _, store = parts
    run(processor, {"m1": message("1")})
    edit = message("1", "Já resolveram, obrigado", action=Action.EDITED, edited_at=T0 + timedelta(minutes=5))
    run(processor, {"m2": edit})
    assert [i.text for i in store.revised] == ["Já resolveram, obrigado"]
    orphan = message("9", "editado", action=Action.EDITED, edited_at=T0)
    run(processor, {"m3": orphan})
    assert store.added[-1][1].external_id == "9"


def test_an_edit_racing_its_original_is_applied_not_dropped(parts) -> None:
    processor, _, _, store = parts
    store.lands_meanwhile = {"5"}  # the original is stored between the edit's look and its write
    edit = message("5", "corrigido", action=Action.EDITED, edited_at=T0 + timedelta(minutes=1))
    assert run(processor, {"m1": edit}) == {"m1": "ok"}
    assert [i.text for i in store.revised] == ["corrigido"]


def test_redaction_covers_titles_and_texts_without_analysis(parts) -> None:
    processor, _, _, store = parts
    body = message("r1", "", kind=Kind.REVIEW, title="Liguem para +55 11 91234-5678", platform="trustpilot")
    run(processor, {"m1": body})
    _, _, stored = store.added[0]
    assert stored == StoredText(text=None, title="Liguem para [PHONE]", redacted=True, pii_types=("PHONE",))


@pytest.mark.parametrize(
    ("platform", "hint", "trusted"),
    [
        ("x", "pt", "pt"),
        ("trustpilot", "en", "en"),
        ("shopforum", "it", "it"),
        ("telegram", "pl", None),
        ("messenger", "en", None),
    ],
)
def test_only_sources_that_describe_the_text_give_a_trusted_language(
    platform: str, hint: str, trusted: str | None
) -> None:
    interaction = Interaction.from_dict(json.loads(message(platform=platform, language_hint=hint)))
    assert trusted_language_hint(interaction) == trusted


def test_brand_replies_are_kept_for_the_customer_they_answer_and_never_analysed(parts) -> None:
    processor, _, analyzer, store = parts
    brand = Author("PAGE")
    bodies = {
        "customer": message("c1"),
        "dm": message("b1", "Sentimos muito!", direction=Direction.OUTBOUND, recipient_id="known-7", author=brand),
        "reply": message("b2", "Pode chamar no privado?", direction=Direction.OUTBOUND, parent_id="c1", author=brand),
        # whose own message has not arrived yet (SQS has no order): their identity is made now
        "early": message("b3", "Oi!", direction=Direction.OUTBOUND, recipient_id="someone-else", author=brand),
        # a reply to a comment not stored yet waits for that comment
        "waits": message("b4", "Olá!", direction=Direction.OUTBOUND, parent_id="c9", author=brand),
    }
    assert set(run(processor, bodies).values()) == {"ok"}
    assert [d.text for call in analyzer.calls for d in call] == ["O pedido chegou quebrado"]
    assert [(customer, i.external_id) for customer, i, _ in store.added] == [
        ("customer-of-7", "c1"),
        ("customer-of-known-7", "b1"),
        ("customer-of-7", "b2"),
        ("customer-of-someone-else", "b3"),
    ]
    assert [reply.external_id for reply in store.awaiting] == ["b4"]


def test_a_complaint_raises_its_events_and_the_claim_waits_for_them_to_be_published(parts) -> None:
    processor, claims, _, _ = parts
    prepared = processor.prepare({"m1": message("1", "O pedido chegou quebrado, um absurdo")}, 60_000)
    events = processor.complete(prepared["m1"])
    assert [event.detail_type for event in events] == [
        DetailType.INTERACTION_ROUTED,
        DetailType.CASE_OPENED,
        DetailType.INTERACTION_STORED,
    ]
    assert claims.states["telegram:1"] == "busy"  # stored, but not done until its events are out
    processor.finish(prepared["m1"], published=False)
    assert "telegram:1" not in claims.states  # released: the redelivery publishes them


def test_a_redelivery_of_a_stored_record_republishes_without_analysis_or_writes(parts) -> None:
    processor, claims, analyzer, store = parts
    body = message("1", "O pedido chegou quebrado, um absurdo")
    first = processor.prepare({"m1": body}, 60_000)
    raised = processor.complete(first["m1"])
    processor.finish(first["m1"], published=False)
    again = processor.prepare({"m1": body}, 60_000)
    assert again["m1"].outcome is Outcome.STORED
    assert processor.complete(again["m1"]) == raised
    processor.finish(again["m1"], published=True)
    assert len(analyzer.calls) == 1
    assert len(store.added) == 1
    assert claims.states["telegram:1"] == "done"


@dataclass
class Erasing(Store):
    """The store's side of an erasure: customers being erased (when it was requested) refuse
    writes; letting go of an identity for a message written before the request raises, as does
    making a customer again for an erased identity with a message written before its erasure."""

    erasing: dict[str, datetime] = field(default_factory=dict)  # customer id -> requested at
    erased: dict[str, datetime] = field(default_factory=dict)  # user id -> suppressed since
    detached: list[str] = field(default_factory=list)

    def _check(self, user_id: str, seen_at: datetime) -> None:
        if user_id in self.erased and seen_at <= self.erased[user_id]:
            raise WrittenBeforeErasure("written before its identity's erasure was requested")

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        self._check(author.user_id, seen_at)
        return (
            f"new-customer-of-{author.user_id}"
            if author.user_id in self.erased
            else super().resolve(platform, author, seen_at)
        )

    def identify(self, platform: str, user_id: str, seen_at: datetime) -> str:
        self._check(user_id, seen_at)
        return f"new-customer-of-{user_id}" if user_id in self.erased else super().identify(platform, user_id, seen_at)

    def detach(self, platform: str, user_id: str, customer_id: str, written_at: datetime) -> None:
        if written_at <= self.erasing[customer_id]:
            raise WrittenBeforeErasure("written before the erasure was requested")
        self.erased[user_id] = self.erasing[customer_id]
        self.detached.append(user_id)

    def add(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        decide: Callable[[CustomerSnapshot], Decision],
    ) -> Decision | None:
        if customer_id in self.erasing:
            raise CustomerErased(f"customer {customer_id} is being erased")
        return super().add(customer_id, interaction, analysis, stored, decide)


def erasing_parts(store: Erasing) -> tuple[InteractionProcessor, Claims]:
    claims = Claims()
    decider = Decider(load_default(), IntentClassifier(None))
    return InteractionProcessor(claims, Analyzer(), store, decider, redact=True), claims


BRAND = Author("PAGE")
REQUESTED = T0 + timedelta(hours=1)  # when Ana's (user 7's) erasure was requested


def test_a_message_written_before_an_erasure_in_progress_is_dropped_not_retried() -> None:
    store = Erasing(erasing={"customer-of-7": REQUESTED})
    processor, claims = erasing_parts(store)
    bodies = {
        "before": message("1", occurred_at=REQUESTED - timedelta(minutes=1)),
        "at": message("2", occurred_at=REQUESTED),
        "reply": message("3", "Sentimos muito!", direction=Direction.OUTBOUND, recipient_id="7", author=BRAND),
    }
    assert run(processor, bodies) == {"before": "ok", "at": "ok", "reply": "ok"}  # done: no SQS retry
    assert store.added == []
    assert store.detached == []  # the identity stays for the erasure to delete
    assert claims.released == []
    assert set(claims.states.values()) == {"done"}


def test_a_message_written_after_the_erasure_was_requested_starts_a_new_customer() -> None:
    store = Erasing(erasing={"customer-of-7": REQUESTED})
    processor, _ = erasing_parts(store)
    after = REQUESTED + timedelta(seconds=1)
    assert run(processor, {"m1": message("1", occurred_at=after)}) == {"m1": "ok"}
    assert [(customer, i.external_id) for customer, i, _ in store.added] == [("new-customer-of-7", "1")]
    assert store.detached == ["7"]


def test_after_an_erasure_a_late_message_or_echo_written_before_it_makes_no_customer() -> None:
    store = Erasing(erased={"7": REQUESTED})  # the erasure finished: only the suppression is left
    processor, claims = erasing_parts(store)
    bodies = {
        "retried": message("1", occurred_at=REQUESTED - timedelta(days=1)),
        "echo": message(
            "2", "Sentimos muito!", direction=Direction.OUTBOUND, recipient_id="7", author=BRAND, occurred_at=T0
        ),
        "new": message("3", "Oi de novo", occurred_at=REQUESTED + timedelta(days=1)),
    }
    assert run(processor, bodies) == {"retried": "ok", "echo": "ok", "new": "ok"}
    assert [(customer, i.external_id) for customer, i, _ in store.added] == [("new-customer-of-7", "3")]
    assert claims.released == []
