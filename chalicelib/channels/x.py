"""X (Twitter) Account Activity API: CRC handshake, signature, tweets, DMs and likes.

Every delivery is about one subscribed account, `for_user_id`; what that account itself tweets
or sends is the business talking. Its replies to a customer and its DMs are queued as outbound
interactions (they answer cases); its other tweets are skipped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, MalformedPayload, ParseResult, WebhookRequest
from chalicelib.channels.signing import base64_signature, matches
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.ports import SecretReader

SIGNATURE_HEADER = "x-twitter-webhooks-signature"

_TWEET_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"

# Why the CRC check answers so little: its answer, sha256=base64(HMAC(consumer secret, token)), is
# exactly the `x-twitter-webhooks-signature` X puts on a delivery whose body is the token. The route
# needs no authentication, so answering any token would sign whatever an outsider chose: a forged
# delivery passed as the token comes back with a valid signature. The parser accepts only a JSON
# object, whose first character other than blank space is "{". X's tokens are short strings of
# base64 or base64url characters, which include neither "{" nor blank space, so a token of that
# alphabet can never be a body the parser accepts (at most a JSON number, which it refuses as not
# an object). Tokens of any other shape are refused, and so is anything longer than X sends.
CRC_TOKEN_MAX_LENGTH = 256
_CRC_TOKEN = re.compile(rf"[A-Za-z0-9+/_-]{{1,{CRC_TOKEN_MAX_LENGTH}}}={{0,2}}")


def crc_response(crc_token: str | None, consumer_secret: str) -> dict[str, str]:
    """Raises MalformedPayload for a missing token or one of a shape X never sends."""
    if not crc_token:
        raise MalformedPayload("crc_token: required query parameter")
    if not _CRC_TOKEN.fullmatch(crc_token):
        raise MalformedPayload(f"crc_token: at most {CRC_TOKEN_MAX_LENGTH} base64 or base64url characters, as X sends")
    return {"response_token": base64_signature(consumer_secret, crc_token.encode("ascii"))}


def verify(raw_body: bytes, signature: str | None, consumer_secret: str) -> None:
    if not matches(base64_signature(consumer_secret, raw_body), signature):
        raise InvalidSignature(f"{SIGNATURE_HEADER} is missing or does not match the body")


class XChannel:
    name = "x"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        verify(request.body, request.headers.get(SIGNATURE_HEADER), secrets.get("x_consumer_secret"))

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, received_at)


def parse(raw_body: bytes, received_at: datetime) -> ParseResult:
    document = p.load_object(raw_body)
    result = ParseResult()
    present = [key for key in _HANDLERS if document.get(key) is not None]
    if not present:
        # user_event (app revoked) and follow/block/mute/typing/read events: nothing to queue.
        result.skip("not_an_interaction", sum(_count(value) for key, value in document.items() if key != "for_user_id"))
        return result
    # Without it we could not tell the brand's own tweets and DMs from its customers'.
    account_id = p.text(document, "for_user_id", "")
    users = p.opt_obj(document, "users", "") or {}
    for key in present:
        for index, event in enumerate(p.items(document, key, "")):
            result.guard(f"{key}[{index}]", _HANDLERS[key], event, account_id, users, received_at, result)
    for key, value in document.items():
        if key.endswith("_events") and key not in _HANDLERS:
            result.skip("not_an_interaction", _count(value))
    return result


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 1


def _tweet(
    tweet: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    author = _user(p.obj(tweet, "user", path), f"{path}.user")
    parent_id = p.opt_text(tweet, "in_reply_to_status_id_str", path)
    own = author.user_id == account_id
    answered = p.opt_text(tweet, "in_reply_to_user_id_str", path) if own else None
    if own and (parent_id is None or answered is None or answered == account_id):
        result.skip("own")  # the brand's own posts, retweets and threads: nobody answered
        return
    tweet_id = p.text(tweet, "id_str", path) if "id_str" in tweet else p.text(tweet, "id", path)
    retweeted = p.opt_obj(tweet, "retweeted_status", path)
    if retweeted is not None:
        result.add(
            Interaction(
                platform="x",
                kind=Kind.REACTION,
                external_id=tweet_id,
                account_id=account_id,
                parent_id=p.opt_text(retweeted, "id_str", f"{path}.retweeted_status"),
                author=author,
                text="",
                reaction="retweet",
                occurred_at=_tweet_time(tweet, path),
                received_at=received_at,
            )
        )
        return
    lang = _language(p.opt_text(tweet, "lang", path))
    result.add(
        Interaction(
            platform="x",
            direction=Direction.OUTBOUND if own else Direction.INBOUND,
            kind=Kind.REPLY if parent_id else Kind.MENTION,
            external_id=tweet_id,
            account_id=account_id,
            recipient_id=answered,
            parent_id=parent_id,
            author=author,
            text=_full_text(tweet, path),
            language_hint=lang,
            attachments=_media_types(tweet),
            occurred_at=_tweet_time(tweet, path),
            received_at=received_at,
        )
    )


def _direct_message(
    event: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    if event.get("type") != "message_create":
        result.skip("not_an_interaction")
        return
    create = p.obj(event, "message_create", path)
    cpath = f"{path}.message_create"
    sender_id = p.text(create, "sender_id", cpath)
    data = p.obj(create, "message_data", cpath)
    if sender_id == account_id:
        _own_direct_message(event, path, create, data, account_id, received_at, result)
        return
    profile = p.as_obj(users.get(sender_id))
    result.add(
        Interaction(
            platform="x",
            kind=Kind.MESSAGE,
            external_id=p.text(event, "id", path),
            account_id=account_id,
            thread_id=sender_id,
            author=Author(
                user_id=sender_id,
                handle=p.opt_text(profile, "screen_name", f"users.{sender_id}"),
                display_name=p.opt_text(profile, "name", f"users.{sender_id}"),
            ),
            text=p.opt_text(data, "text", f"{cpath}.message_data") or "",
            attachments=_dm_attachments(data),
            occurred_at=p.from_millis(p.number(event, "created_timestamp", path), f"{path}.created_timestamp"),
            received_at=received_at,
        )
    )


def _own_direct_message(
    event: dict[str, Any],
    path: str,
    create: dict[str, Any],
    data: dict[str, Any],
    account_id: str,
    received_at: datetime,
    result: ParseResult,
) -> None:
    """The brand's DM to a customer: the conversation is keyed by the customer, as theirs are."""
    cpath = f"{path}.message_create"
    recipient = p.opt_text(p.opt_obj(create, "target", cpath) or {}, "recipient_id", f"{cpath}.target")
    if not recipient or recipient == account_id:
        result.skip("own")
        return
    result.add(
        Interaction(
            platform="x",
            direction=Direction.OUTBOUND,
            kind=Kind.MESSAGE,
            external_id=p.text(event, "id", path),
            account_id=account_id,
            thread_id=recipient,
            recipient_id=recipient,
            author=Author(user_id=account_id),
            text=p.opt_text(data, "text", f"{cpath}.message_data") or "",
            occurred_at=p.from_millis(p.number(event, "created_timestamp", path), f"{path}.created_timestamp"),
            received_at=received_at,
        )
    )


def _favorite(
    event: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    author = _user(p.obj(event, "user", path), f"{path}.user")
    if author.user_id == account_id:
        result.skip("own")
        return
    favorited = p.obj(event, "favorited_status", path)
    if "timestamp_ms" in event:
        occurred = p.from_millis(p.number(event, "timestamp_ms", path), f"{path}.timestamp_ms")
    else:
        occurred = _parse_tweet_time(p.text(event, "created_at", path), f"{path}.created_at")
    result.add(
        Interaction(
            platform="x",
            kind=Kind.REACTION,
            action=Action.CREATED,
            external_id=p.text(event, "id", path),
            account_id=account_id,
            parent_id=p.opt_text(favorited, "id_str", f"{path}.favorited_status"),
            author=author,
            text="",
            reaction="like",
            occurred_at=occurred,
            received_at=received_at,
        )
    )


def _tweet_delete(
    event: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    """A customer deleted a tweet; its kind is not in the event, so it is filed as a mention."""
    status = p.obj(event, "status", path)
    user_id = p.text(status, "user_id", f"{path}.status")
    if user_id == account_id:
        result.skip("own")
        return
    result.add(
        Interaction(
            platform="x",
            kind=Kind.MENTION,
            action=Action.DELETED,
            external_id=p.text(status, "id", f"{path}.status"),
            account_id=account_id,
            author=Author(user_id=user_id),
            text="",
            occurred_at=p.from_millis(p.number(event, "timestamp_ms", path), f"{path}.timestamp_ms"),
            received_at=received_at,
        )
    )


# X's own codes for "no language": und(etermined), zxx (no linguistic content), and q.. codes
# for tweets of only media links, hashtags, mentions, cashtags or very short text.
_NO_LANGUAGE = frozenset({"und", "zxx"})
_LEGACY_CODES = {"in": "id", "iw": "he"}


def _language(lang: str | None) -> str | None:
    if not lang or lang in _NO_LANGUAGE or (len(lang) == 3 and lang.startswith("q")):
        return None
    return _LEGACY_CODES.get(lang, lang)


def _user(user: dict[str, Any], path: str) -> Author:
    user_id = p.text(user, "id_str", path) if "id_str" in user else p.text(user, "id", path)
    return Author(
        user_id=user_id,
        handle=p.opt_text(user, "screen_name", path),
        display_name=p.opt_text(user, "name", path),
    )


def _full_text(tweet: dict[str, Any], path: str) -> str:
    """Tweets over 140 characters carry the whole text only in `extended_tweet.full_text`."""
    extended = p.opt_obj(tweet, "extended_tweet", path)
    if extended is not None and "full_text" in extended:
        return p.opt_text(extended, "full_text", f"{path}.extended_tweet") or ""
    return p.opt_text(tweet, "full_text", path) or p.opt_text(tweet, "text", path) or ""


def _media_types(tweet: dict[str, Any]) -> tuple[Attachment, ...]:
    """A tweet's media, from `extended_entities` where X gives them (in `entities` an animated GIF
    says `photo`), inside `extended_tweet` for long tweets."""
    source = p.as_obj(tweet.get("extended_tweet")) or tweet
    entities = p.as_obj(source.get("extended_entities") or source.get("entities"))
    media = entities.get("media")
    if not isinstance(media, list):
        return ()
    return tuple(_media(item) for item in media if isinstance(item, dict))


def _dm_attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    attachment = data.get("attachment")
    if not isinstance(attachment, dict):
        return ()
    media = attachment.get("media")
    if isinstance(media, dict):
        return (_media(media),)
    return (Attachment(str(attachment.get("type") or "media")),)


def _media(media: dict[str, Any]) -> Attachment:
    media_id = media.get("id_str") if media.get("id_str") is not None else media.get("id")
    valid = isinstance(media_id, str | int) and not isinstance(media_id, bool)
    return Attachment(str(media.get("type") or "media"), str(media_id) if valid else None)


def _tweet_time(tweet: dict[str, Any], path: str) -> datetime:
    if tweet.get("timestamp_ms") is not None:
        return p.from_millis(p.number(tweet, "timestamp_ms", path), f"{path}.timestamp_ms")
    return _parse_tweet_time(p.text(tweet, "created_at", path), f"{path}.created_at")


def _parse_tweet_time(value: str, path: str) -> datetime:
    try:
        return datetime.strptime(value, _TWEET_TIME_FORMAT).astimezone(UTC)
    except (ValueError, OverflowError):
        raise MalformedPayload(f"{path}: expected a date like 'Wed Oct 10 20:19:24 +0000 2018'") from None


_HANDLERS = {
    "tweet_create_events": _tweet,
    "direct_message_events": _direct_message,
    "favorite_events": _favorite,
    "tweet_delete_events": _tweet_delete,
}
