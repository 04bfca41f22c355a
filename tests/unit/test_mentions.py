"""Filling in mentions from the Graph API, against Meta's recorded answers (tests/data/captures/
instagram/graph, see PROVENANCE.md there): what is asked, how an answer is read, how an error is
classed, and what is stored when nothing can be fetched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.channels.meta import graph
from chalicelib.models.interaction import Attachment, Author, Interaction, Kind
from chalicelib.ports import GraphFailed
from chalicelib.services.mentions import FetchLater, MentionResolver, unknown_author
from tests.helpers import Secrets

GRAPH = Path(__file__).resolve().parent.parent / "data" / "captures" / "instagram" / "graph"
T0 = datetime(2026, 12, 6, 10, tzinfo=UTC)
ACCOUNT = "17841405309211844"


def recorded(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GRAPH / f"{name}.json").read_text(encoding="utf-8"))
    return document


def mention(external_id: str, parent_id: str | None, platform: str = "instagram", **changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "platform": platform,
        "kind": Kind.MENTION,
        "external_id": external_id,
        "account_id": ACCOUNT,
        "thread_id": "17895695668004550",
        "parent_id": parent_id,
        "author": None,
        "text": "",
        "text_pending": True,
        "occurred_at": T0,
        "received_at": T0,
    }
    values.update(changes)
    return Interaction(**values)


class Api:
    """Answers with a recorded body, or fails as the Graph API does."""

    def __init__(self, answer: dict[str, Any] | GraphFailed) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str]] = []

    def get(self, path: str, fields: str, token: str) -> dict[str, Any]:
        self.asked.append((path, fields, token))
        if isinstance(self.answer, GraphFailed):
            raise self.answer
        return self.answer


TOKENS = Secrets({"meta_page_tokens": {ACCOUNT: "page-token-1"}})


def test_a_comment_mention_is_asked_of_the_account_and_has_no_author() -> None:
    api = Api(recorded("mentioned_comment_doc"))
    filled = MentionResolver(api, TOKENS).resolve(mention("17873440459141021", parent_id="17895695668004550"))
    assert api.asked == [
        (ACCOUNT, "mentioned_comment.comment_id(17873440459141021){id,text,timestamp}", "page-token-1")
    ]
    assert filled.text == "Shout out to @metricsaurus"
    assert filled.occurred_at == datetime(2017, 5, 3, 16, 9, 8, tzinfo=UTC)
    assert filled.author == unknown_author(filled)  # the edge never says who wrote the comment
    assert filled.author is not None
    assert filled.author.user_id == f"unknown-author:{ACCOUNT}"
    assert (filled.text_pending, filled.attachments) == (False, ())


def test_a_caption_mention_gives_its_caption_and_the_authors_username() -> None:
    answer = recorded("mentioned_media_doc")
    api = Api(answer)
    filled = MentionResolver(api, TOKENS).resolve(mention("17873440459141021", parent_id=None))
    assert api.asked[0][1] == "mentioned_media.media_id(17873440459141021){id,caption,timestamp,username}"
    assert filled.text == "metricsaurus headquarters!"
    assert filled.author is not None
    assert filled.author.user_id.startswith("unknown-author:")  # no username here
    named = dict(answer, mentioned_media={**answer["mentioned_media"], "username": "ana.souza"})
    filled = MentionResolver(Api(named), TOKENS).resolve(mention("17873440459141021", parent_id=None))
    assert filled.author == Author(user_id="username:ana.souza", handle="ana.souza")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("error_4_application_limit", "retry"),
        ("error_17_user_limit_constructed", "retry"),
        ("error_32_page_limit", "retry"),
        ("error_613_rate_limit_constructed", "retry"),
        ("error_80002_instagram_buc_constructed", "retry"),
        ("error_190_463_session_expired", "reauth"),
        ("error_doc_generic_190_460", "reauth"),
        ("error_10_permission_igapiexception", "permanent"),
        ("error_200_permissions_error", "permanent"),
        ("error_200_api_access_deactivated", "permanent"),
        ("error_100_33_igapiexception", "permanent"),
        ("error_100_33_graphmethodexception", "permanent"),
    ],
)
def test_every_recorded_graph_error_is_classed(name: str, expected: str) -> None:
    error = recorded(name)["error"]
    assert graph.error_class(error.get("code"), error.get("is_transient") is True) == expected


def test_no_answer_at_all_is_worth_retrying() -> None:
    assert graph.error_class(None) == "retry"


def test_a_rate_limit_fails_the_record_for_a_retry() -> None:
    limited = GraphFailed(400, 4, None, "(#4) Application request limit reached", transient=True)
    with pytest.raises(FetchLater):
        MentionResolver(Api(limited), TOKENS).resolve(mention("c-1", parent_id="m-1"))


@pytest.mark.parametrize(
    "failure",
    [
        GraphFailed(400, 100, 33, "does not exist"),
        GraphFailed(400, 190, 463, "expired"),
        GraphFailed(403, 10, None, ""),
    ],
    ids=["gone", "token", "permission"],
)
def test_what_cannot_be_fetched_is_stored_visibly_incomplete(failure: GraphFailed) -> None:
    filled = MentionResolver(Api(failure), TOKENS).resolve(mention("c-1", parent_id="m-1"))
    assert (filled.text, filled.text_pending) == ("", False)
    assert filled.attachments == (Attachment("mention", "17895695668004550"),)  # which media: a person can look
    assert filled.author is not None
    assert filled.author.user_id == f"unknown-author:{ACCOUNT}"


def test_without_a_page_token_nothing_is_asked() -> None:
    api = Api(recorded("mentioned_comment_doc"))
    filled = MentionResolver(api, Secrets({})).resolve(mention("c-1", parent_id="m-1"))
    assert api.asked == []
    assert filled.attachments == (Attachment("mention", "17895695668004550"),)


def test_a_facebook_mention_with_its_words_but_no_author_asks_for_the_author_and_keeps_the_words() -> None:
    answer = {
        "id": "1288_95",
        "message": "Another text",
        "created_time": "2021-02-26T11:56:02+0000",
        "from": {"id": "7", "name": "Ana"},
    }
    api = Api(answer)
    filled = MentionResolver(api, TOKENS).resolve(
        mention("1288_95", None, platform="facebook", text="A test post message", kind=Kind.MENTION)
    )
    assert api.asked == [("1288_95", "id,message,created_time,from{id,name}", "page-token-1")]
    assert filled.text == "A test post message"  # what the webhook said stands
    assert filled.author == Author(user_id="7", display_name="Ana")


def test_an_instagram_comment_without_its_author_asks_the_comment_for_it() -> None:
    answer = {
        "id": "c-9",
        "text": "Oi",
        "timestamp": "2018-01-01T10:00:00+0000",
        "from": {"id": "555", "username": "ana"},
    }
    api = Api(answer)
    comment = mention("c-9", None, kind=Kind.COMMENT, text="Oi")
    filled = MentionResolver(api, TOKENS).resolve(comment)
    assert api.asked[0][:2] == ("c-9", "id,text,timestamp,from{id,username},username")
    assert filled.author == Author(user_id="555", handle="ana")
