"""Topics' rules: the terms of an analysis, their grouping, the tally and the trend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from chalicelib.insight import topics
from chalicelib.insight.merge import EmbeddingMerger, TranslationMerger
from chalicelib.insight.topics import Mention, SameWord, late_listing
from chalicelib.nlp.text import fold


def test_terms_are_subject_words_and_subject_entities_never_opinions_numbers_or_people() -> None:
    analysis = {
        "key_phrases": [{"text": "terrible battery", "score": 0.5}, {"text": "Order 12345 from @ana", "score": 0.9}],
        "entities": [
            {"type": "COMMERCIAL_ITEM", "text": "Galaxy S24", "score": 0.9},
            {"type": "PERSON", "text": "Ana Souza", "score": 0.9},
        ],
    }
    assert topics.terms(analysis) == ["galaxy s24", "order", "battery"]
    assert topics.terms({"key_phrases": [{"text": "não está muito", "score": 1}]}) == []
    assert topics.terms(None) == []
    assert topics.terms({"key_phrases": [{"text": "acmecafe_demo delivery", "score": 1}]}) == ["delivery"]


def test_words_a_language_uses_as_verbs_pronouns_or_adverbs_are_not_topics_in_that_language() -> None:
    """The offline key phrases keep verbs ("chegou", "announced") beside their subjects; the
    treebank-made list (tools/nlp/topic_words.py) takes them out, in their own language only,
    and leaves nouns that are also verbs ("order"), English gerunds ("shipping") and forms another
    language uses as a noun alone. Nobody is a topic in any language."""

    def said(language: str, phrase: str) -> list[str]:
        return topics.terms({"language": language, "key_phrases": [{"text": phrase, "score": 1.0}]})

    assert said("pt", "pedido chegou aberto") == ["pedido"]
    assert said("en", "order changed again shipping announced") == ["order", "shipping"]
    assert said("es", "pedido llegó roto") == ["pedido", "roto"]  # Spanish news' "pedido" is a verb; not here
    assert said("en", "chegou") == ["chegou"]  # a Portuguese verb is not an English word to drop
    assert said("xx", "pedido chegou") == ["pedido", "chegou"]  # no list for a language it has none of
    # Verb endings that treebanks hardly see on a noun, for forms no list has.
    assert said("pt", "entregador amou aceitam corrigindo") == ["entregador"]
    assert said("es", "repartidor respondieron") == ["repartidor"]
    assert said("pt", "comando") == ["comando"]  # a noun so ending
    assert said("pt", "conta Instagram spam Telegram") == ["conta", "instagram", "spam", "telegram"]
    assert said("it", "telecomando Nintendo") == ["telecomando", "nintendo"]
    assert said("pt", "Cancelaram") == []  # a capital says nothing: sentences start with verbs
    # What customers write about stays a topic, in every language, though news treebanks see some
    # of it as verbs or adjectives ("watch", "celular", "queixa").
    service = {
        "en": "order refund delivery package account payment invoice price screen battery watch hold wait mobile",
        "pt": "pedido entrega reembolso conta pagamento fatura preço tela bateria celular queixa",
        "es": "pedido entrega reembolso cuenta pago factura precio pantalla batería queja llamado traslado",
        "it": "ordine consegna rimborso conto pagamento fattura prezzo schermo batteria reclamo",
        "cs": "objednávka dodání vrácení účet platba faktura cena displej baterie poradna",
        "pl": "zamówienie dostawa zwrot konto płatność faktura cena ekran bateria reklamacja",
    }
    for language, nouns in service.items():
        for noun in nouns.split():
            assert said(language, noun) == [fold(noun)], (language, noun)
    for language, nobody in (
        ("en", "nobody"),
        ("pt", "ninguém"),
        ("es", "nadie"),
        ("it", "nessuno"),
        ("cs", "nikdo"),
        ("pl", "nikt"),
    ):
        assert said(language, nobody) == []


def test_a_message_counts_once_per_topic_with_its_sentiment_language_and_a_few_examples() -> None:
    mentions = [Mention(("bateria", "telefone"), "NEGATIVE", "pt", {"c": f"u{n}", "k": f"k{n}"}) for n in range(4)] + [
        Mention(("battery",), "NEGATIVE", "en", {"c": "u9", "k": "k9"})
    ]

    class Battery:
        def topics(self, terms: Sequence[str], languages: object, known: Sequence[str]) -> dict[str, str]:
            return {term: "battery" if term.startswith("bat") else term for term in terms}

    counted = topics.tally(mentions, Battery(), [])
    assert list(counted) == ["battery", "telefone"]
    assert (counted["battery"].n, dict(counted["battery"].languages)) == (5, {"pt": 4, "en": 1})
    assert len(counted["battery"].examples) == topics.EXAMPLES
    again = topics.Tally.from_dict(counted["battery"].to_dict())
    assert again == counted["battery"]
    assert topics.tally(mentions, SameWord(), [])["bateria"].n == 4


def test_trend_is_a_poisson_score_against_the_topics_own_past() -> None:
    assert topics.trend(10, 10.0, 1) == 0.0
    assert topics.trend(30, 10.0, 1) > 3
    assert topics.trend(5, 0.0, 1) == 5 / 1
    assert topics.trend(0, 2.0, 7) < 0


def test_embeddings_join_a_term_to_the_closest_name_and_keep_known_names() -> None:
    vectors = {"battery": [1.0, 0.0], "bateria": [0.99, 0.05], "delivery": [0.0, 1.0], "entrega": [0.3, 0.95]}
    merger = EmbeddingMerger(lambda texts: [vectors[text] for text in texts], similar=0.94)
    # entrega is 0.954 from delivery (a known name): joined; bateria names its topic, battery joins it.
    assert merger.topics(["bateria", "battery", "entrega"], {}, ["delivery"]) == {
        "bateria": "bateria",
        "battery": "bateria",
        "entrega": "delivery",
    }
    assert merger.topics(["bateria"], {}, ["battery"]) == {"bateria": "battery"}  # a known name wins
    strict = EmbeddingMerger(lambda texts: [vectors[text] for text in texts], similar=0.96)
    assert strict.topics(["entrega"], {}, ["delivery"]) == {"entrega": "entrega"}


def test_translation_names_a_topic_in_english_and_keeps_what_cannot_be_translated() -> None:
    asked: list[tuple[tuple[str, ...], str]] = []

    def translate(texts: Sequence[str], source: str, target: str) -> list[str | Exception]:
        asked.append((tuple(texts), source))
        return [{"bateria": "Battery", "baterie": "battery."}.get(text, ValueError("no")) for text in texts]

    merger = TranslationMerger(translate)
    languages = {"bateria": "pt", "baterie": "cs", "battery": "en", "xyz": "pt"}
    assert merger.topics(["bateria", "baterie", "battery", "xyz"], languages, []) == {
        "bateria": "battery", "baterie": "battery", "battery": "battery", "xyz": "xyz",
    }  # fmt: skip
    merger.topics(["bateria"], languages, [])
    assert len(asked) == 2  # one call per language, and a term translated once


def test_a_message_stored_after_its_hours_last_count_is_listed_when_it_arrived() -> None:
    now = datetime(2026, 12, 7, 10, 20, tzinfo=UTC)
    assert late_listing(datetime(2026, 12, 7, 9, 59, tzinfo=UTC), now) is None  # recounted until 12:00
    assert late_listing(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), now) is None
    assert late_listing(datetime(2026, 12, 7, 8, 59, tzinfo=UTC), now) == now  # recounted only until 11:00
    assert late_listing(datetime(2026, 11, 20, 9, tzinfo=UTC), now) == now  # history sent late
    assert late_listing(now + timedelta(hours=1), now) is None  # its hour is still to come


class _Tallies:
    """A topics store in memory whose `erased` answers from a script (one answer per check)."""

    def __init__(self, erasing: list[set[str]]) -> None:
        self.erasing = erasing
        self.checks = 0
        self.saved: dict[datetime, dict[str, topics.Tally]] = {}

    def mentions(self, hour: datetime) -> list[Mention]:
        return [Mention(("battery",), "NEGATIVE", "en", {"c": f"c{n}", "k": f"k{hour:%H}{n}"}) for n in range(2)]

    def mentions_of(self, found: object) -> list[Mention]:
        return []

    def save_hour(self, hour: datetime, tallies: dict[str, topics.Tally], now: datetime) -> None:
        self.saved[hour] = tallies

    def hours(self, day: str) -> list[dict[str, topics.Tally]]:
        return [tallies for hour, tallies in self.saved.items() if hour.strftime("%Y-%m-%d") == day]

    def save_day(self, day: str, tallies: dict[str, topics.Tally], now: datetime) -> None:
        pass

    def days(self, first: str, last: str) -> dict[str, dict[str, topics.Tally]]:
        return {}

    def texts(self, examples: Sequence[dict[str, str]]) -> dict[str, str | None]:
        return {}

    def erased(self, customer_ids: object) -> set[str]:
        self.checks += 1
        return self.erasing.pop(0) if self.erasing else set()


def _count(store: _Tallies) -> None:
    from chalicelib.insight.topic_service import Topics

    Topics(store, SameWord()).count(datetime(2026, 12, 1, 10, 20, tzinfo=UTC))


def test_a_count_writes_again_without_whom_erasures_took_and_checks_each_rewrite() -> None:
    store = _Tallies([{"c0"}])
    _count(store)
    examples = [e["c"] for tallies in store.saved.values() for t in tallies.values() for e in t.examples]
    assert set(examples) == {"c1"}
    assert store.checks == 2  # the rewrite is checked too


def test_a_count_that_keeps_finding_erasures_fails_after_checking_its_last_rewrite() -> None:
    import pytest

    from chalicelib.insight.topic_service import ERASURE_CHECKS, ErasuresMeanwhile

    store = _Tallies([{"c0"}] * (ERASURE_CHECKS + 1))
    with pytest.raises(ErasuresMeanwhile):
        _count(store)
    assert store.checks == ERASURE_CHECKS + 1
    calm = _Tallies([{"c0"}] * ERASURE_CHECKS)
    _count(calm)  # the last rewrite, checked, found nobody more
    assert calm.checks == ERASURE_CHECKS + 1
