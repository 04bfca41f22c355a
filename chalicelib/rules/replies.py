"""When a reply may go, and how: each platform's messaging window, the one place that decides it.

Checked when the agent asks (the route refuses with what can still go) and again when the sender
sends (a reply that waited in the queue past the window's end is failed, not sent against the
platform's policy). Pure: the caller says when the customer last wrote and what the page may do.

| platform, what is answered | window | source |
|---|---|---|
| Messenger / Instagram DM | 24 h after the customer's last message (`RESPONSE`); then, to 7 days, | Meta's policy |
|  | only a person's reply tagged `HUMAN_AGENT`, on accounts with Meta's Human Agent permission | |
| Facebook / Instagram comment, public reply | none (the comment must still exist) | Graph API |
| Facebook / Instagram comment, private reply | 7 days after the comment, one per comment | Meta's private replies |
| WhatsApp | free text 24 h after the customer's last message; an approved template at any time | Cloud API |
| Telegram, X, Trustpilot, generic sources | none (X DMs depend on the person's settings: the platform says so) | |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.models.reply import RANK, ReplyState

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
HUMAN_AGENT = "HUMAN_AGENT"
MAX_RETRY_DELAY = 900
META_DM = frozenset({"messenger", "instagram"})
COMMENTED = frozenset({"facebook", "instagram"})
# Where a comment can be answered privately (a DM that quotes it); elsewhere there is no private reply.
PRIVATE_REPLIES = COMMENTED


class Refusal(StrEnum):
    WINDOW_CLOSED = "window_closed"
    TOO_LONG = "too_long"
    NOT_ANSWERABLE = "not_answerable"


@dataclass(frozen=True)
class Window:
    """Whether a reply may go now; if so, with which tag; if not, why and what still can."""

    open: bool
    closes_at: datetime | None = None  # None: no window
    tag: str | None = None
    refusal: Refusal | None = None
    message: str = ""
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "open": self.open,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "tag": self.tag,
            "code": self.refusal.value if self.refusal else None,
            "message": self.message,
            "options": list(self.options),
        }


def window(
    platform: str,
    target_kind: str,
    private: bool,
    last_inbound_at: datetime,
    now: datetime,
    *,
    human_agent: bool = False,
    template: bool = False,
) -> Window:
    """`target_kind` is what is answered (`message`, `comment`, `mention`, `review`);
    `last_inbound_at` when the customer last wrote there (for a comment: when it was written).
    `human_agent`: the account has Meta's Human Agent permission (SOCIALCRM_HUMAN_AGENT_ACCOUNTS);
    the caller only asks for replies written by a person, which all of socialcrm's are."""
    age = now - last_inbound_at
    if platform == "whatsapp":
        if template:
            return Window(True)
        if age <= STANDARD_WINDOW:
            return Window(True, last_inbound_at + STANDARD_WINDOW)
        return _closed(
            "WhatsApp allows free text only within 24 hours of the customer's last message",
            ("template",),
            last_inbound_at + STANDARD_WINDOW,
        )
    if template:
        return Window(False, refusal=Refusal.NOT_ANSWERABLE, message="templates exist on WhatsApp only")
    if platform in COMMENTED and target_kind == "comment":
        if not private:
            return Window(True)
        if age <= PRIVATE_REPLY_WINDOW:
            return Window(True, last_inbound_at + PRIVATE_REPLY_WINDOW)
        return _closed(
            "a private reply to a comment is possible within 7 days of the comment",
            ("public",),
            last_inbound_at + PRIVATE_REPLY_WINDOW,
        )
    if private and target_kind != "message" and platform not in ("x",):
        return Window(
            False, refusal=Refusal.NOT_ANSWERABLE, message=f"{platform} has no private reply to a {target_kind}"
        )
    if platform in META_DM:
        if age <= STANDARD_WINDOW:
            return Window(True, last_inbound_at + STANDARD_WINDOW)
        if age <= HUMAN_AGENT_WINDOW:
            if human_agent:
                return Window(True, last_inbound_at + HUMAN_AGENT_WINDOW, tag=HUMAN_AGENT)
            return _closed(
                "the 24-hour window has closed, and this account may not use the HUMAN_AGENT tag "
                "(Meta's Human Agent permission; SOCIALCRM_HUMAN_AGENT_ACCOUNTS)",
                (),
                last_inbound_at + STANDARD_WINDOW,
            )
        return _closed(
            "more than 7 days since the customer's last message: Meta allows no reply",
            (),
            last_inbound_at + (HUMAN_AGENT_WINDOW if human_agent else STANDARD_WINDOW),
        )
    return Window(True)


def _closed(message: str, options: tuple[str, ...], closed_at: datetime) -> Window:
    return Window(False, closed_at, refusal=Refusal.WINDOW_CLOSED, message=message, options=options)


def advance(current: ReplyState, reported: ReplyState) -> bool:
    """Whether a reply in `current` moves to `reported`: only forward, never back (statuses come
    out of order). A failure after `sent` is kept (WhatsApp reports one), but nothing fails a
    message the customer received or read; `unknown` is left by anything the platform says of it."""
    if reported is current:
        return False
    if reported is ReplyState.FAILED:
        return current in (ReplyState.QUEUED, ReplyState.UNKNOWN, ReplyState.SENT)
    if current is ReplyState.FAILED:
        return reported in (ReplyState.DELIVERED, ReplyState.READ)  # it did reach them after all
    return RANK[reported] > RANK[current]


def retry_delay(attempt: int, hinted: float | None) -> int:
    """Seconds until the next attempt of a reply the platform asked to retry: its hint when it gave
    one (Telegram `retry_after`, X's rate-limit reset), else exponential from 10 s; at most
    SQS's 15-minute message delay (X's rate windows are 15 minutes; a longer hint is waited out
    in steps, each a new attempt)."""
    if hinted is not None and hinted > 0:
        return min(int(hinted) + 1, MAX_RETRY_DELAY)
    backoff: int = 10 * 2 ** max(0, attempt - 1)
    return min(backoff, MAX_RETRY_DELAY)
