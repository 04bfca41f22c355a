"""The Interaction model: lossless round trips and idempotency keys."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.queue import encode
from chalicelib.models.interaction import Action, Attachment, Author, Interaction, Kind
from chalicelib.models.text import well_formed

T0 = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)


def interaction(**changes: object) -> Interaction:
    values: dict[str, object] = {
        "platform": "telegram",
        "kind": Kind.MESSAGE,
        "external_id": "100:7",
        "author": Author("42", "ana", "Ana"),
        "text": "oi",
        "occurred_at": T0,
        "received_at": T0 + timedelta(seconds=1),
    }
    values.update(changes)
    return Interaction(**values)  # type: ignore[arg-type]


def test_idempotency_key_is_stable_per_event_and_new_per_edit() -> None:
    assert interaction().idempotency_key == "telegram:100:7"
    assert interaction(received_at=T0 + timedelta(hours=1)).idempotency_key == "telegram:100:7"
    first = interaction(action=Action.EDITED, edited_at=T0 + timedelta(minutes=1))
    second = interaction(action=Action.EDITED, edited_at=T0 + timedelta(minutes=2))
    assert first.idempotency_key == f"telegram:100:7:edited:{int((T0 + timedelta(minutes=1)).timestamp() * 1000)}"
    assert first.idempotency_key != second.idempotency_key
    assert interaction(action=Action.DELETED).idempotency_key == "telegram:100:7:deleted"


def test_pending_mentions_have_no_author_and_survive_a_round_trip() -> None:
    pending = interaction(author=None, text="", text_pending=True, kind=Kind.MENTION)
    assert Interaction.from_dict(pending.to_dict()) == pending


# Text exactly as platforms may send it: any code point, lone surrogates and U+2028 included.
texts = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)


@given(text=texts, title=st.none() | texts, rating=st.none() | st.floats(0, 5))
def test_every_text_survives_the_queue_encoding_unchanged(text: str, title: str | None, rating: float | None) -> None:
    original = interaction(text=text, title=title, rating=rating, attachments=(Attachment("image", "m-1"),))
    body = encode(original)
    body.encode("utf-8")  # raw lone surrogates would raise here
    assert not any(0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff" for c in body)
    decoded = json.loads(body)
    assert (decoded["text"], decoded["title"]) == (text, title)  # the queue carries them exactly
    # The processor's decoding keeps every character; a lone surrogate, being none, becomes U+FFFD.
    expected = replace(original, text=well_formed(text), title=None if title is None else well_formed(title))
    assert Interaction.from_dict(decoded) == expected


def test_attachments_queued_before_media_ids_were_kept_still_decode() -> None:
    queued = interaction(attachments=(Attachment("photo", "f-1"),)).to_dict()
    assert Interaction.from_dict(queued).attachments == (Attachment("photo", "f-1"),)
    older = {**queued, "attachments": ["photo", "location"]}  # what the queue held before
    assert Interaction.from_dict(older).attachments == (Attachment("photo"), Attachment("location"))
    for wrong in ([{"media_id": "x"}], [3], "photo"):
        with pytest.raises((KeyError, TypeError)):
            Interaction.from_dict({**queued, "attachments": wrong})
