"""Telegram Bot API updates: one Update per POST, authenticated by the secret-token header.

Telegram signs nothing; `setWebhook(secret_token=...)` makes it send that token back in a header,
which is compared in constant time. A message's identity is `chat_id:message_id` (message ids are
only unique within a chat), kept across its edits so that the stored interaction is updated rather
than duplicated.

What becomes an interaction: what a person sent to a chat the bot is in (text, captions, and
attachment-only messages, forwarded ones included: the customer chose to send them to us), the
buttons they press under the bot's messages, their reactions, and, through a Business connection,
both sides of the brand's private chats (the owner's messages are the brand's replies). Everything
else an update can carry is named below with the reason it is not queued; an update type we do not
know is `unknown`, so that the delivery is kept and looked at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, MalformedPayload, ParseResult, WebhookRequest
from chalicelib.channels.signing import matches
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.ports import SecretReader

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name

# The account Telegram puts in `from` for a group's anonymous administrators: a person, whose
# message carries the group itself in `sender_chat`.
GROUP_ANONYMOUS_BOT = "1087968824"

_MESSAGE_UPDATES = {
    "message": (Action.CREATED, False),
    "edited_message": (Action.EDITED, False),
    "business_message": (Action.CREATED, True),
    "edited_business_message": (Action.EDITED, True),
}

# Update types we know and deliberately do not queue, each for the reason given.
_SKIPPED_UPDATES = {
    # A channel's posts are broadcasts by its administrators (a bot only receives them as one of
    # those), the brand's own or another publisher's: never a customer writing to us.
    "channel_post": "not_an_interaction",
    "edited_channel_post": "not_an_interaction",
    # Totals of anonymous reactions, with no one to attribute them to.
    "message_reaction_count": "not_an_interaction",
    # Someone typing `@bot query` to pick content to send elsewhere, and the result they picked:
    # nothing sent to us.
    "inline_query": "not_an_interaction",
    "chosen_inline_result": "not_an_interaction",
    # Membership, join requests, boosts and the Business connection itself.
    "my_chat_member": "not_an_interaction",
    "chat_member": "not_an_interaction",
    "chat_join_request": "not_an_interaction",
    "chat_boost": "not_an_interaction",
    "removed_chat_boost": "not_an_interaction",
    "business_connection": "not_an_interaction",
    # Payment steps and a poll's new state: no words.
    "shipping_query": "not_an_interaction",
    "pre_checkout_query": "not_an_interaction",
    "purchased_paid_media": "not_an_interaction",
    "poll": "not_an_interaction",
    # A customer's vote in the bot's poll: something they did, but the update names only option
    # indexes of a poll we do not keep, so there is nothing to read it as yet.
    "poll_answer": "unsupported",
}

# Service messages: Telegram reporting something that happened in the chat (members, titles,
# pins, migrations, topics, video chats, payments, gifts...), not something a person wrote.
_SERVICE_KEYS = frozenset(
    {
        "new_chat_members",
        "new_chat_member",
        "new_chat_participant",
        "left_chat_member",
        "left_chat_participant",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "message_auto_delete_timer_changed",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "pinned_message",
        "successful_payment",
        "refunded_payment",
        "users_shared",
        "user_shared",
        "chat_shared",
        "gift",
        "unique_gift",
        "connected_website",
        "write_access_allowed",
        "passport_data",
        "proximity_alert_triggered",
        "boost_added",
        "chat_background_set",
        "checklist_tasks_done",
        "checklist_tasks_added",
        "direct_message_price_changed",
        "paid_message_price_changed",
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
        "general_forum_topic_hidden",
        "general_forum_topic_unhidden",
        "giveaway_created",
        "giveaway_completed",
        "suggested_post_approved",
        "suggested_post_approval_failed",
        "suggested_post_declined",
        "suggested_post_paid",
        "suggested_post_refunded",
        "video_chat_scheduled",
        "video_chat_started",
        "video_chat_ended",
        "video_chat_participants_invited",
        "voice_chat_scheduled",
        "voice_chat_started",
        "voice_chat_ended",
        "voice_chat_participants_invited",
        "web_app_data",
    }
)

# What a message can carry besides text, in the order they are listed; the type is Telegram's key.
# Files have a `file_id` (bot-scoped, it fetches the file through getFile).
_FILE_KEYS = ("photo", "animation", "video", "video_note", "voice", "audio", "document", "sticker")
_CONTENT_KEYS = (
    *_FILE_KEYS,
    "story",
    "paid_media",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "invoice",
    "checklist",
    "giveaway",
    "giveaway_winners",
)


def verify(presented: str | None, secret_token: str) -> None:
    if not matches(secret_token, presented):
        raise InvalidSignature(f"{SECRET_HEADER} is missing or wrong")


class TelegramChannel:
    name = "telegram"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        verify(request.headers.get(SECRET_HEADER), secrets.get("telegram_secret_token"))

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, received_at)


def parse(raw_body: bytes, received_at: datetime) -> ParseResult:
    update = p.load_object(raw_body)
    if isinstance(update.get("update_id"), bool) or not isinstance(update.get("update_id"), int):
        raise MalformedPayload("update_id: expected an integer")
    result = ParseResult()
    reader = _Reader(received_at, result)
    readers = {
        "callback_query": reader.callback,
        "message_reaction": reader.reaction,
        "deleted_business_messages": reader.deleted,
    }
    keys = [key for key in update if key != "update_id"]
    # An Update holds exactly one of its optional fields; should a future one sit beside it, the
    # one we know is read.
    key = next((k for k in keys if k in _MESSAGE_UPDATES or k in readers or k in _SKIPPED_UPDATES), None)
    if key in _MESSAGE_UPDATES:
        action, business = _MESSAGE_UPDATES[key]
        result.guard(key, reader.message, update[key], action, business)
    elif key in readers:
        result.guard(key, readers[key], update[key])
    elif key is not None:
        result.skip(_SKIPPED_UPDATES[key])
    else:
        name = keys[0][:60] if keys else "nothing"
        result.skip("unknown", detail=f"update: an update type we do not know: {name!r}")
    return result


class _Reader:
    def __init__(self, received_at: datetime, result: ParseResult) -> None:
        self.received_at = received_at
        self.result = result

    def message(self, message: dict[str, Any], path: str, action: Action, business: bool) -> None:
        if any(key in message for key in _SERVICE_KEYS):
            self.result.skip("not_an_interaction")  # a service message
            return
        chat = p.obj(message, "chat", path)
        chat_id = p.text(chat, "id", f"{path}.chat")
        message_id = p.text(message, "message_id", path)
        sender = p.opt_obj(message, "from", path)
        sender_chat = p.opt_obj(message, "sender_chat", path)
        language = None
        if sender_chat is not None:
            # Sent on behalf of a chat; `from` is then a placeholder (GroupAnonymousBot for the
            # group's anonymous administrators, Channel_Bot for someone posting as their channel).
            if message.get("is_automatic_forward") is True:
                # A linked channel's post, copied by Telegram into its discussion group: a
                # broadcast, as channel posts are (see _SKIPPED_UPDATES).
                self.result.skip("not_an_interaction")
                return
            author = _chat_author(sender_chat, f"{path}.sender_chat")
        elif sender is None:
            raise MalformedPayload(f"{path}: a message without `from` or `sender_chat`")
        elif sender.get("is_bot") is True and p.opt_text(sender, "id", f"{path}.from") == GROUP_ANONYMOUS_BOT:
            author = _chat_author(chat, f"{path}.chat")  # an anonymous admin, before `sender_chat` existed
        elif sender.get("is_bot") is True:
            self.result.skip("bot")  # another bot's message (a bot never receives its own)
            return
        else:
            author = _user_author(sender, f"{path}.from")
            language = _opt_str(sender, "language_code")
        text = _opt_str(message, "text") or _opt_str(message, "caption") or ""
        attachments = _attachments(message)
        if not text and not attachments:
            # No words and no content we know: a new kind of message (or of service message).
            self.result.skip("unknown", detail=f"{path}: a message with no text and no content we know")
            return
        if action is Action.EDITED and not text and {a.type for a in attachments} == {"location"}:
            # A live location moving (every few seconds, for hours) or being stopped: the client
            # updates the pin; the customer changed nothing they wrote, and the location itself
            # was queued when it was shared.
            self.result.skip("not_an_interaction")
            return
        outbound = business and (author.user_id != chat_id or message.get("sender_business_bot") is not None)
        edited_at = _opt_seconds(message, "edit_date") if action is Action.EDITED else None
        self.result.add(
            Interaction(
                platform="telegram",
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                kind=Kind.MESSAGE,
                action=action,
                external_id=f"{chat_id}:{message_id}",
                # A Business connection names the brand's account; a bot's own updates name none.
                account_id=_opt_str(message, "business_connection_id") if business else None,
                # In a Business chat, `chat` is the private chat with the customer, whose id is theirs.
                recipient_id=chat_id if outbound else None,
                thread_id=_thread(message, chat_id),
                parent_id=_parent(message, chat_id),
                author=author,
                text=text,
                language_hint=language,
                attachments=attachments,
                occurred_at=p.from_seconds(p.number(message, "date", path), f"{path}.date"),
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def callback(self, query: dict[str, Any], path: str) -> None:
        """A customer pressing an inline button under one of the bot's messages: what they did,
        in the words they saw (the button's text), or else the button's data. It answers the
        message the button is on. Telegram gives a callback no time: it is when we received it."""
        sender = p.obj(query, "from", path)
        if sender.get("is_bot") is True:
            self.result.skip("bot")
            return
        query_id = p.text(query, "id", path)
        data = _opt_str(query, "data")
        message = p.as_obj(query.get("message"))  # absent for buttons on inline-mode messages
        chat_id = _opt_id(p.as_obj(message.get("chat")), "id")
        message_id = _opt_id(message, "message_id")
        if chat_id is not None and message_id is not None:
            parent: str | None = f"{chat_id}:{message_id}"
        else:
            parent = _opt_id(query, "inline_message_id")
        self.result.add(
            Interaction(
                platform="telegram",
                kind=Kind.MESSAGE,
                external_id=f"callback:{query_id}",
                thread_id=_thread(message, chat_id) if chat_id is not None else None,
                parent_id=parent,
                author=_user_author(sender, f"{path}.from"),
                text=_pressed(message, data) or data or _opt_str(query, "game_short_name") or "",
                language_hint=_opt_str(sender, "language_code"),
                occurred_at=self.received_at,
                received_at=self.received_at,
            )
        )

    def reaction(self, update: dict[str, Any], path: str) -> None:
        """One interaction per reaction added; each one taken away is counted as removed. The
        actor is a user, or the chat they reacted on behalf of (`actor_chat`, anonymous admins)."""
        chat_id = p.text(p.obj(update, "chat", path), "id", f"{path}.chat")
        message_id = p.text(update, "message_id", path)
        user = p.opt_obj(update, "user", path)
        if user is not None:
            if user.get("is_bot") is True:
                self.result.skip("bot")
                return
            author = _user_author(user, f"{path}.user")
        else:
            author = _chat_author(p.obj(update, "actor_chat", path), f"{path}.actor_chat")
        old = [_reaction_name(r) for r in p.items(update, "old_reaction", path)]
        new = [_reaction_name(r) for r in p.items(update, "new_reaction", path)]
        added = [name for name in dict.fromkeys(new) if name is not None and name not in old]
        removed = [name for name in dict.fromkeys(old) if name is not None and name not in new]
        if not added and not removed:
            self.result.skip("not_an_interaction")  # nothing changed
            return
        occurred = p.from_seconds(p.number(update, "date", path), f"{path}.date")
        for name in added:
            self.result.add(
                Interaction(
                    platform="telegram",
                    kind=Kind.REACTION,
                    external_id=f"{chat_id}:{message_id}:reaction:{author.user_id}:{name}",
                    thread_id=chat_id,
                    parent_id=f"{chat_id}:{message_id}",
                    author=author,
                    text="",
                    reaction=name,
                    occurred_at=occurred,
                    received_at=self.received_at,
                )
            )
        self.result.skip("reaction_removed", len(removed))

    def deleted(self, update: dict[str, Any], path: str) -> None:
        """Messages deleted in a Business chat: one deletion per id. The update names the chat
        (the private chat with the customer, so its id is theirs) but neither the time nor who
        wrote each message; a deletion is found by its id alone, and happened when it reached us."""
        chat = p.obj(update, "chat", path)
        chat_id = p.text(chat, "id", f"{path}.chat")
        author = _user_author(chat, f"{path}.chat")
        account = _opt_str(update, "business_connection_id")
        for index, value in enumerate(p.items(update, "message_ids", path, required=True)):
            if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
                self.result.skip("malformed", detail=f"{path}.message_ids[{index}]: expected a message id")
                continue
            self.result.add(
                Interaction(
                    platform="telegram",
                    kind=Kind.MESSAGE,
                    action=Action.DELETED,
                    external_id=f"{chat_id}:{value}",
                    account_id=account,
                    thread_id=chat_id,
                    author=author,
                    text="",
                    occurred_at=self.received_at,
                    received_at=self.received_at,
                )
            )


def _user_author(user: dict[str, Any], path: str) -> Author:
    """A User (or a private Chat, which has the same names): its id, @username and full name."""
    names = [_opt_str(user, "first_name"), _opt_str(user, "last_name")]
    return Author(
        user_id=p.text(user, "id", path),
        handle=_opt_str(user, "username"),
        display_name=" ".join(name for name in names if name) or None,
    )


def _chat_author(chat: dict[str, Any], path: str) -> Author:
    """A group or channel speaking as itself: all Telegram tells of the person behind it."""
    return Author(
        user_id=p.text(chat, "id", path), handle=_opt_str(chat, "username"), display_name=_opt_str(chat, "title")
    )


def _thread(message: dict[str, Any], chat_id: str) -> str:
    """The conversation: the chat (for a private chat, the customer's id), or in a forum the topic,
    named by the id of the message that opened it, as a comment's thread is its post."""
    topic = _opt_id(message, "message_thread_id")
    if message.get("is_topic_message") is True and topic is not None:
        return f"{chat_id}:{topic}"
    return chat_id


def _parent(message: dict[str, Any], chat_id: str) -> str | None:
    """What the message answers: a message in this chat, a message elsewhere (`external_reply`),
    or a story. In a forum topic every message "replies" to the topic's opening message, which is
    only where it was written (its thread), not something it answers. The quoted part of a reply
    (`quote`) is someone else's words and is not kept."""
    reply = p.as_obj(message.get("reply_to_message"))
    if reply:
        reply_id = _opt_id(reply, "message_id")
        opening = message.get("is_topic_message") is True and reply_id == _opt_id(message, "message_thread_id")
        return None if reply_id is None or opening else f"{chat_id}:{reply_id}"
    external = p.as_obj(message.get("external_reply"))
    if external:
        other_chat = _opt_id(p.as_obj(external.get("chat")), "id")
        other_id = _opt_id(external, "message_id")
        return f"{other_chat}:{other_id}" if other_chat is not None and other_id is not None else None
    story = p.as_obj(message.get("reply_to_story"))
    return _story_id(story) if story else None


def _story_id(story: dict[str, Any]) -> str | None:
    """A story's id is unique only within the chat that posted it: `<chat_id>:story:<id>`, which
    cannot be mistaken for a message (`<chat_id>:<message_id>`) of the same chat."""
    chat_id = _opt_id(p.as_obj(story.get("chat")), "id")
    story_id = _opt_id(story, "id")
    return f"{chat_id}:story:{story_id}" if chat_id is not None and story_id is not None else None


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """What the message carries besides text, with Telegram's id for it where there is one (a
    file's `file_id`, a story's id, a poll's id). A contact card is kept as a bare attachment: its
    phone number and vCard are not the customer's words and are not copied."""
    found = []
    for key in _CONTENT_KEYS:
        value = message.get(key)
        if value is None:
            continue
        if key == "document" and message.get("animation") is not None:
            continue  # Telegram repeats an animation as a document, for older clients
        if key == "location" and message.get("venue") is not None:
            continue  # and a venue's location as a location
        media_id: str | None = None
        if key in _FILE_KEYS:
            media_id = _file_id(value)
        elif key == "story":
            media_id = _story_id(p.as_obj(value))
        elif key == "poll":
            media_id = _opt_id(p.as_obj(value), "id")
        found.append(Attachment(key, media_id))
    return tuple(found)


def _file_id(value: Any) -> str | None:
    """A file's `file_id`; for a photo, sent as several sizes (smallest first), the largest's."""
    if isinstance(value, list):
        sizes = [size for size in value if isinstance(size, dict)]
        if not sizes:
            return None
        value = max(reversed(sizes), key=_area)  # the last of equal sizes, as Telegram orders them
    file_id = value.get("file_id") if isinstance(value, dict) else None
    return file_id if isinstance(file_id, str) and file_id else None


def _area(size: dict[str, Any]) -> int:
    width, height = size.get("width"), size.get("height")
    return width * height if type(width) is int and type(height) is int else -1


def _pressed(message: dict[str, Any], data: str | None) -> str | None:
    """The text of the button whose data came back, when the message's inline keyboard shows
    exactly one such button (buttons may share data, and then it does not tell which)."""
    if data is None:
        return None
    rows = p.as_obj(message.get("reply_markup")).get("inline_keyboard")
    texts = [
        button.get("text")
        for row in (rows if isinstance(rows, list) else [])
        for button in (row if isinstance(row, list) else [])
        if isinstance(button, dict) and button.get("callback_data") == data
    ]
    return texts[0] if len(texts) == 1 and isinstance(texts[0], str) and texts[0] else None


def _reaction_name(reaction: Any) -> str | None:
    """An emoji as itself, a custom emoji as `custom_emoji:<id>`, a paid (star) reaction as `paid`."""
    reaction = p.as_obj(reaction)
    kind = reaction.get("type")
    if kind == "emoji":
        return _opt_str(reaction, "emoji")
    if kind == "custom_emoji":
        emoji_id = _opt_id(reaction, "custom_emoji_id")
        return f"custom_emoji:{emoji_id}" if emoji_id else None
    return kind if isinstance(kind, str) and kind else None


def _opt_str(parent: dict[str, Any], key: str) -> str | None:
    """An optional string; anything else is taken as absent (these fields are never required)."""
    value = parent.get(key)
    return value if isinstance(value, str) else None


def _opt_id(parent: dict[str, Any], key: str) -> str | None:
    """An optional id, as a JSON number or a string (its digits kept exactly); else absent."""
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def _opt_seconds(parent: dict[str, Any], key: str) -> datetime | None:
    """An optional Unix time. An edit without a readable `edit_date` is still the edit: its
    idempotency key then comes from what it says."""
    if parent.get(key) is None:
        return None
    try:
        return p.from_seconds(p.number(parent, key, ""), key)
    except MalformedPayload:
        return None
