"""X (Twitter): CRC handshake, signature, and the two kinds of delivery X posts to a webhook.

The Account Activity API (AAA) posts `{"for_user_id": ..., "<kind>_events": [...]}`, every event
about the subscribed account `for_user_id`. The X Activity API (XAA), which replaces it, posts one
event per delivery, `{"data": {"event_type", "filter": {"user_id"}, "payload", "includes"}}`, about
the user its subscription filters on. Both sign the body the same way and share the CRC check.

What that account itself posts or sends is the business talking: its replies to a customer and its
DMs are queued as outbound interactions (they answer cases); its other posts, likes and deletions
are skipped as `own`. A body of neither shape, or an event X has not documented to us, is `unknown`
(kept whole for a replay and alarmed), never a 400: X gives up on a delivery it cannot make, and a
400 would lose it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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
    """Only a JSON object is read (`load_object`): the CRC answer can never sign one (see above)."""
    document = p.load_object(raw_body)
    result = ParseResult()
    activity = document.get("data")
    if isinstance(activity, dict) and "event_type" in activity:
        result.guard("data", _activity_event, activity, received_at, result)
    else:
        _account_activity(document, received_at, result)
    return result


# ---------------------------------------------------------------------------------------------
# Account Activity API

# Keys that describe the delivery rather than carry events: the subscribed account, whether it
# blocks the author of a mention (`user_has_blocked`, a boolean or "false"; `is_blocked_by`), and
# the profiles and apps that DM events refer to by id.
_AAA_ENVELOPE = frozenset({"for_user_id", "user_has_blocked", "is_blocked_by", "users", "apps", "source", "target"})

# Documented events that carry nothing a customer wrote: follows, blocks and mutes and their undoing
# (X sends unfollows inside `follow_events`, but documents the `un...` keys too), typing indicators,
# read receipts, and `user_event` (a user revoked the app's access; it has no for_user_id).
_AAA_NOT_INTERACTIONS = frozenset(
    {
        "follow_events",
        "unfollow_events",
        "block_events",
        "unblock_events",
        "mute_events",
        "unmute_events",
        "direct_message_indicate_typing_events",
        "direct_message_mark_read_events",
        "user_event",
    }
)


def _account_activity(document: dict[str, Any], received_at: datetime, result: ParseResult) -> None:
    present = [key for key in _AAA_HANDLERS if document.get(key) is not None]
    recognised = bool(present)
    if present:
        # Without it we could not tell the brand's own tweets and DMs from its customers'. X puts it
        # on every event about an account, so a body with such events and without it is not X's.
        account_id = p.text(document, "for_user_id", "")
        users = p.as_obj(document.get("users"))
        for key in present:
            for index, event in enumerate(_listed(document[key])):
                result.guard(f"{key}[{index}]", _AAA_HANDLERS[key], event, account_id, users, received_at, result)
    for key, value in document.items():
        if key in _AAA_HANDLERS or key in _AAA_ENVELOPE:
            continue
        if key in _AAA_NOT_INTERACTIONS:
            recognised = True
            result.skip("not_an_interaction", _count(value))
        elif key == "replay_job_status":
            recognised = True
            _replay_job_status(value, result)
        elif key.endswith(("_events", "_event")):
            recognised = True  # a kind of event X has added since: it may carry customers' words
            result.skip("unknown", _count(value), detail=f"{key}: an event kind not handled")
    if not recognised:
        result.skip("unknown", detail="the body is neither an Account Activity nor an X Activity delivery")


def _replay_job_status(value: Any, result: ParseResult) -> None:
    """X's report that a replay job we asked for has finished (the replay itself arrives as ordinary
    events). Nobody wrote it, and it is documented, so `not_an_interaction` rather than `unknown`: a
    kept copy would read the same on every replay, and the alarm would ring for every finished job.
    An `Incomplete` job did not deliver everything and only a new replay job recovers that: it is
    reported in the log by name."""
    incomplete = p.as_obj(value).get("job_state") == "Incomplete"
    detail = "replay_job_status.job_state: Incomplete: X asks for the replay job to be requested again"
    result.skip("not_an_interaction", detail=detail if incomplete else None)


def _tweet(
    tweet: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    """A tweet by, mentioning, replying to, quoting or retweeting the account (X sends them all as
    `tweet_create_events`). A reply is a tweet with `in_reply_to_status_id`: a tweet that merely
    starts with `@account` has `in_reply_to_user_id` = the account and no status id, a mention. A
    quote tweet is a mention too: it answers no tweet, so it has no parent."""
    retweeted = p.opt_obj(tweet, "retweeted_status", path)
    text, truncated, media = _tweet_text(tweet)
    _add_post(
        _Post(
            post_id=_id(tweet, "id", path),
            author=_user(p.obj(tweet, "user", path), f"{path}.user"),
            text=text,
            text_truncated=truncated,
            language=_language(_string(tweet.get("lang"))),
            attachments=tuple(_media(item) for item in media),
            occurred_at=_tweet_time(tweet, path),
            parent_id=_opt_id(tweet, "in_reply_to_status_id"),
            replied_user_id=_opt_id(tweet, "in_reply_to_user_id"),
            repost=retweeted is not None,
            reposted_id=_opt_id(retweeted, "id") if retweeted is not None else None,
        ),
        account_id,
        received_at,
        result,
    )


def _direct_message(
    event: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    if event.get("type") != "message_create":  # the only type X documents in direct_message_events
        result.skip("unknown", detail=f"{path}.type: a direct message event type not handled")
        return
    create = p.obj(event, "message_create", path)
    cpath = f"{path}.message_create"
    sender_id = p.text(create, "sender_id", cpath)
    data = p.obj(create, "message_data", cpath)
    occurred = p.from_millis(p.number(event, "created_timestamp", path), f"{path}.created_timestamp")
    if sender_id == account_id:
        _own_direct_message(event, path, create, data, account_id, occurred, received_at, result)
        return
    handle, name = _profile(users.get(sender_id))
    result.add(
        Interaction(
            platform="x",
            kind=Kind.MESSAGE,
            external_id=p.text(event, "id", path),
            account_id=account_id,
            thread_id=sender_id,
            author=Author(user_id=sender_id, handle=handle, display_name=name),
            text=_dm_text(data),
            attachments=_dm_attachments(data),
            occurred_at=occurred,
            received_at=received_at,
        )
    )


def _own_direct_message(
    event: dict[str, Any],
    path: str,
    create: dict[str, Any],
    data: dict[str, Any],
    account_id: str,
    occurred: datetime,
    received_at: datetime,
    result: ParseResult,
) -> None:
    """The brand's DM to a customer (`sender_id` is the account; `source_app_id` and the `apps` map
    name the client it used): the conversation is keyed by the customer, as theirs are."""
    cpath = f"{path}.message_create"
    recipient = p.opt_text(p.opt_obj(create, "target", cpath) or {}, "recipient_id", f"{cpath}.target")
    if not recipient or recipient == account_id:
        result.skip("own")  # a note to itself, or a recipient X did not name: nobody to answer
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
            text=_dm_text(data),
            attachments=_dm_attachments(data),
            occurred_at=occurred,
            received_at=received_at,
        )
    )


def _favorite(
    event: dict[str, Any], path: str, account_id: str, users: dict[str, Any], received_at: datetime, result: ParseResult
) -> None:
    author = _user(p.obj(event, "user", path), f"{path}.user")
    if author.user_id == account_id:
        result.skip("own")  # the account liked someone's tweet
        return
    favorited = p.obj(event, "favorited_status", path)
    if event.get("timestamp_ms") is not None:  # a JSON number here, unlike a tweet's string
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
            parent_id=_opt_id(favorited, "id"),
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
        result.skip("own")  # the account deleted one of its own tweets
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


_AAA_HANDLERS: dict[str, Callable[..., None]] = {
    "tweet_create_events": _tweet,
    "direct_message_events": _direct_message,
    "favorite_events": _favorite,
    "tweet_delete_events": _tweet_delete,
}


# ---------------------------------------------------------------------------------------------
# X Activity API: one event per delivery, about the user in `filter.user_id`. (`tag` is a label of
# the subscriber's own choosing, so it says nothing reliable about whose activity this is.)

# Documented events that carry nothing a customer wrote: follows, mutes and blocks and their undoing,
# read receipts and typing indicators, joining an encrypted conversation, Grok news, Spaces and
# live broadcasts starting or ending, a user revoking the app (its `filter` is empty), and the
# `profile.update.*` family (the filtered user's own profile, before and after).
_XAA_NOT_INTERACTIONS = frozenset(
    {
        "follow.follow",
        "follow.unfollow",
        "mute.mute",
        "mute.unmute",
        "block.block",
        "block.unblock",
        "dm.read",
        "dm.indicate_typing",
        "chat.conversation_join",
        "news.new",
        "spaces.start",
        "spaces.end",
        "broadcast.start",
        "broadcast.end",
        "oauth.revoke",
    }
)
# XChat messages arrive end-to-end encrypted (`encoded_event`, opened only by X's chat libraries
# with the user's keys): a message we cannot read, not one that does not exist. `unknown`, so the
# delivery is kept for a replay once they can be read.
_XAA_ENCRYPTED = frozenset({"chat.received", "chat.sent"})


def _activity_event(data: dict[str, Any], path: str, received_at: datetime, result: ParseResult) -> None:
    event_type = p.text(data, "event_type", path)
    reader = _XAA_READERS.get(event_type)
    if reader is not None:
        account_id = p.opt_text(p.as_obj(data.get("filter")), "user_id", f"{path}.filter")
        if not account_id:
            raise MalformedPayload(f"{path}.filter.user_id: needed to tell the account's own activity from others'")
        reader(data, path, account_id, received_at, result)
    elif event_type in _XAA_ENCRYPTED:
        result.skip("unknown", detail=f"{path}.event_type: {event_type}: an encrypted XChat message, not readable")
    elif event_type in _XAA_NOT_INTERACTIONS or event_type.startswith("profile.update."):
        result.skip("not_an_interaction")
    else:
        result.skip("unknown", detail=f"{path}.event_type: not handled: {event_type[:80]!r}")


def _activity_post(
    data: dict[str, Any], path: str, account_id: str, received_at: datetime, result: ParseResult
) -> None:
    """A v2 Post: `post.create` (the account's own), `post.mention.create`, `post.reply.create`,
    `post.quote.create` and `post.repost.create` (others'). What it is comes from the Post itself,
    not the event name: a reply that also names the account may arrive as a reply and as a mention,
    and both must become the same interaction."""
    ppath = f"{path}.payload"
    post = p.obj(data, "payload", path)
    includes = p.as_obj(data.get("includes"))
    references = _references(post)
    # Posts longer than 280 characters carry their whole text in `note_tweet`.
    note = p.as_obj(post.get("note_tweet"))
    source = note if isinstance(note.get("text"), str) else post
    links = [
        url["url"]
        for url in _dicts(p.as_obj(source.get("entities")).get("urls"))
        if url.get("media_key") and isinstance(url.get("url"), str)
    ]
    author_id = p.text(post, "author_id", ppath)
    handle, name = _included_user(includes, author_id)
    _add_post(
        _Post(
            post_id=p.text(post, "id", ppath),
            author=Author(user_id=author_id, handle=handle, display_name=name),
            text=_unescape(_without_trailing_link(_string(source.get("text")) or "", links)),
            text_truncated=False,
            language=_language(_string(post.get("lang"))),
            attachments=_included_media(post, includes),
            occurred_at=p.from_iso(p.text(post, "created_at", ppath), f"{ppath}.created_at"),
            parent_id=_digits(post.get("in_reply_to_tweet_id")) or references.get("replied_to"),
            replied_user_id=_digits(post.get("in_reply_to_user_id")),
            repost="retweeted" in references,
            reposted_id=references.get("retweeted"),
        ),
        account_id,
        received_at,
        result,
    )


def _activity_post_delete(
    data: dict[str, Any], path: str, account_id: str, received_at: datetime, result: ParseResult
) -> None:
    """The filtered user deleted a Post (X documents no other). The event carries no time: it is
    delivered within a second, so its arrival stands in for when it happened."""
    ppath = f"{path}.payload"
    payload = p.obj(data, "payload", path)
    author_id = p.text(payload, "author_id", ppath)
    if author_id == account_id:
        result.skip("own")
        return
    result.add(
        Interaction(
            platform="x",
            kind=Kind.MENTION,
            action=Action.DELETED,
            external_id=p.text(payload, "id", ppath),
            account_id=account_id,
            author=Author(user_id=author_id),
            text="",
            occurred_at=received_at,
            received_at=received_at,
        )
    )


def _activity_like(
    data: dict[str, Any], path: str, account_id: str, received_at: datetime, result: ParseResult
) -> None:
    """The payload names the liked Post and its author, never who liked it. With `filter.direction`
    "outbound" (or, without a direction, a Post by someone else) the liker is the filtered user: the
    account liking a Post, `own`. A like of the account's own Post is a customer's reaction, but X
    documents no field naming the customer: `unknown`, kept until a real one shows where it is."""
    payload = p.obj(data, "payload", path)
    direction = p.as_obj(data.get("filter")).get("direction")
    liked_author = _digits(payload.get("liked_tweet_author_id"))
    if direction == "outbound" or (direction is None and liked_author is not None and liked_author != account_id):
        result.skip("own")
        return
    result.skip("unknown", detail=f"{path}.payload: a like of the account's Post, whose liker X does not document")


def _activity_direct_messages(
    data: dict[str, Any], path: str, account_id: str, received_at: datetime, result: ParseResult
) -> None:
    """`dm.received` and `dm.sent` carry the Account Activity shape (`direct_message_events`, a
    `users` map, each profile wrapped in `data`), read as Account Activity DMs are."""
    payload = p.obj(data, "payload", path)
    ppath = f"{path}.payload"
    users = p.as_obj(payload.get("users"))
    for index, event in enumerate(_listed(payload.get("direct_message_events"))):
        epath = f"{ppath}.direct_message_events[{index}]"
        result.guard(epath, _direct_message, event, account_id, users, received_at, result)


def _activity_broadcast_chat(
    data: dict[str, Any], path: str, account_id: str, received_at: datetime, result: ParseResult
) -> None:
    """Someone wrote in the chat of the account's live broadcast: a comment on it, the broadcast its
    thread. The event carries no time: it is delivered within a second, so its arrival stands in."""
    ppath = f"{path}.payload"
    payload = p.obj(data, "payload", path)
    author = _unwrapped(p.obj(payload, "author", ppath))
    author_id = p.text(author, "id", f"{ppath}.author")
    if author_id == account_id:
        result.skip("own")  # the account writing in its own broadcast's chat
        return
    handle, name = _profile(author)
    result.add(
        Interaction(
            platform="x",
            kind=Kind.COMMENT,
            external_id=p.text(payload, "message_id", ppath),
            account_id=account_id,
            thread_id=_digits(payload.get("broadcast_id")),
            author=Author(user_id=author_id, handle=handle, display_name=name),
            text=_string(payload.get("message")) or "",
            occurred_at=received_at,
            received_at=received_at,
        )
    )


_XAA_READERS: dict[str, Callable[[dict[str, Any], str, str, datetime, ParseResult], None]] = {
    "post.create": _activity_post,
    "post.mention.create": _activity_post,
    "post.reply.create": _activity_post,
    "post.quote.create": _activity_post,
    "post.repost.create": _activity_post,
    "post.delete": _activity_post_delete,
    "like.create": _activity_like,
    "dm.received": _activity_direct_messages,
    "dm.sent": _activity_direct_messages,
    "broadcast.chat": _activity_broadcast_chat,
}


def _references(post: dict[str, Any]) -> dict[str, str]:
    """`referenced_tweets` by type: replied_to, quoted, retweeted."""
    found: dict[str, str] = {}
    for reference in _dicts(post.get("referenced_tweets")):
        kind, target = reference.get("type"), _digits(reference.get("id"))
        if isinstance(kind, str) and target is not None:
            found.setdefault(kind, target)
    return found


def _included_user(includes: dict[str, Any], user_id: str) -> tuple[str | None, str | None]:
    """The handle and name of a user in `includes.users` (plain v2 users, or each wrapped in `data`)."""
    for user in _dicts(includes.get("users")):
        user = _unwrapped(user)
        if _digits(user.get("id")) == user_id:
            return _profile(user)
    return None, None


def _included_media(post: dict[str, Any], includes: dict[str, Any]) -> tuple[Attachment, ...]:
    """A v2 Post's media: `attachments.media_keys`, typed by `includes.media`. A media key is
    "<kind>_<media id>"; the media id is what X's media endpoints take."""
    types: dict[str, str] = {}
    for media in _dicts(includes.get("media")):
        media = _unwrapped(media)
        key, kind = media.get("media_key"), media.get("type")
        if isinstance(key, str) and isinstance(kind, str) and kind:
            types[key] = kind
    found = []
    for key in p.as_obj(post.get("attachments")).get("media_keys") or ():
        if isinstance(key, str) and key:
            _, _, media_id = key.partition("_")
            found.append(Attachment(types.get(key, "media"), media_id if media_id.isdigit() else key))
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Shared


@dataclass(frozen=True)
class _Post:
    """A tweet as both APIs describe it, before deciding whose it is and what it answers."""

    post_id: str
    author: Author
    text: str
    text_truncated: bool
    language: str | None
    attachments: tuple[Attachment, ...]
    occurred_at: datetime
    parent_id: str | None  # the tweet it replies to
    replied_user_id: str | None  # the author of that tweet
    repost: bool
    reposted_id: str | None


def _add_post(post: _Post, account_id: str, received_at: datetime, result: ParseResult) -> None:
    """Tweets carry no thread_id: a customer's tweets and the brand's replies to them meet in the
    customer's conversation with the account. (v2's `conversation_id` is not used: the Account
    Activity API does not give it, and a reply arriving through one API must find the case opened
    from the other.)"""
    own = post.author.user_id == account_id
    if own and (post.repost or post.parent_id is None or post.replied_user_id in (None, account_id)):
        result.skip("own")  # the brand's own posts, retweets, self-mentions and threads: nobody answered
        return
    if post.repost:  # a customer retweeting the account's tweet: a reaction to it, as a like is
        result.add(
            Interaction(
                platform="x",
                kind=Kind.REACTION,
                external_id=post.post_id,
                account_id=account_id,
                parent_id=post.reposted_id,
                author=post.author,
                text="",
                reaction="retweet",
                occurred_at=post.occurred_at,
                received_at=received_at,
            )
        )
        return
    result.add(
        Interaction(
            platform="x",
            direction=Direction.OUTBOUND if own else Direction.INBOUND,
            kind=Kind.REPLY if post.parent_id else Kind.MENTION,
            external_id=post.post_id,
            account_id=account_id,
            recipient_id=post.replied_user_id if own else None,
            parent_id=post.parent_id,
            author=post.author,
            text=post.text,
            text_truncated=post.text_truncated,
            language_hint=post.language,
            attachments=post.attachments,
            occurred_at=post.occurred_at,
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
    """A v1.1 user. Follow events serialise users differently (`id` a string, no `id_str`)."""
    handle, name = _profile(user)
    return Author(user_id=_id(user, "id", path), handle=handle, display_name=name)


def _profile(user: Any) -> tuple[str | None, str | None]:
    """Handle and display name from a v1.1 user, a `users` map entry, or a v2 user (`username`, and
    wrapped in `data` in X Activity deliveries). Optional: a profile field of another type is left
    out rather than costing the customer's message."""
    user = _unwrapped(p.as_obj(user))
    return _string(user.get("screen_name")) or _string(user.get("username")), _string(user.get("name"))


def _unwrapped(value: dict[str, Any]) -> dict[str, Any]:
    inner = value.get("data")
    return inner if isinstance(inner, dict) else value


def _tweet_text(tweet: dict[str, Any]) -> tuple[str, bool, list[dict[str, Any]]]:
    """The whole text, whether it is cut short, and the media of a v1.1 tweet.

    Tweets over 140 characters (`truncated`) carry the whole text, its entities and media only in
    `extended_tweet`. Media come from `extended_entities` where X gives them (in `entities` an
    animated GIF says `photo`, and only the first of several photos is listed)."""
    extended = p.as_obj(tweet.get("extended_tweet"))
    truncated = False
    if isinstance(extended.get("full_text"), str):
        source, text = extended, extended["full_text"]
    elif isinstance(tweet.get("full_text"), str):
        source, text = tweet, tweet["full_text"]
    else:
        source, text = tweet, _string(tweet.get("text")) or ""
        truncated = tweet.get("truncated") is True
    entities = p.as_obj(source.get("extended_entities")) or p.as_obj(source.get("entities"))
    media = _dicts(entities.get("media"))
    links = [item["url"] for item in media if isinstance(item.get("url"), str)]
    return _unescape(_without_trailing_link(text, links)), truncated, media


def _unescape(text: str) -> str:
    """Tweet text comes HTML-escaped (`&amp;`, `&lt;`, `&gt;`, and nothing else); what the customer
    typed is the unescaped text. `&amp;` goes last, so a typed "&lt;" (sent "&amp;lt;") survives."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _without_trailing_link(text: str, links: list[str]) -> str:
    """The text without the t.co link X appends for attached media (a tweet's photos, a DM's media:
    it expands to the tweet's /photo/1 or to twitter.com/messages/media/<dm id>). It is X's pointer
    to the attachment, which is kept as such with its media id, not the customer's words: with it, a
    message of only a photo would read as a link (X writes it as " https://t.co/..." after empty text).
    Links the customer typed stay; only the media link, where X puts it, at the end, is cut."""
    trimmed = text.rstrip()
    for link in links:
        if link and trimmed.endswith(link):
            return trimmed[: -len(link)].rstrip()
    return text


def _dm_text(data: dict[str, Any]) -> str:
    """A DM's text without the link to its media (see `_without_trailing_link`). A quick reply's
    text is the option the customer chose, and is kept; its `metadata` is the bot's own."""
    media = p.as_obj(p.as_obj(data.get("attachment")).get("media"))
    link = media.get("url")
    return _without_trailing_link(_string(data.get("text")) or "", [link] if isinstance(link, str) else [])


def _dm_attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    attachment = data.get("attachment")
    if not isinstance(attachment, dict):
        return ()
    media = attachment.get("media")
    if isinstance(media, dict):
        return (_media(media),)
    return (Attachment(_string(attachment.get("type")) or "media"),)


def _media(media: dict[str, Any]) -> Attachment:
    media_id = _digits(media.get("id_str")) or _digits(media.get("id"))
    return Attachment(_string(media.get("type")) or "media", media_id)


def _id(parent: dict[str, Any], key: str, path: str) -> str:
    """An id, from its `<key>_str` twin where X gives one: JSON numbers above 2**53 have been seen
    rounded by clients that parsed them as doubles, the string never."""
    if parent.get(f"{key}_str") is not None:
        return p.text(parent, f"{key}_str", path)
    return p.text(parent, key, path)


def _opt_id(parent: dict[str, Any], key: str) -> str | None:
    """An optional reference (the tweet replied to, its author): one of another type is left out
    rather than costing the tweet that carries it."""
    return _digits(parent.get(f"{key}_str")) or _digits(parent.get(key))


def _digits(value: Any) -> str | None:
    """An optional id given as a string or a JSON number (an int: Python's json keeps every digit)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _listed(value: Any) -> list[Any]:
    """An event list. Anything else is read as a list of one: a lone event object is read, and
    anything that is no event is counted as malformed on its own, not made a 400 for the delivery."""
    return value if isinstance(value, list) else [value]


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 1


def _tweet_time(tweet: dict[str, Any], path: str) -> datetime:
    if tweet.get("timestamp_ms") is not None:
        return p.from_millis(p.number(tweet, "timestamp_ms", path), f"{path}.timestamp_ms")
    return _parse_tweet_time(p.text(tweet, "created_at", path), f"{path}.created_at")


def _parse_tweet_time(value: str, path: str) -> datetime:
    try:
        return datetime.strptime(value, _TWEET_TIME_FORMAT).astimezone(UTC)
    except (ValueError, OverflowError):
        raise MalformedPayload(f"{path}: expected a date like 'Wed Oct 10 20:19:24 +0000 2018'") from None
