"""What Meta's Graph API says about a mention or a comment whose webhook left out its words or its
author, and how to read its errors. Pure: the request to make and the reading of the answer; the
HTTP call itself is adapters/graph.py.

- An Instagram @mention in a comment: `GET /{ig-user}?fields=mentioned_comment.comment_id(<id>){...}`
  gives the text and time, never who wrote it (the edge has no `from`).
- An Instagram @mention in a caption: `mentioned_media.media_id(<id>){...}` gives the caption and
  the author's `username` (not their id; the API also drops the leading "@" of the mention).
- An Instagram comment delivered without `from` (the pre-2021 value): `GET /{comment}` with `from`.
- A Facebook Page mention in a post or comment: `GET /{post or comment}` with `message` and `from`.

Errors, by Meta's codes: rate limits and transient failures (1, 2, 4, 17, 32, 341, 368, 613,
80001-80014, `is_transient`) are worth retrying; an invalid or expired token (190, 102) needs the
channel re-authorised; missing permissions (10, 200-299) and objects that do not exist (100) will
not change by retrying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.models.interaction import Author, Interaction, Kind

_RETRY_CODES = frozenset({1, 2, 4, 17, 32, 341, 368, 613}) | frozenset(range(80001, 80015))
_REAUTH_CODES = frozenset({102, 190})


@dataclass(frozen=True)
class GraphRequest:
    """A GET on the Graph API: the object's path and the fields to ask for."""

    path: str
    fields: str


@dataclass(frozen=True)
class Fetched:
    """What the Graph API gave: the words, who wrote them (when it says), and when."""

    text: str | None
    author: Author | None
    occurred_at: datetime | None


def request_for(interaction: Interaction) -> GraphRequest | None:
    """The Graph request that fills in a pending interaction; None when nothing would."""
    if interaction.platform == "instagram" and interaction.kind is Kind.MENTION:
        if not interaction.account_id:
            return None
        if interaction.parent_id:  # a comment on that media mentioned the account
            return GraphRequest(
                interaction.account_id,
                f"mentioned_comment.comment_id({interaction.external_id}){{id,text,timestamp}}",
            )
        return GraphRequest(
            interaction.account_id,
            f"mentioned_media.media_id({interaction.external_id}){{id,caption,timestamp,username}}",
        )
    if interaction.platform == "instagram":
        return GraphRequest(interaction.external_id, "id,text,timestamp,from{id,username},username")
    if interaction.platform == "facebook":
        return GraphRequest(interaction.external_id, "id,message,created_time,from{id,name}")
    return None


def read(interaction: Interaction, answer: dict[str, Any]) -> Fetched:
    """The Graph answer to `request_for(interaction)`; fields it lacks stay None."""
    if interaction.platform == "instagram" and interaction.kind is Kind.MENTION:
        if interaction.parent_id:
            comment = _obj(answer.get("mentioned_comment"))
            return Fetched(_str(comment.get("text")), None, _time(comment.get("timestamp")))
        media = _obj(answer.get("mentioned_media"))
        username = _str(media.get("username"))
        author = Author(user_id=f"username:{username}", handle=username) if username else None
        return Fetched(_str(media.get("caption")), author, _time(media.get("timestamp")))
    if interaction.platform == "instagram":
        sender = _obj(answer.get("from"))
        sender_id, username = _str(sender.get("id")), _str(sender.get("username")) or _str(answer.get("username"))
        author = Author(user_id=sender_id, handle=username) if sender_id else None
        return Fetched(_str(answer.get("text")), author, _time(answer.get("timestamp")))
    sender = _obj(answer.get("from"))
    sender_id = _str(sender.get("id"))
    author = Author(user_id=sender_id, display_name=_str(sender.get("name"))) if sender_id else None
    return Fetched(_str(answer.get("message")), author, _time(answer.get("created_time")))


def error_class(code: int | None, transient: bool = False) -> str:
    """`retry`, `reauth` or `permanent`, for a Graph error's code (None: no Graph error at all,
    such as a 5xx without a body or a network failure, which is worth retrying)."""
    if code is None or transient or code in _RETRY_CODES:
        return "retry"
    if code in _REAUTH_CODES:
        return "reauth"
    return "permanent"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _time(value: Any) -> datetime | None:
    """Graph times are ISO 8601 with a `+0000` offset."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return moment.astimezone(UTC)
