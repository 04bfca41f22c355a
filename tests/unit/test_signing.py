"""Signature primitives against vectors computed by independent implementations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.channels import generic, meta, telegram, trustpilot, x
from chalicelib.channels.base import HandshakeRejected, InvalidSignature, MalformedPayload
from chalicelib.channels.signing import base64_signature, hex_signature, matches

# Published by GitHub for the same X-Hub-Signature-256 scheme Meta uses.
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# Computed with `openssl dgst -sha256 -hmac ... -binary | base64` (and without -binary for hex).
X_SECRET = "x-consumer-secret"
X_CRC_TOKEN = "challenge-token-123"
X_CRC_RESPONSE = "sha256=CmBvj7AGUxwzCxYJc7XUiLou4CfyXRizZIqjBwI+0Po="
X_BODY = b'{"for_user_id":"1"}'
X_BODY_SIGNATURE = "sha256=hfVR+B7xHXLf2eIjgiQpYAk6I3c21h4ceJtmD/P/7tI="
# printf '1700000000.shopforum.{"events":[]}' | openssl dgst -sha256 -hmac generic-secret
GENERIC_SIGNATURE = "sha256=5ec13f5e76fa7a975382ae867ba27fa000f9cac2db9de5b1592775abc3c1d760"


def test_hex_signature_matches_githubs_published_vector() -> None:
    assert hex_signature(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE


def test_meta_verify_accepts_the_published_vector_and_rejects_any_change() -> None:
    meta.verify(GITHUB_BODY, GITHUB_SIGNATURE, GITHUB_SECRET)
    with pytest.raises(InvalidSignature):
        meta.verify(GITHUB_BODY + b" ", GITHUB_SIGNATURE, GITHUB_SECRET)
    with pytest.raises(InvalidSignature):
        meta.verify(GITHUB_BODY, GITHUB_SIGNATURE.upper(), GITHUB_SECRET)
    with pytest.raises(InvalidSignature):
        meta.verify(GITHUB_BODY, None, GITHUB_SECRET)
    with pytest.raises(InvalidSignature):
        meta.verify(GITHUB_BODY, GITHUB_SIGNATURE, "another secret")


def test_x_crc_response_matches_openssl() -> None:
    assert x.crc_response(X_CRC_TOKEN, X_SECRET) == {"response_token": X_CRC_RESPONSE}
    assert base64_signature(X_SECRET, X_CRC_TOKEN.encode()) == X_CRC_RESPONSE


def test_x_crc_without_token_is_a_bad_request() -> None:
    with pytest.raises(MalformedPayload):
        x.crc_response(None, X_SECRET)


def test_x_verify_matches_openssl() -> None:
    x.verify(X_BODY, X_BODY_SIGNATURE, X_SECRET)
    with pytest.raises(InvalidSignature):
        x.verify(X_BODY.replace(b"1", b"2"), X_BODY_SIGNATURE, X_SECRET)


def test_generic_signature_covers_timestamp_source_and_body() -> None:
    body = b'{"events":[]}'
    assert generic.sign("generic-secret", "1700000000", "shopforum", body) == GENERIC_SIGNATURE
    generic.verify(body, "shopforum", "1700000000", GENERIC_SIGNATURE, "generic-secret", now=1700000000 + 299)
    with pytest.raises(InvalidSignature, match="seconds from now"):
        generic.verify(body, "shopforum", "1700000000", GENERIC_SIGNATURE, "generic-secret", now=1700000000 + 301)
    with pytest.raises(InvalidSignature, match="seconds from now"):
        generic.verify(body, "shopforum", "1700000000", GENERIC_SIGNATURE, "generic-secret", now=1700000000 - 301)
    with pytest.raises(InvalidSignature):
        generic.verify(body, "shopforum", "1700000001", GENERIC_SIGNATURE, "generic-secret", now=1700000000)
    # The timestamp is signed exactly as sent: "01700000000" is a different message.
    with pytest.raises(InvalidSignature):
        generic.verify(body, "shopforum", "01700000000", GENERIC_SIGNATURE, "generic-secret", now=1700000000)
    # A delivery signed for one source is not one for another.
    with pytest.raises(InvalidSignature):
        generic.verify(body, "helpdesk", "1700000000", GENERIC_SIGNATURE, "generic-secret", now=1700000000)


def test_the_old_unbound_generic_signature_is_refused() -> None:
    body = b'{"events":[]}'
    unbound = hex_signature("generic-secret", b"1700000000." + body)  # the first form: no source
    with pytest.raises(InvalidSignature):
        generic.verify(body, "shopforum", "1700000000", unbound, "generic-secret", now=1700000000)


@pytest.mark.parametrize("timestamp", [None, "", "abc", "١٧٠٠٠٠٠٠٠٠", "-5", "1" * 40])
def test_generic_rejects_unusable_timestamps(timestamp: str | None) -> None:
    with pytest.raises(InvalidSignature):
        generic.verify(b"{}", "shopforum", timestamp, "sha256=00", "generic-secret", now=1700000000)


@pytest.mark.parametrize("presented", [None, "", "wrong", "tëlegram", "\ud800", "dev-token "])
def test_token_checks_reject_anything_but_the_exact_token(presented: str | None) -> None:
    with pytest.raises(InvalidSignature):
        telegram.verify(presented, "dev-token")
    with pytest.raises(InvalidSignature):
        trustpilot.verify(presented, "dev-token")


def test_token_checks_accept_the_exact_token() -> None:
    telegram.verify("dev-token", "dev-token")
    trustpilot.verify("dev-token", "dev-token")


def test_an_unset_secret_never_matches() -> None:
    assert not matches("", "")
    assert not matches("", None)


def test_meta_handshake_returns_the_bare_challenge() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "token", "hub.challenge": "1158201444"}
    assert meta.handshake(params, "token") == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "token", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "token"},
    ],
)
def test_meta_handshake_rejects(params: dict[str, str]) -> None:
    with pytest.raises(HandshakeRejected):
        meta.handshake(params, "token")


@pytest.mark.parametrize(
    "token",
    ["NDA5NjYwMjA1NTE3Mjc1NzE3", "ZTBhNjFjYjEtNmEyYy00YjRl+/==", "challenge_token-123", "a" * x.CRC_TOKEN_MAX_LENGTH],
)
def test_x_crc_answers_tokens_of_the_shape_x_sends(token: str) -> None:
    assert x.crc_response(token, X_SECRET) == {"response_token": base64_signature(X_SECRET, token.encode())}


@pytest.mark.parametrize(
    "token",
    [
        '{"for_user_id":"1","tweet_create_events":[]}',
        ' {"for_user_id":"1"}',
        "abc def",
        "abc\n",
        "żółw",
        "a" * (x.CRC_TOKEN_MAX_LENGTH + 1),
        "abc===",
        "=abc",
    ],
)
def test_x_crc_refuses_anything_else(token: str) -> None:
    """A JSON delivery passed as the token would come back signed: the oracle the check must not be."""
    with pytest.raises(MalformedPayload):
        x.crc_response(token, X_SECRET)


@given(token=st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9+/_=\-{}\[\]\":, 0-9]{0,80}", fullmatch=True))
def test_no_crc_answer_signs_a_body_the_x_parser_accepts(token: str) -> None:
    try:
        answer = x.crc_response(token, X_SECRET)["response_token"]
    except MalformedPayload:
        return
    x.verify(token.encode(), answer, X_SECRET)  # the answer is the signature of that body...
    with pytest.raises(MalformedPayload):  # ...which is therefore never a delivery we would read
        x.parse(token.encode(), datetime.now(UTC))
