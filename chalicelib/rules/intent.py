"""Intent of an interaction, from its words, its sentiment, its entities and its rating.

A transparent scoring rule rather than a model: every intent collects points from the cue words
of the post's language (and English, which customers mix in), from the sentiment scores, from a
review's rating and from a question mark; the highest total wins, `other` when nothing scores
above a floor. The winner's points are its `reasons`, so ops can see why a post was filed as a
complaint, and the confidence is the winner's share of a softmax over the totals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cache

from chalicelib.models.decision import Intent, IntentResult
from chalicelib.nlp.text import fold
from chalicelib.rules import intent_words
from chalicelib.rules.intent_cues import LANGUAGES, UNIVERSAL, Cues
from chalicelib.rules.intent_words import WordModel

# `other` needs no evidence: a post must score above this to be anything else.
OTHER_FLOOR = 1.0
# Several cues of one intent count, but less and less: the first in full, then half, a quarter...
REPEAT_DECAY = 0.5
MAX_REASONS = 4
# Points the learned word counts can give, times their probability for the intent.
LEARNED_WEIGHT = 1.5
# Points the counts of the public (English) data can give, times their probability for the intent.
PUBLIC_WEIGHT = 2.0
# A learned probability below this is no evidence, and no reason worth showing.
NEGLIGIBLE = 0.01
# The public model speaks only when it is at least this sure: less, and it is mostly its prior (half
# its rows are complaints) speaking about words it never saw, as in a post about opening hours.
PUBLIC_FLOOR = 0.5
# Cancel intent outranks the complaint that usually comes with it: leaving is what ops must see.
CANCEL_BONUS = 0.8

QUESTION_MARK = 1.4
# A question defers to specific words of these intents once they score this much.
_SPECIFIC = (Intent.PURCHASE_INTENT, Intent.CANCEL_INTENT, Intent.COMPLAINT)
DEFER_AT = 1.4
DEFER_FACTOR = 0.5


@dataclass(frozen=True)
class IntentInput:
    """What the classifier looks at; built from an interaction and its analysis."""

    text: str
    language: str | None = None
    sentiment: str | None = None
    sentiment_scores: dict[str, float] = field(default_factory=dict)
    entity_types: tuple[str, ...] = ()
    rating: float | None = None
    translated_text: str | None = None


@dataclass
class _Tally:
    points: float = 0.0
    hits: int = 0
    reasons: list[tuple[float, str]] = field(default_factory=list)

    def add(self, points: float, reason: str, repeatable: bool = False) -> None:
        weight = points if repeatable else points * (REPEAT_DECAY**self.hits)
        if not repeatable:
            self.hits += 1
        self.points += weight
        self.reasons.append((weight, reason))


class IntentClassifier:
    """The cue lexicon plus, when given, the learned word counts weighted by `learned_weight`, and
    the counts of the public English data weighted by `public_weight` (English posts only)."""

    def __init__(
        self,
        words: WordModel | None,
        learned_weight: float = LEARNED_WEIGHT,
        public: WordModel | None = None,
        public_weight: float = PUBLIC_WEIGHT,
    ) -> None:
        self._words = words
        self._learned_weight = learned_weight
        self._public = public
        self._public_weight = public_weight

    def classify(self, facts: IntentInput) -> IntentResult:
        text = facts.text.strip()
        if not text:
            return IntentResult(Intent.OTHER, 1.0, ("no text",))
        tallies = {intent: _Tally() for intent in Intent}
        folded = fold(text)
        for language, cues in _cue_sets(facts.language):
            _match(cues, folded, language, tallies)
        translated = _translated(facts)
        if translated:
            _match(_compiled("en"), translated, "en (translated)", tallies)
        if tallies[Intent.CANCEL_INTENT].hits:
            tallies[Intent.CANCEL_INTENT].add(CANCEL_BONUS, "leaving outranks complaining", repeatable=True)
        _sentiment(facts, tallies)
        _rating(facts.rating, tallies)
        if "?" in text or "¿" in text:
            tallies[Intent.QUESTION].add(QUESTION_MARK, "question mark", repeatable=True)
        _question_defers(tallies)
        if "COMMERCIAL_ITEM" in facts.entity_types and tallies[Intent.PURCHASE_INTENT].hits:
            tallies[Intent.PURCHASE_INTENT].add(0.4, "entity COMMERCIAL_ITEM", repeatable=True)
        if self._words is not None and self._learned_weight:
            _learned(self._words, self._learned_weight, NEGLIGIBLE, folded, "learned words", tallies)
        english = folded if facts.language == "en" else translated
        if self._public is not None and self._public_weight and english:
            _learned(self._public, self._public_weight, PUBLIC_FLOOR, english, "words of public posts", tallies)
        tallies[Intent.OTHER].add(OTHER_FLOOR, "nothing stronger", repeatable=True)
        return _decide(tallies)


def _translated(facts: IntentInput) -> str | None:
    """The English translation the analysis made, where the post's own language has no cues here
    (a language with cues is read in its own words)."""
    if facts.translated_text and facts.language not in LANGUAGES:
        return fold(facts.translated_text)
    return None


def _learned(
    model: WordModel, weight: float, floor: float, folded: str, what: str, tallies: dict[Intent, _Tally]
) -> None:
    posterior, evidence = model.posterior(folded)
    for label, probability in posterior.items():
        if label not in _INTENTS or probability < floor:  # "none": posts that are none of the scored intents
            continue
        words = ", ".join(repr(word) for word in evidence.get(label, ()) if _quotable(word, model))
        reason = f"{what} {words} ({probability:.2f})" if words else f"{what} ({probability:.2f})"
        tallies[Intent(label)].add(weight * probability, reason, repeatable=True)


def _quotable(token: str, model: WordModel) -> bool:
    """Only words of the hand-written posts are quoted (never a name the public data taught)."""
    return all(_may_quote(word, model.quotable) for word in token.split())


def _may_quote(word: str, vocabulary: Container[str]) -> bool:
    """A word a reason may show: one the hand-written posts taught, and no number (an order,
    a phone or an account number is never a cue worth quoting)."""
    return word in vocabulary and not any(c.isdigit() for c in word)


_INTENTS = frozenset(intent.value for intent in Intent)


@cache
def default_classifier() -> IntentClassifier:
    return IntentClassifier(intent_words.model(), public=intent_words.public_model())


def classify(facts: IntentInput) -> IntentResult:
    return default_classifier().classify(facts)


def _cue_sets(language: str | None) -> list[tuple[str, dict[str, list[tuple[float, re.Pattern[str]]]]]]:
    sets = [("any", _compiled("*"))]
    if language in LANGUAGES:
        sets.append((language, _compiled(language)))
        if language != "en":
            sets.append(("en", _compiled("en")))
    else:  # unknown or unsupported: every lexicon, since a cue word is evidence in any of them
        sets.extend((code, _compiled(code)) for code in LANGUAGES)
    return sets


@cache
def _compiled(language: str) -> dict[str, list[tuple[float, re.Pattern[str]]]]:
    cues: Cues = UNIVERSAL if language == "*" else LANGUAGES[language]
    return {
        intent: [(weight, re.compile(pattern)) for weight, pattern in patterns] for intent, patterns in cues.items()
    }


def _match(
    cues: dict[str, list[tuple[float, re.Pattern[str]]]], folded: str, language: str, tallies: dict[Intent, _Tally]
) -> None:
    for intent_name, patterns in cues.items():
        tally = tallies[Intent(intent_name)]
        for weight, pattern in sorted(patterns, key=lambda item: -item[0]):
            found = pattern.search(folded)
            if found:
                tally.add(weight, f"words ({language}): {_quote(found.group(0))}")


def _quote(snippet: str) -> str:
    """The cue words, never personal data: a cue can match a stretch of free text ("cancel ...
    subscription"), so only words the labelled posts taught us are quoted (an e-mail address, a
    name or a number in between becomes "..."), and long matches are cut."""
    known = _vocabulary()
    kept: list[str] = []
    for word in snippet.split():
        core = word.strip(".,;:!?¿¡()[]{}\"'")
        shown = word if core and _may_quote(core, known) else "..."
        if shown != "..." or not kept or kept[-1] != "...":
            kept.append(shown)
    quoted = " ".join(kept)
    return repr(quoted if len(quoted) <= 40 else quoted[:37] + "...")


@cache
def _vocabulary() -> frozenset[str]:
    learned = intent_words.model()
    return learned.quotable if learned else frozenset()


def _question_defers(tallies: dict[Intent, _Tally]) -> None:
    """ "How much is it?" is a purchase and "why is it still not here??" a complaint: a question
    that carries words of a more specific intent is that intent, asked as a question."""
    specific = max(tallies[intent].points for intent in _SPECIFIC)
    if specific >= DEFER_AT:
        question = tallies[Intent.QUESTION]
        question.reasons.append((0.0, "asked about something more specific"))
        question.points *= DEFER_FACTOR


def _sentiment(facts: IntentInput, tallies: dict[Intent, _Tally]) -> None:
    scores = {label.upper(): value for label, value in facts.sentiment_scores.items()}
    if not scores and facts.sentiment:
        scores = {facts.sentiment.upper(): 1.0}
    negative, positive = scores.get("NEGATIVE", 0.0), scores.get("POSITIVE", 0.0)
    neutral, mixed = scores.get("NEUTRAL", 0.0), scores.get("MIXED", 0.0)
    if negative >= 0.2:
        tallies[Intent.COMPLAINT].add(1.4 * negative, f"sentiment NEGATIVE {negative:.2f}", repeatable=True)
        tallies[Intent.CANCEL_INTENT].add(0.4 * negative, f"sentiment NEGATIVE {negative:.2f}", repeatable=True)
    if positive >= 0.2:
        tallies[Intent.PRAISE].add(1.4 * positive, f"sentiment POSITIVE {positive:.2f}", repeatable=True)
    if mixed >= 0.2:
        tallies[Intent.COMPLAINT].add(0.5 * mixed, f"sentiment MIXED {mixed:.2f}", repeatable=True)
    if neutral >= 0.2:
        tallies[Intent.QUESTION].add(0.3 * neutral, f"sentiment NEUTRAL {neutral:.2f}", repeatable=True)
        tallies[Intent.OTHER].add(0.3 * neutral, f"sentiment NEUTRAL {neutral:.2f}", repeatable=True)


def _rating(rating: float | None, tallies: dict[Intent, _Tally]) -> None:
    if rating is None:
        return
    if rating <= 2:
        tallies[Intent.COMPLAINT].add(2.0, f"rating {rating:g}", repeatable=True)
    elif rating < 4:
        tallies[Intent.COMPLAINT].add(0.6, f"rating {rating:g}", repeatable=True)
    else:
        tallies[Intent.PRAISE].add(2.0, f"rating {rating:g}", repeatable=True)


def _decide(tallies: dict[Intent, _Tally]) -> IntentResult:
    ranked = sorted(tallies.items(), key=lambda item: -item[1].points)
    winner, tally = ranked[0]
    total = sum(math.exp(t.points) for _, t in ranked)
    confidence = round(math.exp(tally.points) / total, 3)
    reasons = tuple(reason for _, reason in sorted(tally.reasons, key=lambda r: -r[0])[:MAX_REASONS])
    return IntentResult(winner, confidence, reasons)
