"""What customers talk about: topics from the analysis' key phrases and entities, one topic for a
subject said in several languages where the analyzer can tell, and its trend against its own past.

Pure: the terms of one analysis (`terms`), their grouping into topics given a way to tell two terms
apart (`Merger`, in insight/merge.py), the tally of an hour, and the trend score. The hour's
interactions are read, and the tallies kept, by store/topics.py; insight/topic_service.py runs it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from chalicelib.nlp.local_extract import is_stopword
from chalicelib.nlp.text import fold

# Entity types that name a subject (Comprehend's); people, dates and amounts are not topics.
SUBJECT_ENTITIES = frozenset({"COMMERCIAL_ITEM", "BRAND", "ORGANIZATION", "EVENT", "TITLE", "LOCATION"})
TERMS_PER_MESSAGE = 6
HOURS_RECOUNTED = 3  # each count recounts this hour and the two before: late messages land in them
_DIGITS = re.compile(r"\d{4,}")
TOPICS_KEPT = 300  # per hour and per day: the long tail is dropped, the head is what people read
EXAMPLES = 3
# Words that say how, not what: frequent in complaints and praise, never a subject.
_OPINION_WORDS = """terrible horrible awful great good bad best worst nice love hate really very much many thanks
    again always never still today yesterday tomorrow hours days minutes week weeks month months year
    please help problem issue something anything nothing everything someone anyone people thing things nobody
    ninguém nadie nessuno nikdo nikt
    péssimo péssima ótimo ótima bom boa ruim horas dias semana hoje ontem obrigado obrigada problema
    pésimo pésima bueno buena malo mala horas días semana hoy ayer gracias problema
    hrozné skvělé dobrý špatný hodiny hodin dny dní týden dnes včera děkuji problém
    okropne świetne dobry zły godziny godzin dni tydzień dzisiaj wczoraj dziękuję problem"""
_OPINION = frozenset(fold(word) for word in _OPINION_WORDS.split())
# Per language, word forms that real sentences use as verbs, pronouns, adverbs, adjectives, ...
# and hardly ever as a noun or a name (tools/nlp/topic_words.py makes it from treebanks).
NOT_SUBJECTS_PATH = Path(__file__).with_name("not_subjects.json")
_NOT_SUBJECTS: dict[str, frozenset[str]] = {
    language: frozenset(words) for language, words in json.loads(NOT_SUBJECTS_PATH.read_text(encoding="utf-8")).items()
}

# Verb endings that treebanks all but never see on a noun (share of nouns and names among the forms
# of four letters or more ending so, as tools/nlp/topic_words.py prints them): Portuguese gerunds and past tenses
# (-ando 8 %, -endo 5 %, -indo 3 %, -ou 1 %, -aram, -eram, -iram 0 %, -am 2 %), Spanish (-iendo,
# -ieron 0 %, -aron 3 %, -ando 5 %), Italian gerunds (-ando 2 %, -endo 2 %); what remains are
# mostly people's names, which are no topic either, and the nouns, loanwords and brands below (a
# capital says nothing here: sentences start with verbs, and some write in capitals). Forms customers type
# without a treebank's spelling ("amei", "aceitam") are caught by their ending where no list has them.
VERB_ENDINGS = {
    "pt": ("ando", "endo", "indo", "ou", "aram", "eram", "iram", "am"),
    "es": ("iendo", "ieron", "aron", "ando"),
    "it": ("ando", "endo"),
}
_NOUNS_SO_ENDING = frozenset(
    [
        "comando",
        "telecomando",
        "telemando",
        "memorando",
        "formando",
        "doutorando",
        "referendo",
        "reverendo",
        "dividendo",
        "adendo",
        "bando",
        "mando",
        "contrabando",
        "spam",
        "scam",
        "webcam",
        "stream",
        "instagram",
        "telegram",
        "nintendo",
    ]
)


def verb_form(word: str, language: str | None) -> bool:
    """Whether a folded word has an ending its language gives verbs, hardly ever nouns."""
    return word not in _NOUNS_SO_ENDING and word.endswith(VERB_ENDINGS.get(language or "", ()))


def terms(
    analysis: Mapping[str, Any] | None,
    limit: int = TERMS_PER_MESSAGE,
    not_subjects: frozenset[str] | None = None,
    endings: bool = True,
) -> list[str]:
    """The subjects one message names: the content words of its key phrases (four letters or
    more, not stop words, opinion words or words its language hardly uses as a noun) and whole
    entities of subject types, folded, most salient first, at most `limit`. Nothing that looks
    like personal data (handles, numbers of four digits or more) is ever a term. `not_subjects`
    replaces the language's list, and `endings` False leaves verb endings in
    (tools/nlp/topic_words.py measures with and without them)."""
    if not analysis:
        return []
    language = str(analysis.get("language") or "")
    if not_subjects is None:
        not_subjects = _NOT_SUBJECTS.get(language, frozenset())
    found: list[tuple[str, bool]] = []
    for entity in analysis.get("entities", ()):
        if entity.get("type") in SUBJECT_ENTITIES:
            found.append((_clean(str(entity.get("text", ""))), True))
    for phrase in sorted(analysis.get("key_phrases", ()), key=lambda k: -float(k.get("score", 0))):
        for word in map(_clean, str(phrase.get("text", "")).split()):
            if word not in not_subjects and not (endings and verb_form(word, language)):
                found.append((word, False))
    kept: list[str] = []
    for term, whole in found:
        if _subject(term, whole) and term not in kept:
            kept.append(term)
    return kept[:limit]


def _clean(text: str) -> str:
    return " ".join(fold(text).strip(" .,;:!?\"'()[]{}#").split())


def _subject(term: str, entity: bool) -> bool:
    """A product's name may hold a digit ("galaxy s24"); a word with one, or any run of four digits
    or more (an order, a phone), is not a subject; nor is a word with an underscore, a handle
    written without its @ ("acmecafe_demo") or an identifier."""
    if len(term) < 4 or term in _OPINION or "@" in term or "/" in term or "_" in term or _DIGITS.search(term):
        return False
    if not entity and any(ch.isdigit() for ch in term):
        return False
    return not is_stopword(term)


class Merger(Protocol):
    """Tells which terms are one topic: maps each term to its topic's name, preferring a name
    among `known` (the topics already counted, most frequent first) so that names stay stable."""

    def topics(
        self, terms: Sequence[str], languages: Mapping[str, str | None], known: Sequence[str]
    ) -> dict[str, str]: ...


class SameWord:
    """No analyzer help: a topic is one folded term."""

    def topics(self, terms: Sequence[str], languages: Mapping[str, str | None], known: Sequence[str]) -> dict[str, str]:
        return {term: term for term in terms}


@dataclass
class Tally:
    """One topic's figures over an hour or a day: `n` messages, by sentiment and language, and a
    few examples (references to interactions, never their words)."""

    n: int = 0
    sentiment: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)

    def add(self, sentiment: str | None, language: str | None, example: dict[str, str] | None) -> None:
        self.n += 1
        if sentiment:
            self.sentiment[sentiment] += 1
        if language:
            self.languages[language] += 1
        if example is not None and len(self.examples) < EXAMPLES and example not in self.examples:
            self.examples.append(example)

    def merge(self, other: Tally) -> None:
        self.n += other.n
        self.sentiment.update(other.sentiment)
        self.languages.update(other.languages)
        for example in other.examples:
            if len(self.examples) < EXAMPLES and example not in self.examples:
                self.examples.append(example)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "s": dict(self.sentiment), "l": dict(self.languages), "ex": list(self.examples)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            int(data.get("n", 0)),
            Counter({str(k): int(v) for k, v in dict(data.get("s", {})).items()}),
            Counter({str(k): int(v) for k, v in dict(data.get("l", {})).items()}),
            [dict(example) for example in data.get("ex", ())],
        )


@dataclass(frozen=True)
class Mention:
    """One analysed message as the topic count sees it."""

    terms: tuple[str, ...]
    sentiment: str | None
    language: str | None
    example: dict[str, str]


def tally(mentions: Sequence[Mention], merger: Merger, known: Sequence[str]) -> dict[str, Tally]:
    """Each message counts once in each topic it names, its terms grouped by `merger`."""
    frequency = Counter(term for mention in mentions for term in mention.terms)
    ordered = [term for term, _ in frequency.most_common()]
    languages: dict[str, str | None] = {}
    for mention in mentions:
        for term in mention.terms:
            languages.setdefault(term, mention.language)
    names = merger.topics(ordered, languages, known) if ordered else {}
    found: dict[str, Tally] = {}
    for mention in mentions:
        for topic in dict.fromkeys(names.get(term, term) for term in mention.terms):
            found.setdefault(topic, Tally()).add(mention.sentiment, mention.language, mention.example)
    return top(found)


def top(found: Mapping[str, Tally], keep: int = TOPICS_KEPT) -> dict[str, Tally]:
    return dict(sorted(found.items(), key=lambda pair: (-pair[1].n, pair[0]))[:keep])


def combine(parts: Iterable[Mapping[str, Tally]]) -> dict[str, Tally]:
    merged: dict[str, Tally] = {}
    for part in parts:
        for topic, figures in part.items():
            merged.setdefault(topic, Tally()).merge(figures)
    return merged


def trend(observed: int, baseline_per_day: float, days: int) -> float:
    """How far above its own past a topic is: observed against expected (the baseline's daily mean
    times the days observed), in standard deviations of a Poisson count (+1 keeps a topic new
    today from dividing by zero). Above 3 is a rise few days would show by chance."""
    expected = baseline_per_day * days
    return round((observed - expected) / math.sqrt(expected + 1), 2)


def late_listing(occurred_at: datetime, now: datetime) -> datetime | None:
    """When a message stored `now` must be listed for the topic count apart from its own hour:
    None while a count will still recount that hour, else `now` (the hour it arrived). A message
    that reaches us hours after it was written (a source sending its history, a dead-letter
    replay, `make run`'s captured samples) would otherwise sit under an hour no count reads
    again. An hour counts as closed one hour early, so a message stored just before the hour turns
    cannot miss its hour's last count; in that hour the count reads such a message by its
    listing only (store/topics.mentions), so it is counted once."""
    open_from = (now - timedelta(hours=HOURS_RECOUNTED - 2)).replace(minute=0, second=0, microsecond=0)
    return None if occurred_at >= open_from else now
