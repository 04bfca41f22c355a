"""What socialcrm does about one interaction, given its customer as stored right now.

Pure: the store reads a `CustomerSnapshot`, calls `Decider` and writes the `Decision` with the
interaction in one transaction; if the customer changed meanwhile it reads again and asks again,
so a decision is always made on the state it is written over (one Retention Alert per crossing,
one case per conversation, even when two messages race).
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.models.case import BrandReply, Case
from chalicelib.models.decision import Intent, IntentResult, Route, RouteAction
from chalicelib.models.interaction import Interaction, Kind
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis
from chalicelib.nlp.text import fold, names_any, whole_words
from chalicelib.rules import cases, catalogue, churn, leads
from chalicelib.rules.aggregates import add_interaction
from chalicelib.rules.intent import IntentClassifier, IntentInput
from chalicelib.rules.routing import RoutingDocument, RoutingFacts

PURCHASE = "purchase_intent"


class Decider:
    def __init__(self, routing: RoutingDocument, classifier: IntentClassifier) -> None:
        self._routing = routing
        self._classifier = classifier
        self._competitors = whole_words(routing.competitors)

    @property
    def routing(self) -> RoutingDocument:
        return self._routing

    def inbound(self, snapshot: CustomerSnapshot, interaction: Interaction, analysis: Analysis | None) -> Decision:
        """What a customer's message changes, with its `Interaction Stored` event last."""
        decision = self._inbound(snapshot, interaction, analysis)
        sentiment = analysis.sentiment.label if analysis and analysis.sentiment else None
        stored = catalogue.interaction_stored(
            snapshot.customer_id,
            interaction,
            sentiment,
            analysis.language if analysis else interaction.language_hint,
            decision.intent,
            decision.route,
            decision.case,
            tuple(name for name, _ in decision.competitors),
            None,
        )
        return replace(decision, events=(*decision.events, stored))

    def _inbound(self, snapshot: CustomerSnapshot, interaction: Interaction, analysis: Analysis | None) -> Decision:
        sentiment = analysis.sentiment if analysis else None
        aggregates = add_interaction(
            snapshot.aggregates,
            interaction.platform,
            interaction.occurred_at,
            sentiment.polarity if sentiment else None,
        )
        if not classifiable(interaction):
            return Decision(aggregates, snapshot.churn)
        now = interaction.occurred_at
        intent = self.classify(interaction, analysis)
        before = snapshot.aggregates
        state = churn.settle(snapshot.churn, before.sentiment_score, before.sentiment_samples, now, self._routing.churn)
        if intent.label is Intent.CANCEL_INTENT:
            state = churn.record(state, churn.CANCEL_INTENT, now)
        elif intent.label is Intent.COMPLAINT:
            state = churn.record(state, churn.COMPLAINT, now)
        elif intent.label is Intent.PURCHASE_INTENT:
            state = churn.record(state, PURCHASE, now)
        named = self.competitors_named(interaction.text, analysis)
        if named:
            state = churn.record(state, churn.COMPETITOR, now)
        provisional = churn.assess(state, aggregates.sentiment_score, aggregates.sentiment_samples, now)
        route = self._routing.route(
            RoutingFacts(
                platform=interaction.platform,
                kind=interaction.kind.value,
                intent=intent.label,
                confidence=intent.confidence,
                text=interaction.text,
                sentiment=sentiment.label if sentiment else None,
                sentiment_confidence=sentiment.confidence if sentiment else 0.0,
                language=analysis.language if analysis else None,
                segments=snapshot.segments,
                churn_risk=provisional.score,
                entity_types=frozenset(entity.type for entity in analysis.entities) if analysis else frozenset(),
                entity_texts=tuple(entity.text for entity in analysis.entities) if analysis else (),
            )
        )
        language = analysis.language if analysis else interaction.language_hint
        case, is_new = self._case(snapshot, interaction, intent, route, language)
        waiting: tuple[BrandReply, ...] | None = None
        if case is not None and snapshot.waiting_replies:
            # A reply that came before this message (SQS has no order) answers it now.
            case, left = cases.answer_waiting(
                case, snapshot.waiting_replies, self._routing.sla_minutes, snapshot.active_cases
            )
            waiting = left if left != snapshot.waiting_replies else None
        if is_new and case is not None and case.intent is Intent.COMPLAINT:
            state = replace(state, open_complaints=state.open_complaints + 1)
        state, fire = churn.update(
            state, aggregates.sentiment_score, aggregates.sentiment_samples, now, self._routing.churn
        )
        events = [
            catalogue.interaction_routed(
                snapshot.customer_id,
                interaction,
                intent,
                route,
                self._routing.version,
                sentiment.label if sentiment else None,
                analysis.language if analysis else None,
                case.case_id if case else None,
            )
        ]
        if is_new and case is not None:
            events.append(catalogue.case_opened(case, interaction, intent))
        if fire:
            events.append(
                catalogue.retention_alert(
                    snapshot.customer_id,
                    state.alerts,
                    state.score,
                    self._routing.churn.alert_at,
                    state.reasons,
                    interaction,
                    case.case_id if case else None,
                )
            )
        lead = leads.score(
            leads.LeadFacts(
                intent=intent,
                sentiment=sentiment.label if sentiment else None,
                entity_types=frozenset(entity.type for entity in analysis.entities) if analysis else frozenset(),
                segments=snapshot.segments,
                interaction_count=aggregates.interaction_count,
                purchase_signals=int(snapshot.churn.signals[PURCHASE].decayed(now) >= 0.5)
                if PURCHASE in snapshot.churn.signals
                else 0,
                churn_risk=state.score,
                text=" ".join(part for part in (interaction.title, interaction.text) if part),
            )
        )
        if lead is not None and lead.score >= self._routing.leads.min_score:
            events.append(
                catalogue.lead_qualified(snapshot.customer_id, interaction, lead.score, lead.reasons, route.team)
            )
        return Decision(aggregates, state, intent, route, case, is_new, tuple(events), waiting, named)

    def outbound(self, snapshot: CustomerSnapshot, reply: Interaction) -> Decision:
        """The brand answered: the case on that conversation (or, failing that, the customer's
        latest open case on the same platform: `cases.meant_for`) is answered by the messages
        written before the reply. A reply that answers nothing yet waits on the profile for the
        message it answers, which SQS may bring later, and is judged by the same rule when it lands
        (`cases.answer_waiting`). Nothing else about the customer moves."""
        answer = cases.reply_of(reply)
        case = cases.meant_for(snapshot.active_cases, answer)
        answered = cases.respond(case, answer, self._routing.sla_minutes) if case is not None else None
        waited: float | None = None
        first = answered.first_response_at if answered is not None else None
        if case is not None and case.first_response_at is None and answered is not None and first is not None:
            waited = round((first - answered.opened_at).total_seconds(), 3)
        stored = catalogue.interaction_stored(snapshot.customer_id, reply, None, None, None, None, answered, (), waited)
        if answered is None:
            waiting = cases.keep_waiting((*snapshot.waiting_replies, answer), reply.occurred_at)
            return Decision(snapshot.aggregates, snapshot.churn, waiting_replies=waiting, events=(stored,))
        return Decision(snapshot.aggregates, snapshot.churn, case=answered, events=(stored,))

    def classify(self, interaction: Interaction, analysis: Analysis | None) -> IntentResult:
        sentiment = analysis.sentiment if analysis else None
        return self._classifier.classify(
            IntentInput(
                text=" ".join(part for part in (interaction.title, interaction.text) if part),
                language=analysis.language if analysis else interaction.language_hint,
                sentiment=sentiment.label if sentiment else None,
                sentiment_scores=dict(sentiment.scores) if sentiment else {},
                entity_types=tuple(entity.type for entity in analysis.entities) if analysis else (),
                rating=interaction.rating,
                translated_text=analysis.translated_text if analysis else None,
            )
        )

    def mentions_competitor(self, text: str) -> bool:
        return names_any(text, self._routing.competitors)

    def competitors_named(self, text: str, analysis: Analysis | None) -> tuple[tuple[str, str | None], ...]:
        """The configured competitors the words name, each with the sentiment towards it where the
        analysis has one for an entity of that name (Comprehend's targeted sentiment), else None."""
        folded = fold(text)
        targeted = {fold(t.text): t.label for t in analysis.targeted_sentiment} if analysis else {}
        return tuple(
            (name, targeted.get(name))
            for name, pattern in zip(self._routing.competitors, self._competitors, strict=True)
            if pattern.search(folded)
        )

    def _case(
        self,
        snapshot: CustomerSnapshot,
        interaction: Interaction,
        intent: IntentResult,
        route: Route,
        language: str | None,
    ) -> tuple[Case | None, bool]:
        existing = cases.for_thread(snapshot.active_cases, cases.thread_key(interaction))
        needs_answer = RouteAction.OPEN_CASE in route.actions
        sla = self._routing.sla_minutes
        if existing is not None:
            return cases.join(existing, interaction, route, sla, reopen=needs_answer, language=language), False
        if not needs_answer:
            return None, False
        return cases.open_case(snapshot.customer_id, interaction, intent.label, route, sla, language), True


def classifiable(interaction: Interaction) -> bool:
    """Customers' words and ratings: reactions and empty messages have no intent to read."""
    has_words = bool(interaction.text.strip() or (interaction.title or "").strip())
    return interaction.kind is not Kind.REACTION and (has_words or interaction.rating is not None)
