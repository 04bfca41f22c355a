"""Filling in what a platform's webhook left out: mentions of the brand (Instagram sends bare ids,
Facebook often no author) and comments delivered without their author.

The Graph API is asked with the page token of the account the mention was addressed to
(`meta_page_tokens` in the secrets document, by Page or Instagram account id). What it cannot tell
stays visible rather than lost: an interaction whose words cannot be had is stored with an empty
text and a `mention` attachment naming the media (text unavailable), and one whose author cannot be
had (Instagram never names who wrote a mentioning comment) belongs to the account's "unknown
author" customer, one per brand account and platform, so ops see every such mention in one place.
A failure worth retrying (rate limits, Meta's transient errors, no answer) fails the record, which
SQS brings back later.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.channels.meta import graph
from chalicelib.models.interaction import Attachment, Author, Interaction
from chalicelib.observability import count, logger
from chalicelib.ports import GraphFailed, GraphReader, SecretNotSet, SecretReader

TOKENS = "meta_page_tokens"


class FetchLater(RuntimeError):
    """The Graph API may answer later (rate limits, transient errors): retry the record."""


def unknown_author(interaction: Interaction) -> Author:
    """The customer standing for everyone a platform does not name, per brand account."""
    return Author(
        user_id=f"unknown-author:{interaction.account_id or '-'}",
        display_name=f"Unknown author ({interaction.platform} mentions)",
    )


def without_fetching(interaction: Interaction) -> Interaction:
    """Store what arrived, visibly incomplete: nothing is fetched."""
    return _completed(interaction, graph.Fetched(None, None, None))


class MentionResolver:
    def __init__(self, api: GraphReader, secrets: SecretReader) -> None:
        self._api = api
        self._secrets = secrets

    def resolve(self, interaction: Interaction) -> Interaction:
        """The interaction with its words and author filled in as far as the Graph API tells.
        Raises FetchLater when asking again later may tell more."""
        request = graph.request_for(interaction)
        if request is None or not interaction.account_id:
            return self._unresolved(interaction, "nothing_to_ask")
        try:
            token = self._secrets.entry(TOKENS, interaction.account_id)
        except SecretNotSet:
            return self._unresolved(interaction, "no_token")
        try:
            answer = self._api.get(request.path, request.fields, token)
        except GraphFailed as exc:
            kind = graph.error_class(exc.code, exc.transient)
            if kind == "retry":
                raise FetchLater(f"Graph API {exc.code or exc.status}: retry later") from None
            if kind == "reauth":  # the page token expired or was revoked: ops must renew it
                logger.error("graph token needs re-authorisation", extra={"account": interaction.account_id})
            return self._unresolved(interaction, f"graph_{exc.code}")
        return _completed(interaction, graph.read(interaction, answer))

    def _unresolved(self, interaction: Interaction, reason: str) -> Interaction:
        logger.warning("mention not fetched", extra={"platform": interaction.platform, "reason": reason})
        count("MentionsNotFetched")
        return without_fetching(interaction)


def _completed(interaction: Interaction, fetched: graph.Fetched) -> Interaction:
    text = interaction.text or fetched.text or ""
    attachments = interaction.attachments
    if not text:  # text unavailable: say which media it is about, so a person can look
        attachments = (*attachments, Attachment("mention", interaction.thread_id or interaction.external_id))
    return replace(
        interaction,
        text=text,
        author=interaction.author or fetched.author or unknown_author(interaction),
        occurred_at=fetched.occurred_at or interaction.occurred_at,
        attachments=attachments,
        text_pending=False,
    )
