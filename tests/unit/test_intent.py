"""The intent classifier's rules, case by case (its accuracy is measured on the labelled posts in
tests/integration/test_local_analyzer.py)."""

from __future__ import annotations

import json

import pytest

from chalicelib.models.decision import Intent
from chalicelib.rules.intent import IntentClassifier, IntentInput, classify
from chalicelib.rules.intent_words import COUNTS_PATH, public_model
from tools.nlp.intent_corpora import EVAL_PATH, TRAIN_PATH, read
from tools.nlp.train_intent import PUBLIC_LABELS, post_files, posts_digest

NEGATIVE = {"POSITIVE": 0.02, "NEGATIVE": 0.9, "NEUTRAL": 0.05, "MIXED": 0.03}
POSITIVE = {"POSITIVE": 0.9, "NEGATIVE": 0.02, "NEUTRAL": 0.05, "MIXED": 0.03}
NEUTRAL = {"POSITIVE": 0.05, "NEGATIVE": 0.05, "NEUTRAL": 0.88, "MIXED": 0.02}
CUES_ONLY = IntentClassifier(None)


def facts(
    text: str, language: str | None = "en", scores: dict[str, float] | None = None, **extra: object
) -> IntentInput:
    return IntentInput(text, language, None, scores or NEUTRAL, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language", "scores", "intent"),
    [
        ("I want to cancel my subscription, worst service ever", "en", NEGATIVE, Intent.CANCEL_INTENT),
        ("quero cancelar meu plano, péssimo atendimento", "pt", NEGATIVE, Intent.CANCEL_INTENT),
        ("quero cancelar meu plano, pessimo atendimento", "pt", NEGATIVE, Intent.CANCEL_INTENT),  # no diacritics
        ("Chcę zrezygnować z abonamentu", "pl", NEUTRAL, Intent.CANCEL_INTENT),
        ("how much is the family plan per year?", "en", NEUTRAL, Intent.PURCHASE_INTENT),
        ("¿Cuánto cuesta la tarifa de fibra?", "es", NEUTRAL, Intent.PURCHASE_INTENT),
        ("Kolik stojí roční předplatné?", "cs", NEUTRAL, Intent.PURCHASE_INTENT),
        ("what time do you open on Sundays?", "en", NEUTRAL, Intent.QUESTION),
        ("La palestra è aperta il 25 aprile?", "it", NEUTRAL, Intent.QUESTION),
        ("my order still hasn't arrived after two weeks", "en", NEGATIVE, Intent.COMPLAINT),
        ("why is my parcel still not here??", "en", NEGATIVE, Intent.COMPLAINT),  # a complaint, asked
        ("Zamówienie nadal nie dotarło, skandal", "pl", NEGATIVE, Intent.COMPLAINT),
        ("thank you so much, the team was amazing!", "en", POSITIVE, Intent.PRAISE),
        ("Děkuji, skvělá obsluha", "cs", POSITIVE, Intent.PRAISE),
        ("earn $500 a day from home, link in bio 💰", "en", NEUTRAL, Intent.SPAM),
        ("happy friday everyone", "en", NEUTRAL, Intent.OTHER),
    ],
)
def test_cue_lexicon_alone_reads_the_obvious_cases(
    text: str, language: str, scores: dict[str, float], intent: Intent
) -> None:
    assert CUES_ONLY.classify(facts(text, language, scores)).label is intent


def test_a_review_rating_speaks_when_the_words_do_not() -> None:
    assert CUES_ONLY.classify(facts("Meh.", rating=1.0)).label is Intent.COMPLAINT
    assert CUES_ONLY.classify(facts("Meh.", rating=5.0)).label is Intent.PRAISE
    assert "rating 1" in CUES_ONLY.classify(facts("Meh.", rating=1.0)).reasons


def test_nothing_to_read_is_other_and_certain() -> None:
    result = classify(facts("   "))
    assert (result.label, result.confidence, result.reasons) == (Intent.OTHER, 1.0, ("no text",))


def test_reasons_name_the_evidence_but_never_digits_of_the_post() -> None:
    result = CUES_ONLY.classify(facts("cancel order 90311 please, ordered by mistake", scores=NEGATIVE))
    assert result.label is Intent.CANCEL_INTENT
    assert any("cancel order" in reason for reason in result.reasons)
    assert not any(char.isdigit() for reason in result.reasons for char in reason.split("sentiment")[0])


def test_confidence_grows_with_evidence() -> None:
    weak = CUES_ONLY.classify(facts("pricing for teams"))
    strong = CUES_ONLY.classify(facts("how much is it? I want to buy two, send me the price for 2"))
    assert weak.label is strong.label is Intent.PURCHASE_INTENT
    assert 0 < weak.confidence < strong.confidence <= 1


def test_an_unknown_language_is_read_with_every_lexicon() -> None:
    assert CUES_ONLY.classify(facts("Quanto custa?", language=None)).label is Intent.PURCHASE_INTENT
    assert CUES_ONLY.classify(facts("Quanto custa?", language="xx")).label is Intent.PURCHASE_INTENT


def test_learned_words_add_evidence_and_say_which() -> None:
    result = classify(facts("Ile kosztuje abonament rodzinny?", "pl"))
    assert result.label is Intent.PURCHASE_INTENT
    assert any(reason.startswith("learned words") for reason in result.reasons)


def test_the_word_counts_were_trained_from_the_posts_in_the_repository() -> None:
    """Change a post file or the public train split (tools/nlp/data/intent-train.jsonl.gz) and
    forget `python -m tools.nlp.train_intent`, and this fails."""
    assert json.loads(COUNTS_PATH.read_text(encoding="utf-8"))["posts_sha256"] == posts_digest()


@pytest.mark.parametrize(
    ("text", "private"),
    [
        ("please cancel jane.doe@mail.com 555123 subscription today", ("jane", "doe@", "555123", "###")),
        ("cancel Kowalczykowa's membership right now", ("kowalczykowa",)),
    ],
)
def test_reasons_quote_cue_words_never_what_sits_between_them(text: str, private: tuple[str, ...]) -> None:
    """A cue can span free text ("cancel ... subscription"): reasons travel in events and alert
    e-mails, so only words learned from the labelled posts are quoted."""
    result = classify(IntentInput(text=text, language="en"))
    assert result.label is Intent.CANCEL_INTENT
    quoted = [reason for reason in result.reasons if reason.startswith("words (")]
    assert any("cancel ..." in reason for reason in quoted), result.reasons
    for reason in result.reasons:
        for secret in private:
            assert secret not in reason.lower(), reason


def test_the_issue_example_is_a_purchase() -> None:
    text = "We'd like to buy 40 licences for our team, could you send a quote?"
    for scores in (NEUTRAL, POSITIVE):
        assert classify(facts(text, scores=scores)).label is Intent.PURCHASE_INTENT


def test_a_real_airline_complaint_is_a_complaint_and_the_public_words_say_so() -> None:
    result = classify(
        facts("@united 3 hours on the tarmac and now my bag is lost. No one at the desk", scores=NEGATIVE)
    )
    assert result.label is Intent.COMPLAINT
    assert any(reason.startswith("words of public posts") for reason in result.reasons), result.reasons


def test_the_public_english_words_speak_only_for_english_posts() -> None:
    result = classify(facts("Zamówienie nadal nie dotarło, skandal", "pl", NEGATIVE))
    assert not any("public" in reason for reason in result.reasons), result.reasons


def test_reasons_never_quote_a_word_only_the_public_data_taught() -> None:
    """The public rows hold first names ("... for david at olive garden"): the public
    model knows them, but a reason quotes only words of the hand-written posts."""
    public = public_model()
    assert public is not None
    assert "david" in public.log_likelihood
    assert "david" not in public.quotable
    result = classify(facts("cancel my reservation for david at olive garden"))
    assert result.label is Intent.CANCEL_INTENT
    assert not any("david" in reason for reason in result.reasons), result.reasons


def test_the_public_data_splits_are_apart_and_only_the_train_split_is_trained_on() -> None:
    train, held_out = read(TRAIN_PATH), read(EVAL_PATH)
    assert not {row.text.lower() for row in train} & {row.text.lower() for row in held_out}
    assert {row.intent for row in train} == {row.intent for row in held_out} == set(PUBLIC_LABELS)
    assert TRAIN_PATH in post_files()
    assert EVAL_PATH not in post_files()
    assert {row.source for row in held_out} >= {"airline", "banking77", "clinc", "bitext"}


def test_a_number_the_hand_written_posts_hold_is_still_never_quoted() -> None:
    """Reasons quote cue words, never numbers (an order or phone number): the words learned from
    the public rows are held to the same rule as the cue lexicon's matches."""
    from chalicelib.rules.intent import _quotable

    public = public_model()
    assert public is not None
    assert "1000" in public.quotable
    assert "cancel" in public.quotable
    assert not _quotable("1000", public)
    assert not _quotable("cancel 1000", public)
    assert _quotable("cancel my", public)
