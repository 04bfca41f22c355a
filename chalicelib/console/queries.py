"""What the console's pages show, read through the same stores and services as the JSON API and
shaped for templates: a case's conversation, a customer's panel, a sentiment chart's points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.models.case import Case
from chalicelib.models.customer import StoredInteraction
from chalicelib.models.note import Note
from chalicelib.models.reply import Reply

MAX_SHOWN = 200  # a case's newest messages shown (its whole list is on the customer page)
CHART_POINTS = 30


@dataclass(frozen=True)
class Bubble:
    """One line of a conversation: the customer's message or the brand's reply, in time order."""

    at: datetime
    direction: str  # inbound | outbound
    platform: str
    kind: str
    text: str | None
    redacted: bool = False
    deleted: bool = False
    edited: bool = False
    sentiment: str | None = None
    sentiment_confidence: float | None = None  # the analysis' score for its label
    intent: str | None = None
    state: str | None = None  # a reply sent from socialcrm: queued, sending, sent, delivered, read, failed…
    by: str | None = None
    reply_id: str | None = None
    error: str | None = None
    title: str | None = None
    rating: float | None = None
    attachments: tuple[str, ...] = ()


def _bubble(item: StoredInteraction, reply: Reply | None = None) -> Bubble:
    sentiment = item.analysis.get("sentiment")
    label = sentiment.get("label") if isinstance(sentiment, dict) else None
    scores = sentiment.get("scores") if isinstance(sentiment, dict) else None
    score = scores.get(label) if isinstance(scores, dict) and label else None
    return Bubble(
        at=item.occurred_at,
        direction=item.direction,
        platform=item.platform,
        kind=item.kind,
        text=item.text,
        redacted=item.redacted,
        deleted=item.deleted_at is not None,
        edited=item.edited_at is not None,
        sentiment=str(label).lower() if label else None,
        sentiment_confidence=float(score) if isinstance(score, int | float) else None,
        intent=str(item.intent.get("intent")) if item.intent and item.intent.get("intent") else None,
        state=reply.state.value if reply else None,
        by=reply.by if reply else None,
        reply_id=item.reply_id,
        title=item.title,
        rating=item.rating,
        attachments=tuple(attachment.type for attachment in item.attachments),
    )


def _reply_bubble(reply: Reply) -> Bubble:
    return Bubble(
        at=reply.created_at,
        direction="outbound",
        platform=reply.platform,
        kind="reply",
        text=reply.text,
        state=reply.state.value,
        by=reply.by,
        reply_id=reply.reply_id,
        error=reply.error.message if reply.error else None,
    )


def note_bubble(note: Note) -> Bubble:
    return Bubble(at=note.at, direction="note", platform="", kind="private note", text=note.text, by=note.by)


def conversation(case: Case, replies: list[Reply]) -> list[Bubble]:
    """The case in order: the customer's messages on it and the brand's answers (the case lists
    both), each once: a reply sent from socialcrm with its state (before its echo lands, from the
    reply itself), and what the brand answered elsewhere (the page's own inbox) as the platform
    told us. Read by the case's own list, MAX_SHOWN newest at most: a long-standing customer's
    whole timeline is the customer page's, not the case's."""
    from chalicelib.dependencies import customer_store

    by_id = {reply.reply_id: reply for reply in replies}
    shown: list[Bubble] = []
    seen_replies: set[str] = set()
    for item in customer_store().interactions_of(case.customer_id, case.interactions[-MAX_SHOWN:]):
        reply = by_id.get(item.reply_id or "") if item.direction == "outbound" else None
        if reply is not None:
            seen_replies.add(reply.reply_id)
        shown.append(_bubble(item, reply))
    shown.extend(_reply_bubble(reply) for reply in replies if reply.reply_id not in seen_replies)
    return sorted(shown, key=lambda bubble: bubble.at)


def sentiment_points(items: list[dict[str, Any]], width: int = 300, height: int = 60) -> dict[str, Any]:
    """An SVG polyline of the customer's message polarity over time (oldest left), drawn on the
    server from their timeline as the API shows it (newest first): no chart library, no inline
    script or style for the CSP to allow."""
    samples = []
    for item in reversed(items):
        sentiment = item.get("sentiment")
        if item.get("direction") != "inbound" or not isinstance(sentiment, dict):
            continue
        scores = sentiment.get("scores")
        if isinstance(scores, dict) and scores:
            lowered = {str(key).lower(): float(value) for key, value in scores.items()}
            samples.append((item["occurred_at"], lowered.get("positive", 0.0) - lowered.get("negative", 0.0)))
    samples = samples[-CHART_POINTS:]
    if not samples:
        return {"points": "", "dots": [], "count": 0, "width": width, "height": height}
    step = width / max(1, len(samples) - 1)
    # One sample sits in the middle; several spread from edge to edge. +1 is the top, -1 the bottom.
    dots = [
        (round(index * step if len(samples) > 1 else width / 2, 1), round((1 - (polarity + 1) / 2) * height, 1))
        for index, (_, polarity) in enumerate(samples)
    ]
    points = " ".join(f"{x},{y}" for x, y in dots)
    return {
        "points": points,
        "dots": dots,
        "count": len(samples),
        "width": width,
        "height": height,
        "first": samples[0][0],
        "last": samples[-1][0],
        "latest": samples[-1][1],
    }
