"""Queue message bodies: every character survives, and an interaction always fits one message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.queue import MAX_BATCH_BYTES, encode, fit, size
from chalicelib.models.interaction import Author, Interaction, Kind
from chalicelib.ports import MessageTooLarge

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def comment(text: str, name: str = "Ana") -> Interaction:
    return Interaction("facebook", Kind.COMMENT, "1_2", Author("7", None, name), text, T0, T0)


def test_non_ascii_text_is_sent_as_utf8_not_escapes() -> None:
    body = encode(comment("Привет, ваш заказ"))
    assert "Привет" in body
    assert size(body) < len(body) * 2


@pytest.mark.parametrize("character", ["\ud800", "\ufffe", "\uffff", "\x00", "\x1b"])
def test_code_points_sqs_refuses_are_escaped_and_come_back_unchanged(character: str) -> None:
    body = encode(comment(f"a{character}b"))
    assert character not in body
    body.encode("utf-8")  # would raise for a raw lone surrogate
    assert json.loads(body)["text"] == f"a{character}b"


def test_the_longest_facebook_comment_in_cyrillic_fits_untouched() -> None:
    original = comment("ж" * 63_206)
    fitted, body = fit(original)
    assert fitted == original
    assert size(body) <= MAX_BATCH_BYTES


def test_an_interaction_over_the_limit_has_its_text_cut_to_fit_and_says_so() -> None:
    original = comment("😀" * 70_000)
    fitted, body = fit(original)
    assert size(body) <= MAX_BATCH_BYTES
    assert fitted.text_truncated
    assert original.text.startswith(fitted.text)
    assert len(fitted.text) > 60_000
    assert json.loads(body)["text_truncated"] is True


def test_an_interaction_that_cannot_fit_even_without_text_is_refused() -> None:
    with pytest.raises(MessageTooLarge):
        fit(comment("", name="x" * (MAX_BATCH_BYTES + 10)))
