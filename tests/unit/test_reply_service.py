"""Answering a case (chalicelib/services/replies.py) over in-memory ports: the route's checks and
refusals, the sender's second look at the window, at-most-once sending, error classes, the
re-authorisation episode, and statuses out of order. The platforms' senders are the real ones
(chalicelib.channels.senders); only HTTP is faked, with answers shaped like the documented bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.platforms import NoAnswer
from chalicelib.channels.outbound import Answer, OutboundRequest
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.events import DetailType, DomainEvent
from chalicelib.models.interaction import Direction, Interaction, Kind
from chalicelib.models.reply import (
    AnsweredMessage,
    ErrorClass,
    Reply,
    ReplyError,
    ReplyState,
    ReplyStatus,
    Target,
    Template,
    Visibility,
)
from chalicelib.services.replies import (
    MAX_SEND_ATTEMPTS,
    CaseNotFound,
    InvalidReply,
    ReplyDesk,
    ReplyRefused,
    ReplyRequest,
    ReplySender,
    ReplyStatuses,
    SendResult,
    advanced,
    outbound_interaction,
    parse_request,
    target_for,
)

WROTE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # when the customer last wrote
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
AT_23_59 = WROTE + 24 * HOUR - MINUTE
AT_24_01 = WROTE + 24 * HOUR + MINUTE

CUSTOMER = "CU1"
CASE_ID = "CASE1"
OTHER_CASE_ID = "CASE2"
PAGE = "PAGE1"
PSID = "PSID1"
AGENT = "cognito:agent-1"
TRUSTPILOT_TOKEN = "tp-token"

GRAPH = "https://graph.example/v21.0"
BASE_URLS = {
    "messenger": GRAPH,
    "instagram": GRAPH,
    "facebook": GRAPH,
    "whatsapp": GRAPH,
    "telegram": "https://telegram.example",
    "x": "https://x.example",
    "trustpilot": "https://trustpilot.example",
}
SECRETS: dict[str, object] = {
    "meta_page_tokens": {PAGE: "page-token", "PAGE2": "page2-token", "IGACC": "ig-token"},
    "whatsapp_tokens": {"PNID": "wa-token"},
    "telegram_bot_token": "123456:bot-token",
    "x_user_credentials": {
        "XUSER": {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}
    },
    "trustpilot_clients": {"UNIT": {"client_id": "cid", "client_secret": "csecret", "business_user_id": "BUSER"}},
}


# --- the ports, in memory -------------------------------------------------------------------------


class FakeCases:
    def __init__(self, *cases: Case) -> None:
        self.cases = {case.case_id: case for case in cases}

    def get(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)


class FakeTargets:
    def __init__(self, message: AnsweredMessage | None, platforms: Sequence[str]) -> None:
        self.message = message
        self.known_on = list(platforms)

    def latest_inbound(self, case: Case) -> AnsweredMessage | None:
        return self.message

    def platforms(self, customer_id: str) -> list[str]:
        return sorted(self.known_on)


class FakeReplies:
    """store/replies.py's semantics: a client reply id makes one reply per case; `begin_send`
    takes a queued reply that no attempt has begun; `change` applies a function to the stored reply
    and, with `sending_done`, ends the send begun."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.sending_since: dict[str, datetime] = {}
        self.requests: dict[tuple[str, str, str], str] = {}
        self.episodes: set[tuple[str, str]] = set()
        self.episode_opened: list[tuple[str, str]] = []
        self.episode_closed: list[tuple[str, str]] = []
        self.wait = 0.0
        self.paced: list[tuple[str, str, str, timedelta]] = []

    def create(self, reply: Reply) -> tuple[Reply, bool]:
        if reply.client_reply_id:
            key = (reply.customer_id, reply.case_id, reply.client_reply_id)
            if key in self.requests:
                return self.replies[self.requests[key]], False
            self.requests[key] = reply.reply_id
        assert reply.reply_id not in self.replies
        self.replies[reply.reply_id] = reply
        return reply, True

    def get(self, reply_id: str) -> Reply | None:
        return self.replies.get(reply_id)

    def by_client_id(self, customer_id: str, case_id: str, client_reply_id: str) -> Reply | None:
        reply_id = self.requests.get((customer_id, case_id, client_reply_id))
        return None if reply_id is None else self.replies.get(reply_id)

    def of_customer(self, customer_id: str, case_id: str | None = None) -> list[Reply]:
        found = [
            r
            for r in self.replies.values()
            if r.customer_id == customer_id and (case_id is None or r.case_id == case_id)
        ]
        return sorted(found, key=lambda r: r.created_at)

    def begin_send(self, reply_id: str, now: datetime) -> tuple[Reply | None, bool]:
        reply = self.replies.get(reply_id)
        if reply is None:
            return None, False
        if reply.state is not ReplyState.QUEUED or reply_id in self.sending_since:
            return reply, False
        self.sending_since[reply_id] = now
        return reply, True

    def call_started_at(self, reply_id: str) -> datetime | None:
        return self.sending_since.get(reply_id)

    def change(
        self, reply_id: str, change: Callable[[Reply], Reply | None], *, sending_done: bool = False
    ) -> Reply | None:
        reply = self.replies.get(reply_id)
        if reply is None:
            return None
        changed = change(reply)
        if changed is None and not sending_done:
            return None
        if changed is not None:
            self.replies[reply_id] = changed
        if sending_done:
            self.sending_since.pop(reply_id, None)
        return changed

    def open_reauth_episode(self, platform: str, account: str, now: datetime) -> bool:
        self.episode_opened.append((platform, account))
        if (platform, account) in self.episodes:
            return False
        self.episodes.add((platform, account))
        return True

    def close_reauth_episode(self, platform: str, account: str) -> None:
        self.episode_closed.append((platform, account))
        self.episodes.discard((platform, account))

    def pace(self, platform: str, account: str, recipient: str, spacing: timedelta, now: datetime) -> float:
        self.paced.append((platform, account, recipient, spacing))
        return self.wait

    def put(self, reply: Reply) -> Reply:
        self.replies[reply.reply_id] = reply
        return reply


class FakeOutbound:
    def __init__(self) -> None:
        self.enqueued: list[tuple[str, int]] = []

    def enqueue(self, reply_id: str, delay_seconds: int = 0) -> None:
        self.enqueued.append((reply_id, delay_seconds))


class FakeHttp:
    """Answers each call with the next canned Answer (or raises the next NoAnswer), as the adapter
    does: the Answer names the request it answers. Trustpilot-like tokens come from `token_value`."""

    def __init__(self, *script: Answer | NoAnswer, token_value: str | None = TRUSTPILOT_TOKEN) -> None:
        self.script = list(script)
        self.requests: list[OutboundRequest] = []
        self.token_value = token_value
        self.token_calls = 0
        self.token_failures: list[NoAnswer] = []
        self.during_call: Callable[[], None] | None = None
        self.forgotten: list[tuple[str, str]] = []

    def call(self, request: Any) -> Any:
        assert isinstance(request, OutboundRequest)
        self.requests.append(request)
        if self.during_call is not None:
            during, self.during_call = self.during_call, None
            during()  # e.g. a second delivery of the same queue message, handled meanwhile
        assert self.script, f"unexpected platform call: {request.method} {request.endpoint}"
        item = self.script.pop(0)
        if isinstance(item, NoAnswer):
            raise item
        return replace(item, request=request)

    def token(self, issuer: Any, credentials: Any, base_url: str, account_id: str) -> str | None:
        self.token_calls += 1
        if self.token_failures:
            raise self.token_failures.pop(0)
        return self.token_value

    def forget_token(self, base_url: str, account_id: str) -> None:
        self.forgotten.append((base_url, account_id))


class FakeInteractions:
    def __init__(self) -> None:
        self.sent: list[Interaction] = []

    def send(self, interactions: Sequence[Interaction]) -> int:
        self.sent.extend(interactions)
        return len(interactions)


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> list[bool]:
        self.published.extend(events)
        return [True for _ in events]


class FakeCustomers:
    def __init__(self, known: dict[tuple[str, str], str]) -> None:
        self.known = known

    def customer_for(self, platform: str, user_id: str) -> str | None:
        return self.known.get((platform, user_id))


# --- builders -------------------------------------------------------------------------------------


def make_case(case_id: str = CASE_ID, platform: str = "messenger") -> Case:
    return Case(
        case_id=case_id,
        customer_id=CUSTOMER,
        status=CaseStatus.OPEN,
        team="care",
        priority=Priority.P2,
        intent=Intent.COMPLAINT,
        rule="complaint",
        platform=platform,
        thread_key=f"{platform}:thread",
        opened_at=WROTE,
        due_at=WROTE + HOUR,
        last_inbound_at=WROTE,
    )


def inbound(
    platform: str = "messenger",
    kind: str = "message",
    *,
    external_id: str = "m_in1",
    account: str | None = PAGE,
    user: str = PSID,
    parent: str | None = None,
    thread: str | None = None,
    at: datetime = WROTE,
    deleted: bool = False,
) -> AnsweredMessage:
    return AnsweredMessage(
        platform=platform,
        kind=kind,
        external_id=external_id,
        account_id=account,
        thread_id=thread,
        parent_id=parent,
        user_id=user,
        occurred_at=at,
        deleted=deleted,
    )


@dataclass
class World:
    message: AnsweredMessage | None
    platforms: Sequence[str] = ("messenger",)
    human_agent: frozenset[str] = frozenset()
    script: Sequence[Answer | NoAnswer] = ()
    cases: FakeCases = field(default_factory=lambda: FakeCases(make_case(), make_case(OTHER_CASE_ID)))
    replies: FakeReplies = field(default_factory=FakeReplies)
    outbound: FakeOutbound = field(default_factory=FakeOutbound)
    interactions: FakeInteractions = field(default_factory=FakeInteractions)
    events: FakeEvents = field(default_factory=FakeEvents)

    def __post_init__(self) -> None:
        self.targets = FakeTargets(self.message, self.platforms)
        self.http = FakeHttp(*self.script)

    def desk(self) -> ReplyDesk:
        return ReplyDesk(self.cases, self.targets, self.replies, self.outbound, self.human_agent)

    def sender(self) -> ReplySender:
        return ReplySender(
            self.replies,
            self.targets,
            self.cases,
            lambda: SECRETS,
            self.http,
            self.interactions,
            self.events,
            BASE_URLS,
            self.human_agent,
        )

    def compose(self, now: datetime, text: str = "Sorry: a new one is on its way.", **request: Any) -> Reply:
        reply, new = self.desk().compose(CASE_ID, ReplyRequest(text, **request), AGENT, now)
        assert new
        return reply

    def send(self, reply_id: str, now: datetime) -> SendResult:
        return self.sender().send(reply_id, now)

    def stored(self, reply_id: str) -> Reply:
        reply = self.replies.get(reply_id)
        assert reply is not None
        return reply

    def answer(self, *script: Answer | NoAnswer) -> None:
        self.http.script.extend(script)


def answer(status: int, document: Any = None, headers: dict[str, str] | None = None) -> Answer:
    body = b"" if document is None else json.dumps(document).encode()
    return Answer(status, headers or {"content-type": "application/json"}, body)


def body_of(request: OutboundRequest) -> Any:
    return json.loads(request.body)


# Shaped like the platforms' documented bodies.
def messenger_ok(mid: str = "m_OUT1") -> Answer:
    return answer(200, {"recipient_id": PSID, "message_id": mid})


def graph_error(
    status: int, code: int, message: str, subcode: int | None = None, kind: str = "OAuthException"
) -> Answer:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return answer(status, {"error": error})


def token_expired() -> Answer:
    return graph_error(401, 190, "Error validating access token: Session has expired.", 463)


def whatsapp_ok(wamid: str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1") -> Answer:
    return answer(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "447700900123", "wa_id": "447700900123"}],
            "messages": [{"id": wamid}],
        },
    )


def telegram_ok(chat: int = 6100000901, message_id: int = 77) -> Answer:
    return answer(
        200,
        {
            "ok": True,
            "result": {"message_id": message_id, "chat": {"id": chat, "type": "private"}, "date": 1, "text": "x"},
        },
    )


def telegram_429(retry_after: int = 7) -> Answer:
    return answer(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        },
    )


def telegram_world(**kwargs: Any) -> World:
    message = inbound("telegram", external_id="6100000901:41", account="bot", user="6100000901")
    return World(message, platforms=("telegram",), cases=FakeCases(make_case(platform="telegram")), **kwargs)


def messenger_world(**kwargs: Any) -> World:
    return World(inbound(), **kwargs)


# --- parse_request --------------------------------------------------------------------------------


def test_parse_request_reads_the_documented_body() -> None:
    request = parse_request({"text": "Hello", "client_reply_id": "click-1:a.b_c", "visibility": "private"})
    assert request == ReplyRequest("Hello", "click-1:a.b_c", Visibility.PRIVATE, None)
    template = {"name": "order_update", "language": "pt_BR", "parameters": ["A-1"]}
    request = parse_request({"client_reply_id": "click-2", "template": template})
    assert request == ReplyRequest(
        "[template order_update (pt_BR): A-1]", "click-2", None, Template("order_update", "pt_BR", ("A-1",))
    )
    with pytest.raises(InvalidReply, match="not with a template"):  # the customer would not get that text
        parse_request({"text": "Hello", "template": template})


def test_parse_request_a_template_needs_no_text() -> None:
    request = parse_request({"template": {"name": "hello_world", "language": "en"}})
    assert request.text == "[template hello_world (en)]"  # what the reply shows: which template went
    assert request.template == Template("hello_world", "en", ())
    assert request.visibility is None


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {},
        {"text": ""},
        {"text": "   "},
        {"text": 5},
        {"text": "x" * 20_001},
        {"text": "hi", "extra": 1},
        {"text": "hi", "client_reply_id": ""},
        {"text": "hi", "client_reply_id": "has space"},
        {"text": "hi", "client_reply_id": "x" * 129},
        {"text": "hi", "client_reply_id": 7},
        {"text": "hi", "visibility": "secret"},
        {"text": "hi", "template": "hello_world"},
        {"text": "hi", "template": {"name": "Hello World", "language": "en"}},
        {"text": "hi", "template": {"name": "hello", "language": "english"}},
        {"text": "hi", "template": {"name": "hello", "language": "en", "parameters": "x"}},
        {"text": "hi", "template": {"name": "hello", "language": "en", "parameters": [""]}},
        {"text": "hi", "template": {"name": "hello", "language": "en", "parameters": ["p"] * 21}},
        {"text": "hi", "template": {"name": "hello", "language": "en", "components": []}},
    ],
)
def test_parse_request_refuses_malformed_bodies(body: Any) -> None:
    with pytest.raises(InvalidReply):
        parse_request(body)


def test_parse_request_never_quotes_the_text() -> None:
    secret = "my card is 4111 1111 1111 1111 " * 700
    with pytest.raises(InvalidReply) as raised:
        parse_request({"text": secret})
    assert "4111" not in str(raised.value)


def test_parse_request_takes_the_longest_client_reply_id() -> None:
    assert parse_request({"text": "hi", "client_reply_id": "x" * 128}).client_reply_id == "x" * 128


# --- target_for -----------------------------------------------------------------------------------


def test_a_telegram_message_is_answered_in_its_chat_quoting_it() -> None:
    message = inbound("telegram", external_id="-1009:41", account="bot", user="6100", thread="-1009:5")
    assert target_for(message, True) == Target("message", "bot", "-1009", "-1009:41", "-1009:5")


def test_a_dm_is_answered_to_its_author_quoting_it() -> None:
    assert target_for(inbound(), True) == Target("message", PAGE, PSID, "m_in1", None)
    wa = inbound("whatsapp", external_id="wamid.IN", account="PNID", user="447700900123")
    assert target_for(wa, True) == Target("message", "PNID", "447700900123", "wamid.IN", None)


def test_a_tweet_is_answered_by_a_reply_tweet_or_privately_by_a_dm() -> None:
    tweet = inbound("x", "mention", external_id="1445", account="XUSER", user="2244", thread="1440")
    assert target_for(tweet, False) == Target("mention", "XUSER", "2244", "1445", "1440")
    assert target_for(tweet, True) == Target("message", "XUSER", "2244", None, None)


def test_a_review_is_answered_by_the_review_reply() -> None:
    review = inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp-user")
    assert target_for(review, False) == Target("review", "UNIT", "tp-user", "rev-1", None)


def test_a_facebook_comment_is_answered_under_itself() -> None:
    comment = inbound("facebook", "comment", external_id="100_200", user="fb-user", parent="100_150")
    assert target_for(comment, False) == Target("comment", PAGE, "fb-user", "100_200", None)


def test_a_public_answer_to_an_instagram_reply_goes_under_its_top_level_comment() -> None:
    reply = inbound("instagram", "reply", external_id="ig-c2", account="IGACC", user="igsid", parent="ig-c1")
    assert target_for(reply, False).in_reply_to == "ig-c1"


def test_a_private_answer_to_an_instagram_reply_names_the_customers_own_comment() -> None:
    reply = inbound("instagram", "reply", external_id="ig-c2", account="IGACC", user="igsid", parent="ig-c1")
    assert target_for(reply, True).in_reply_to == "ig-c2"


def test_a_telegram_button_press_is_answered_in_its_chat() -> None:
    pressed = inbound(
        "telegram", external_id="callback:4382", account="bot", user="6100", thread="6100", parent="6100:40"
    )
    assert target_for(pressed, True).recipient_id == "6100"


# --- ReplyDesk.options ----------------------------------------------------------------------------


def test_options_show_the_window_and_the_limit_before_anyone_types() -> None:
    shown = messenger_world().desk().options(CASE_ID, WROTE + 2 * HOUR)
    assert shown["platform"] == "messenger"
    assert shown["answerable"] is True
    assert shown["limit"] == 2000
    window = shown["window"]
    assert isinstance(window, dict)
    assert window["open"] is True
    assert window["closes_at"] == (WROTE + 24 * HOUR).isoformat()


def test_options_of_a_tweet_show_xs_weighted_limit_and_no_window() -> None:
    tweet = inbound("x", "mention", external_id="1445", account="XUSER", user="2244")
    shown = World(tweet, platforms=("x",)).desk().options(CASE_ID, WROTE + 30 * DAY)
    assert shown["limit"] == 280
    assert shown["window"]["open"] is True
    assert shown["window"]["closes_at"] is None


def test_options_of_a_deleted_message_or_none_say_it_cannot_be_answered() -> None:
    assert World(inbound(deleted=True)).desk().options(CASE_ID, WROTE + HOUR)["answerable"] is False
    nothing = World(None).desk().options(CASE_ID, WROTE + HOUR)
    assert nothing == {"platform": "messenger", "answerable": False, "window": None, "limit": None}


def test_options_of_an_unknown_case() -> None:
    with pytest.raises(CaseNotFound):
        messenger_world().desk().options("NOPE", WROTE)


# --- ReplyDesk.compose: windows -------------------------------------------------------------------


def test_a_messenger_dm_at_23_59_is_queued_as_a_plain_response() -> None:
    world = messenger_world(human_agent=frozenset({PAGE}))
    reply = world.compose(AT_23_59)
    assert reply.state is ReplyState.QUEUED
    assert reply.tag is None
    assert reply.visibility is Visibility.PRIVATE
    assert reply.target == Target("message", PAGE, PSID, "m_in1", None)
    assert (reply.case_id, reply.customer_id, reply.by, reply.created_at) == (CASE_ID, CUSTOMER, AGENT, AT_23_59)
    assert reply.reply_id.startswith(CUSTOMER + "_R")
    assert world.replies.get(reply.reply_id) == reply
    assert world.outbound.enqueued == [(reply.reply_id, 0)]


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_24_01_is_refused_with_the_customers_other_channels(platform: str) -> None:
    world = World(inbound(platform), platforms=(platform, "whatsapp", "x"))
    with pytest.raises(ReplyRefused) as refused:
        world.compose(AT_24_01)
    assert refused.value.code == "window_closed"
    assert refused.value.options == ("channel:whatsapp", "channel:x")
    assert refused.value.to_dict()["options"] == ["channel:whatsapp", "channel:x"]
    assert world.replies.replies == {}
    assert world.outbound.enqueued == []


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_24_01_goes_tagged_human_agent_on_an_enabled_account(platform: str) -> None:
    world = World(inbound(platform), platforms=(platform,), human_agent=frozenset({PAGE}))
    assert world.compose(AT_24_01).tag == "HUMAN_AGENT"


def test_human_agent_is_per_account() -> None:
    world = messenger_world(human_agent=frozenset({"PAGE2"}))
    with pytest.raises(ReplyRefused) as refused:
        world.compose(AT_24_01)
    assert refused.value.code == "window_closed"


def test_human_agent_up_to_exactly_7_days_and_not_a_minute_more() -> None:
    world = messenger_world(human_agent=frozenset({PAGE}))
    assert world.compose(WROTE + 7 * DAY).tag == "HUMAN_AGENT"
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + 7 * DAY + MINUTE)
    assert refused.value.code == "window_closed"
    assert len(world.replies.replies) == 1


def whatsapp_world(**kwargs: Any) -> World:
    message = inbound("whatsapp", external_id="wamid.IN", account="PNID", user="447700900123")
    return World(message, platforms=("whatsapp", "messenger"), **kwargs)


def test_whatsapp_free_text_at_23_59_is_queued() -> None:
    reply = whatsapp_world().compose(AT_23_59)
    assert (reply.state, reply.template, reply.tag) == (ReplyState.QUEUED, None, None)


def test_whatsapp_free_text_at_24_01_is_refused_with_the_template_option_first() -> None:
    world = whatsapp_world()
    with pytest.raises(ReplyRefused) as refused:
        world.compose(AT_24_01)
    assert refused.value.code == "window_closed"
    assert refused.value.options == ("template", "channel:messenger")
    assert world.outbound.enqueued == []


def test_a_whatsapp_template_goes_after_two_days() -> None:
    world = whatsapp_world()
    template = Template("order_update", "en_US", ("A-1",))
    reply = world.compose(WROTE + 2 * DAY, text="", template=template)
    assert reply.template == template
    assert world.outbound.enqueued == [(reply.reply_id, 0)]


def test_a_template_on_messenger_is_not_answerable() -> None:
    with pytest.raises(ReplyRefused) as refused:
        messenger_world().compose(WROTE + HOUR, template=Template("hello", "en"))
    assert refused.value.code == "not_answerable"


def facebook_world(**kwargs: Any) -> World:
    comment = inbound("facebook", "comment", external_id="100_200", user="fb-user")
    return World(comment, platforms=("facebook", "messenger"), **kwargs)


def test_a_private_reply_to_a_facebook_comment_within_7_days() -> None:
    world = facebook_world(human_agent=frozenset({PAGE}))
    reply = world.compose(WROTE + 7 * DAY - MINUTE, visibility=Visibility.PRIVATE)
    assert reply.visibility is Visibility.PRIVATE
    assert reply.target == Target("private_reply", PAGE, "fb-user", "100_200", None)
    assert reply.tag is None


def test_a_private_reply_to_a_facebook_comment_after_7_days_is_refused_offering_a_public_one() -> None:
    world = facebook_world()
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + 7 * DAY + MINUTE, visibility=Visibility.PRIVATE)
    assert refused.value.code == "window_closed"
    assert refused.value.options == ("public", "channel:messenger")


def test_a_public_comment_reply_goes_a_month_later_and_is_the_default() -> None:
    reply = facebook_world().compose(WROTE + 30 * DAY)
    assert reply.visibility is Visibility.PUBLIC
    assert reply.target == Target("comment", PAGE, "fb-user", "100_200", None)


@pytest.mark.parametrize(
    ("message", "platform"),
    [
        (inbound("telegram", external_id="6100:41", account="bot", user="6100"), "telegram"),
        (inbound("x", "mention", external_id="1445", account="XUSER", user="2244"), "x"),
        (inbound("x", "message", external_id="dm-1", account="XUSER", user="2244"), "x"),
        (inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp"), "trustpilot"),
    ],
)
def test_telegram_x_and_trustpilot_answer_a_year_later(message: AnsweredMessage, platform: str) -> None:
    reply = World(message, platforms=(platform,)).compose(WROTE + 365 * DAY)
    assert reply.platform == platform
    assert reply.state is ReplyState.QUEUED


# --- ReplyDesk.compose: length, answerability -----------------------------------------------------


def x_world() -> World:
    return World(inbound("x", "mention", external_id="1445", account="XUSER", user="2244"), platforms=("x",))


def test_a_reply_tweet_of_141_cjk_characters_is_too_long_as_x_counts() -> None:
    world = x_world()
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + HOUR, text="漢" * 141)
    assert refused.value.code == "too_long"
    assert refused.value.options == ("max_length:280",)
    assert "282" in refused.value.message
    assert world.outbound.enqueued == []


@pytest.mark.parametrize("text", ["a" * 280, "漢" * 140])
def test_a_reply_tweet_of_280_weighted_characters_goes(text: str) -> None:
    assert x_world().compose(WROTE + HOUR, text=text).text == text


def test_a_reply_tweet_of_281_ascii_characters_is_too_long() -> None:
    with pytest.raises(ReplyRefused) as refused:
        x_world().compose(WROTE + HOUR, text="a" * 281)
    assert refused.value.code == "too_long"


def test_an_x_dm_is_not_weighted() -> None:
    world = World(inbound("x", "message", external_id="dm-1", account="XUSER", user="2244"), platforms=("x",))
    assert world.compose(WROTE + HOUR, text="漢" * 5000).platform == "x"


def test_an_instagram_dm_is_measured_in_bytes() -> None:
    world = World(inbound("instagram", account="IGACC", user="igsid"), platforms=("instagram",))
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + HOUR, text="é" * 501)  # 501 characters, 1,002 bytes
    assert refused.value.code == "too_long"
    assert world.compose(WROTE + HOUR, text="é" * 500).text == "é" * 500


def test_a_deleted_message_is_not_answerable() -> None:
    world = World(inbound(deleted=True))
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + HOUR)
    assert refused.value.code == "not_answerable"
    assert world.outbound.enqueued == []


def test_a_case_without_a_customer_message_is_not_answerable() -> None:
    with pytest.raises(ReplyRefused) as refused:
        World(None).compose(WROTE + HOUR)
    assert refused.value.code == "not_answerable"


def test_an_unknown_case_is_not_found() -> None:
    world = messenger_world()
    with pytest.raises(CaseNotFound):
        world.desk().compose("NOPE", ReplyRequest("hi"), AGENT, WROTE + HOUR)


def test_a_second_private_reply_to_the_same_comment_is_not_answerable() -> None:
    world = facebook_world()
    first = world.compose(WROTE + HOUR, visibility=Visibility.PRIVATE)
    with pytest.raises(ReplyRefused) as refused:
        world.compose(WROTE + 2 * HOUR, visibility=Visibility.PRIVATE)
    assert refused.value.code == "not_answerable"
    assert "public" in refused.value.options
    assert world.outbound.enqueued == [(first.reply_id, 0)]


def test_a_private_reply_to_another_comment_is_not_blocked_by_the_first() -> None:
    world = facebook_world()
    world.compose(WROTE + HOUR, visibility=Visibility.PRIVATE)
    world.targets.message = inbound("facebook", "comment", external_id="100_300", user="fb-user")
    second = world.compose(WROTE + 2 * HOUR, visibility=Visibility.PRIVATE)
    assert second.target.in_reply_to == "100_300"


def test_a_public_reply_after_a_private_one_to_the_same_comment_goes() -> None:
    world = facebook_world()
    world.compose(WROTE + HOUR, visibility=Visibility.PRIVATE)
    assert world.compose(WROTE + 2 * HOUR).visibility is Visibility.PUBLIC


# --- ReplyDesk.compose: idempotency ---------------------------------------------------------------


def test_the_same_client_reply_id_returns_the_same_reply_and_requeues_it_while_queued() -> None:
    world = messenger_world()
    desk = world.desk()
    first, new = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    again, new_again = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR + MINUTE)
    assert (new, new_again) == (True, False)
    assert again == first
    assert len(world.replies.replies) == 1
    assert world.outbound.enqueued == [(first.reply_id, 0), (first.reply_id, 0)]


def test_the_same_client_reply_id_after_it_was_sent_enqueues_nothing() -> None:
    world = messenger_world(script=[messenger_ok()])
    desk = world.desk()
    first, _ = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    world.send(first.reply_id, WROTE + HOUR)
    world.outbound.enqueued.clear()
    again, new = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR + MINUTE)
    assert new is False
    assert again.reply_id == first.reply_id
    assert again.state is ReplyState.SENT
    assert world.outbound.enqueued == []
    assert len(world.http.requests) == 1


def test_a_retried_post_after_the_window_closed_returns_the_reply_it_made() -> None:
    world = messenger_world()
    desk = world.desk()
    first, _ = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, AT_23_59)
    again, new = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, AT_24_01)
    assert (again.reply_id, new) == (first.reply_id, False)


def test_the_same_client_reply_id_on_another_case_is_another_reply() -> None:
    world = messenger_world()
    desk = world.desk()
    first, _ = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    other, new = desk.compose(OTHER_CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    assert new is True
    assert other.reply_id != first.reply_id
    assert other.case_id == OTHER_CASE_ID


class RacingReplies(FakeReplies):
    """A concurrent request with the same client reply id won the create: the lookup before it
    found nothing, the create finds the winner's."""

    def by_client_id(self, customer_id: str, case_id: str, client_reply_id: str) -> Reply | None:
        return None


def test_a_double_post_that_loses_the_create_race_gets_the_winners_reply() -> None:
    world = messenger_world(replies=RacingReplies())
    desk = world.desk()
    first, _ = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    again, new = desk.compose(CASE_ID, ReplyRequest("hi", "click-1"), AGENT, WROTE + HOUR)
    assert (again.reply_id, new) == (first.reply_id, False)
    assert len(world.replies.replies) == 1
    assert [reply_id for reply_id, _ in world.outbound.enqueued] == [first.reply_id, first.reply_id]


# --- ReplySender.send: success and the documented request ------------------------------------------


def test_a_messenger_reply_is_sent_once_and_recorded_as_the_agents_outbound_interaction() -> None:
    world = messenger_world(script=[messenger_ok("m_OUT1")])
    reply = world.compose(WROTE + HOUR)
    result = world.send(reply.reply_id, WROTE + HOUR + MINUTE)
    assert result == SendResult(retry_after=None, state=ReplyState.SENT)
    (request,) = world.http.requests
    assert (request.method, request.url) == ("POST", f"{GRAPH}/{PAGE}/messages")
    assert request.headers["Authorization"] == "Bearer page-token"
    assert body_of(request) == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": reply.text, "metadata": f"socialcrm:{reply.reply_id}"},
    }
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.SENT
    assert stored.platform_message_id == "m_OUT1"
    assert stored.sent_at == WROTE + HOUR + MINUTE
    assert stored.attempts == 1
    assert stored.error is None
    assert reply.reply_id not in world.replies.sending_since
    (interaction,) = world.interactions.sent
    assert interaction.external_id == "m_OUT1"
    assert interaction.reply_id == reply.reply_id
    assert interaction.sent_by == AGENT
    assert interaction.direction is Direction.OUTBOUND
    assert world.replies.episode_closed == [("messenger", PAGE)]
    assert world.events.published == []


def test_a_human_agent_reply_goes_as_a_message_tag() -> None:
    world = messenger_world(human_agent=frozenset({PAGE}), script=[messenger_ok()])
    reply = world.compose(AT_24_01)
    assert world.send(reply.reply_id, AT_24_01 + MINUTE).state is ReplyState.SENT
    document = body_of(world.http.requests[0])
    assert (document["messaging_type"], document["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_a_whatsapp_reply_quotes_the_message_and_is_named_by_its_wamid() -> None:
    world = whatsapp_world(script=[whatsapp_ok("wamid.OUT")])
    reply = world.compose(WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR)
    (request,) = world.http.requests
    assert request.url == f"{GRAPH}/PNID/messages"
    document = body_of(request)
    assert document["to"] == "447700900123"
    assert document["text"]["body"] == reply.text
    assert document["context"] == {"message_id": "wamid.IN"}
    assert document["biz_opaque_callback_data"] == f"socialcrm:{reply.reply_id}"
    assert world.stored(reply.reply_id).platform_message_id == "wamid.OUT"
    assert world.replies.paced == [("whatsapp", "PNID", "447700900123", timedelta(seconds=6))]
    assert world.interactions.sent[0].kind is Kind.MESSAGE


def test_a_public_facebook_comment_reply_posts_under_the_comment() -> None:
    world = facebook_world(script=[answer(200, {"id": "100_999"})])
    reply = world.compose(WROTE + 30 * DAY)
    world.send(reply.reply_id, WROTE + 30 * DAY)
    (request,) = world.http.requests
    assert request.url == f"{GRAPH}/100_200/comments"
    assert body_of(request) == {"message": reply.text}
    (interaction,) = world.interactions.sent
    assert (interaction.kind, interaction.parent_id, interaction.external_id) == (Kind.REPLY, "100_200", "100_999")


def test_a_private_facebook_comment_reply_names_the_comment() -> None:
    world = facebook_world(script=[answer(200, {"recipient_id": "fb-user", "message_id": "m_PRIV"})])
    reply = world.compose(WROTE + 2 * DAY, visibility=Visibility.PRIVATE)
    world.send(reply.reply_id, WROTE + 2 * DAY)
    document = body_of(world.http.requests[0])
    assert document["recipient"] == {"comment_id": "100_200"}
    assert document["messaging_type"] == "RESPONSE"
    assert world.interactions.sent[0].kind is Kind.MESSAGE


def test_a_2xx_without_an_id_is_sent_but_records_no_interaction_yet() -> None:
    world = messenger_world(script=[answer(200, {})])
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.SENT
    assert world.stored(reply.reply_id).platform_message_id is None
    assert world.interactions.sent == []


def test_a_trustpilot_reply_takes_a_token_and_is_named_by_its_review() -> None:
    review = inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp")
    world = World(review, platforms=("trustpilot",), script=[answer(201)])
    reply = world.compose(WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR)
    (request,) = world.http.requests
    assert request.url == "https://trustpilot.example/v1/private/reviews/rev-1/reply"
    assert request.headers["Authorization"] == "Bearer tp-token"
    assert body_of(request) == {"message": reply.text, "authorBusinessUserId": "BUSER"}
    # One per reply: a second answer to the same review (Trustpilot replaces it) is its own interaction.
    assert world.stored(reply.reply_id).platform_message_id == f"review-reply:rev-1:{reply.reply_id}"
    assert world.http.token_calls == 1


def test_a_trustpilot_401_forgets_the_cached_token_and_tries_once_more() -> None:
    review = inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp")
    world = World(review, platforms=("trustpilot",), script=[answer(401, {"message": "Unauthorized"}), answer(201)])
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.SENT
    assert world.http.forgotten == [("https://trustpilot.example", "UNIT")]
    assert len(world.http.requests) == 2
    assert world.events.published == []


def test_a_refused_trustpilot_token_fails_the_reply_for_reauthorisation_without_a_send() -> None:
    review = inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp")
    world = World(review, platforms=("trustpilot",))
    world.http.token_value = None
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.FAILED
    assert world.http.requests == []
    error = world.stored(reply.reply_id).error
    assert error is not None
    assert error.error_class is ErrorClass.REAUTH
    assert len(world.events.published) == 1


def test_a_channel_account_without_credentials_fails_permanently_without_a_call() -> None:
    world = World(inbound(account="PAGE-UNKNOWN"))
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.FAILED
    assert world.http.requests == []
    error = world.stored(reply.reply_id).error
    assert error is not None
    assert (error.code, error.error_class) == ("no_credentials", ErrorClass.PERMANENT)
    assert "page-token" not in error.message


# --- ReplySender.send: the window, again ----------------------------------------------------------


def test_a_reply_queued_at_23_59_and_sent_at_24_01_fails_without_calling_the_platform() -> None:
    world = messenger_world()
    reply = world.compose(AT_23_59)
    result = world.send(reply.reply_id, AT_24_01)
    assert result.state is ReplyState.FAILED
    assert result.retry_after is None
    assert world.http.requests == []
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.FAILED
    assert stored.error is not None
    assert (stored.error.code, stored.error.error_class) == ("window_closed", ErrorClass.PERMANENT)
    assert reply.reply_id not in world.replies.sending_since
    assert world.interactions.sent == []


def test_a_whatsapp_text_queued_at_23_59_and_sent_at_24_01_fails_but_a_template_goes() -> None:
    world = whatsapp_world(script=[whatsapp_ok()])
    text = world.compose(AT_23_59)
    template = world.compose(
        AT_23_59, text="[template order_update (en_US)]", template=Template("order_update", "en_US")
    )
    assert world.send(text.reply_id, AT_24_01).state is ReplyState.FAILED
    assert world.send(template.reply_id, AT_24_01 + DAY).state is ReplyState.SENT
    (request,) = world.http.requests
    assert body_of(request)["type"] == "template"
    assert world.interactions.sent[0].text == "[template order_update (en_US)]"


def test_a_message_deleted_while_the_reply_waited_is_not_answered() -> None:
    world = messenger_world()
    reply = world.compose(WROTE + HOUR)
    world.targets.message = inbound(deleted=True)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.FAILED
    assert world.http.requests == []
    error = world.stored(reply.reply_id).error
    assert error is not None
    assert error.error_class is ErrorClass.PERMANENT


def test_a_reply_queued_at_23_59_on_a_human_agent_account_never_goes_as_response_after_24_hours() -> None:
    world = messenger_world(human_agent=frozenset({PAGE}), script=[messenger_ok()])
    reply = world.compose(AT_23_59)
    world.send(reply.reply_id, AT_24_01)
    responses = [r for r in world.http.requests if body_of(r).get("messaging_type") == "RESPONSE"]
    assert responses == []


def test_a_tagged_reply_sent_after_the_customer_wrote_again_goes_as_response() -> None:
    world = messenger_world(human_agent=frozenset({PAGE}), script=[messenger_ok()])
    reply = world.compose(AT_24_01)
    assert reply.tag == "HUMAN_AGENT"
    world.targets.message = inbound(external_id="m_in2", at=AT_24_01 + MINUTE)
    world.send(reply.reply_id, AT_24_01 + 2 * MINUTE)
    (request,) = world.http.requests
    assert body_of(request)["messaging_type"] == "RESPONSE"


# --- ReplySender.send: never twice ----------------------------------------------------------------


def test_a_redelivered_send_of_a_sent_reply_calls_nothing_and_requeues_its_interaction() -> None:
    world = messenger_world(script=[messenger_ok("m_OUT1")])
    reply = world.compose(WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR)
    result = world.send(reply.reply_id, WROTE + HOUR + MINUTE)
    assert result.state is ReplyState.SENT
    assert result.retry_after is None
    assert len(world.http.requests) == 1
    assert [i.external_id for i in world.interactions.sent] == ["m_OUT1", "m_OUT1"]
    assert world.stored(reply.reply_id).attempts == 1


@pytest.mark.parametrize("state", [ReplyState.DELIVERED, ReplyState.READ])
def test_a_redelivered_send_of_a_delivered_reply_only_repairs_the_interaction(state: ReplyState) -> None:
    world = messenger_world()
    reply = world.compose(WROTE + HOUR)
    world.replies.put(replace(reply, state=state, platform_message_id="m_X", sent_at=WROTE + HOUR))
    assert world.send(reply.reply_id, WROTE + 2 * HOUR).state is state
    assert world.http.requests == []
    assert [i.external_id for i in world.interactions.sent] == ["m_X"]


@pytest.mark.parametrize("state", [ReplyState.FAILED, ReplyState.UNKNOWN])
def test_a_redelivered_send_of_a_failed_or_unknown_reply_does_nothing(state: ReplyState) -> None:
    world = messenger_world()
    reply = world.compose(WROTE + HOUR)
    world.replies.put(replace(reply, state=state))
    assert world.send(reply.reply_id, WROTE + 2 * HOUR).state is state
    assert world.http.requests == []
    assert world.interactions.sent == []
    assert world.stored(reply.reply_id).state is state


def test_a_send_whose_earlier_attempt_began_becomes_unknown_and_calls_nothing() -> None:
    world = messenger_world(script=[messenger_ok()])
    reply = world.compose(WROTE + HOUR)
    reply_now, mine = world.replies.begin_send(reply.reply_id, WROTE + HOUR)  # a sender that died mid-call
    assert mine
    assert reply_now is not None
    # SQS brings it back after the visibility timeout (6 minutes), long after any call ended.
    result = world.send(reply.reply_id, WROTE + HOUR + 10 * MINUTE)
    assert result.state is ReplyState.UNKNOWN
    assert world.http.requests == []
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.UNKNOWN
    assert stored.attempts == 1
    assert reply.reply_id not in world.replies.sending_since
    # and it is never sent afterwards either
    assert world.send(reply.reply_id, WROTE + 2 * HOUR).state is ReplyState.UNKNOWN
    assert world.http.requests == []
    assert world.interactions.sent == []


def test_a_timeout_after_the_request_left_is_unknown_and_never_repeated() -> None:
    world = messenger_world(script=[NoAnswer(True, "timed out"), messenger_ok()])
    reply = world.compose(WROTE + HOUR)
    result = world.send(reply.reply_id, WROTE + HOUR)
    assert result == SendResult(retry_after=None, state=ReplyState.UNKNOWN)
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.UNKNOWN
    assert stored.error is not None
    assert stored.error.code == "unknown"
    assert world.send(reply.reply_id, WROTE + HOUR + MINUTE).state is ReplyState.UNKNOWN
    assert len(world.http.requests) == 1
    assert world.interactions.sent == []


def test_a_request_that_never_left_is_retried_after_a_delay_and_then_sent_once() -> None:
    world = messenger_world(script=[NoAnswer(False, "no connection: ConnectionRefusedError"), messenger_ok("m_1")])
    reply = world.compose(WROTE + HOUR)
    first = world.send(reply.reply_id, WROTE + HOUR)
    assert first.state is ReplyState.QUEUED
    assert first.retry_after is not None
    assert first.retry_after >= 1
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.QUEUED
    assert stored.error is not None
    assert (stored.error.code, stored.error.error_class) == ("no_connection", ErrorClass.RETRY)
    assert reply.reply_id not in world.replies.sending_since
    assert world.send(reply.reply_id, WROTE + HOUR + MINUTE).state is ReplyState.SENT
    assert len(world.http.requests) == 2
    assert [i.external_id for i in world.interactions.sent] == ["m_1"]
    assert world.stored(reply.reply_id).error is None


def test_a_platform_that_never_accepts_a_connection_is_backed_off_and_given_up() -> None:
    refusals = [NoAnswer(False, "no connection: ConnectionRefusedError") for _ in range(MAX_SEND_ATTEMPTS + 2)]
    world = messenger_world(script=refusals)
    reply = world.compose(WROTE + HOUR)
    delays: list[int] = []
    now = WROTE + HOUR
    for _ in range(MAX_SEND_ATTEMPTS + 2):
        result = world.send(reply.reply_id, now)
        if result.retry_after is None:
            break
        delays.append(result.retry_after)
        now += timedelta(seconds=result.retry_after)  # the queue brings it back then
    assert delays[1] > delays[0]
    assert world.stored(reply.reply_id).state is ReplyState.FAILED


def test_a_second_delivery_while_the_first_call_is_in_flight_calls_nothing() -> None:
    world = messenger_world(script=[messenger_ok("m_1")])
    reply = world.compose(WROTE + HOUR)
    concurrent: list[SendResult] = []
    world.http.during_call = lambda: concurrent.append(world.send(reply.reply_id, WROTE + HOUR))
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.SENT
    assert len(world.http.requests) == 1
    # It looks again once the first call must have ended, rather than guess at its outcome.
    assert [(r.state, r.retry_after is not None) for r in concurrent] == [(ReplyState.QUEUED, True)]
    assert world.stored(reply.reply_id).state is ReplyState.SENT  # the platform's answer wins
    assert len(world.interactions.sent) == 1


def test_a_second_delivery_during_a_call_answered_429_does_not_lose_the_reply() -> None:
    world = telegram_world(script=[telegram_429(3), telegram_ok()])
    reply = world.compose(WROTE + HOUR)
    concurrent: list[SendResult] = []
    world.http.during_call = lambda: concurrent.append(world.send(reply.reply_id, WROTE + HOUR))
    first = world.send(reply.reply_id, WROTE + HOUR)
    assert first.retry_after is not None
    world.send(reply.reply_id, WROTE + HOUR + MINUTE)  # the re-enqueued record
    assert world.stored(reply.reply_id).state is ReplyState.SENT
    assert len(world.http.requests) == 2


def test_a_secrets_outage_before_any_platform_call_does_not_make_the_reply_unknown() -> None:
    world = messenger_world(script=[messenger_ok("m_1")])
    reply = world.compose(WROTE + HOUR)
    loads = 0

    def secrets() -> dict[str, object]:
        nonlocal loads
        loads += 1
        if loads == 1:
            raise RuntimeError("Secrets Manager throttled the request")
        return SECRETS

    sender = ReplySender(
        world.replies, world.targets, world.cases, secrets, world.http, world.interactions, world.events, BASE_URLS
    )
    with pytest.raises(RuntimeError):
        sender.send(reply.reply_id, WROTE + HOUR)  # the handler reports the record; SQS brings it back
    assert world.http.requests == []
    assert sender.send(reply.reply_id, WROTE + HOUR + MINUTE).state is ReplyState.SENT
    assert len(world.http.requests) == 1


def test_an_unreachable_token_endpoint_leaves_the_reply_to_be_sent_later() -> None:
    review = inbound("trustpilot", "review", external_id="rev-1", account="UNIT", user="tp")
    world = World(review, platforms=("trustpilot",), script=[answer(201)])
    world.http.token_failures.append(NoAnswer(False, "no connection: ConnectionRefusedError"))
    reply = world.compose(WROTE + HOUR)
    try:
        first = world.send(reply.reply_id, WROTE + HOUR)
    except NoAnswer:
        first = None  # escaped to the handler: SQS brings it back
    assert first is None or first.state is not ReplyState.FAILED
    assert world.http.requests == []
    assert world.send(reply.reply_id, WROTE + HOUR + MINUTE).state is ReplyState.SENT
    assert len(world.http.requests) == 1


# --- ReplySender.send: error classes ---------------------------------------------------------------


def test_a_telegram_429_waits_its_retry_after_then_sends_once() -> None:
    world = telegram_world(script=[telegram_429(7), telegram_ok(6100000901, 78)])
    reply = world.compose(WROTE + HOUR)
    waiting = world.send(reply.reply_id, WROTE + HOUR)
    assert waiting == SendResult(retry_after=8, state=ReplyState.QUEUED)
    stored = world.stored(reply.reply_id)
    assert stored.state is ReplyState.QUEUED
    assert stored.attempts == 1
    assert stored.error is not None
    assert (stored.error.code, stored.error.error_class) == ("429", ErrorClass.RETRY)
    assert world.send(reply.reply_id, WROTE + HOUR + 8 * timedelta(seconds=1)).state is ReplyState.SENT
    stored = world.stored(reply.reply_id)
    assert (stored.platform_message_id, stored.attempts) == ("6100000901:78", 2)
    assert len(world.interactions.sent) == 1
    request = world.http.requests[0]
    assert request.url == "https://telegram.example/bot123456:bot-token/sendMessage"
    assert body_of(request)["reply_parameters"] == {"message_id": 41, "allow_sending_without_reply": True}


def test_a_retried_reply_gives_up_as_failed_after_max_send_attempts() -> None:
    world = telegram_world(script=[telegram_429(3) for _ in range(MAX_SEND_ATTEMPTS)])
    reply = world.compose(WROTE + HOUR)
    now = WROTE + HOUR
    for attempt in range(1, MAX_SEND_ATTEMPTS):
        result = world.send(reply.reply_id, now)
        assert result == SendResult(retry_after=4, state=ReplyState.QUEUED), attempt
        assert world.stored(reply.reply_id).attempts == attempt
        now += timedelta(seconds=4)
    last = world.send(reply.reply_id, now)
    assert last == SendResult(retry_after=None, state=ReplyState.FAILED)
    stored = world.stored(reply.reply_id)
    assert stored.attempts == MAX_SEND_ATTEMPTS
    assert stored.error is not None
    assert (stored.error.code, stored.error.error_class) == ("429", ErrorClass.RETRY)
    assert world.send(reply.reply_id, now + HOUR).state is ReplyState.FAILED
    assert len(world.http.requests) == MAX_SEND_ATTEMPTS


def test_an_x_429_waits_until_the_rate_limit_resets() -> None:
    tweet = inbound("x", "mention", external_id="1445", account="XUSER", user="2244")
    reset = str(int(time.time()) + 120)
    limited = answer(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"})
    limited = replace(limited, headers={"x-rate-limit-reset": reset, "content-type": "application/json"})
    world = World(tweet, platforms=("x",), script=[limited])
    reply = world.compose(WROTE + HOUR)
    result = world.send(reply.reply_id, WROTE + HOUR)
    assert result.state is ReplyState.QUEUED
    assert result.retry_after is not None
    assert 110 <= result.retry_after <= 122


def test_a_5xx_without_a_hint_backs_off_from_ten_seconds() -> None:
    """Meta's own error object says the Graph API did not take it: tried again, from ten seconds."""
    transient = {"error": {"message": "Service temporarily unavailable", "code": 2, "is_transient": True}}
    world = messenger_world(script=[answer(503, transient)])
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR) == SendResult(retry_after=10, state=ReplyState.QUEUED)


def test_a_gateway_5xx_may_have_landed_and_is_never_sent_again() -> None:
    world = messenger_world(script=[answer(503, None, {"content-type": "text/html"}), messenger_ok()])
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR) == SendResult(retry_after=None, state=ReplyState.UNKNOWN)
    assert world.send(reply.reply_id, WROTE + 2 * HOUR).state is ReplyState.UNKNOWN
    assert len(world.http.requests) == 1


def test_a_permanent_error_fails_the_reply_in_the_platforms_words() -> None:
    refused = graph_error(
        400, 131047, "Re-engagement message", kind="OAuthException"
    )  # WhatsApp: outside the 24 h window
    world = whatsapp_world(script=[refused])
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR) == SendResult(retry_after=None, state=ReplyState.FAILED)
    error = world.stored(reply.reply_id).error
    assert error == ReplyError("131047", ErrorClass.PERMANENT, "Re-engagement message")
    assert world.events.published == []
    assert world.interactions.sent == []


def test_messengers_outside_the_window_error_is_permanent_with_its_subcode() -> None:
    world = messenger_world(
        script=[graph_error(400, 10, "(#10) This message is sent outside of allowed window.", 2018278)]
    )
    reply = world.compose(WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR)
    error = world.stored(reply.reply_id).error
    assert error is not None
    assert (error.code, error.error_class) == ("10/2018278", ErrorClass.PERMANENT)


# --- ReplySender.send: re-authorisation ------------------------------------------------------------


def test_a_revoked_token_fails_replies_and_alerts_once_per_episode_until_a_send_works() -> None:
    world = messenger_world(script=[token_expired(), token_expired(), messenger_ok(), token_expired()])
    replies = [world.compose(WROTE + HOUR + n * MINUTE, text=f"reply {n}") for n in range(4)]

    assert world.send(replies[0].reply_id, WROTE + 2 * HOUR).state is ReplyState.FAILED
    error = world.stored(replies[0].reply_id).error
    assert error is not None
    assert (error.code, error.error_class) == ("190/463", ErrorClass.REAUTH)
    (event,) = world.events.published
    assert event.detail_type is DetailType.CHANNEL_NEEDS_REAUTHORIZATION
    assert event.detail_type.value == "Channel Needs Reauthorization"
    assert (event.detail["platform"], event.detail["channel_account"], event.detail["code"]) == (
        "messenger",
        PAGE,
        "190/463",
    )
    assert "page-token" not in json.dumps(event.detail)

    assert world.send(replies[1].reply_id, WROTE + 2 * HOUR).state is ReplyState.FAILED
    assert len(world.events.published) == 1  # the same episode
    assert world.replies.episode_opened == [("messenger", PAGE), ("messenger", PAGE)]

    assert world.send(replies[2].reply_id, WROTE + 3 * HOUR).state is ReplyState.SENT  # re-authorised
    assert world.replies.episodes == set()

    assert world.send(replies[3].reply_id, WROTE + 4 * HOUR).state is ReplyState.FAILED
    assert len(world.events.published) == 2  # a new episode
    assert len(world.http.requests) == 4


def test_a_reauth_failure_on_one_account_does_not_silence_another() -> None:
    world = messenger_world(script=[token_expired(), token_expired()])
    first = world.compose(WROTE + HOUR)
    world.targets.message = inbound(account="PAGE2")
    second = world.compose(WROTE + HOUR)
    world.send(first.reply_id, WROTE + HOUR)
    world.send(second.reply_id, WROTE + HOUR)
    assert [e.detail["channel_account"] for e in world.events.published] == [PAGE, "PAGE2"]


# --- ReplySender.send: pacing ---------------------------------------------------------------------


def test_a_telegram_reply_too_soon_after_another_to_the_same_chat_waits_without_a_call() -> None:
    world = telegram_world(script=[telegram_ok()])
    world.replies.wait = 0.3
    reply = world.compose(WROTE + HOUR)
    assert world.send(reply.reply_id, WROTE + HOUR) == SendResult(retry_after=1, state=ReplyState.QUEUED)
    assert world.http.requests == []
    assert world.stored(reply.reply_id).state is ReplyState.QUEUED
    assert reply.reply_id not in world.replies.sending_since
    assert world.replies.paced == [("telegram", "bot", "6100000901", timedelta(seconds=1))]
    world.replies.wait = 0.0
    assert world.send(reply.reply_id, WROTE + HOUR + MINUTE).state is ReplyState.SENT


def test_a_reply_that_is_gone_sends_nothing() -> None:
    world = messenger_world()
    assert world.send(CUSTOMER + "_R" + "0" * 20, WROTE) == SendResult()
    assert world.http.requests == []


# --- outbound_interaction -------------------------------------------------------------------------


WA_TARGET = Target("message", "PN1", "447700900123", None, "447700900123")


def sent_reply(**changes: Any) -> Reply:
    reply = Reply(
        reply_id=CUSTOMER + "_R" + "1" * 20,
        case_id=CASE_ID,
        customer_id=CUSTOMER,
        platform="messenger",
        target=Target("message", PAGE, PSID, "m_in1", "t_1"),
        visibility=Visibility.PRIVATE,
        text="Sorry: a new one is on its way.",
        by=AGENT,
        created_at=WROTE,
        state=ReplyState.SENT,
        platform_message_id="m_OUT1",
        sent_at=WROTE + MINUTE,
    )
    return replace(reply, **changes)


def test_the_outbound_interaction_is_the_reply_as_its_echo_would_be() -> None:
    reply = sent_reply()
    interaction = outbound_interaction(reply)
    assert interaction.platform == "messenger"
    assert interaction.kind is Kind.MESSAGE
    assert interaction.external_id == "m_OUT1"
    assert interaction.reply_id == reply.reply_id
    assert interaction.sent_by == AGENT
    assert interaction.direction is Direction.OUTBOUND
    assert interaction.author is not None
    assert interaction.author.user_id == PAGE
    assert interaction.account_id == PAGE
    assert interaction.recipient_id == PSID
    assert interaction.thread_id == "t_1"
    assert interaction.parent_id is None
    assert interaction.text == reply.text
    assert interaction.occurred_at == WROTE + MINUTE


def test_the_outbound_interaction_of_a_comment_reply_is_a_reply_under_the_comment() -> None:
    reply = sent_reply(
        platform="facebook", target=Target("comment", PAGE, "fb-user", "100_200"), visibility=Visibility.PUBLIC
    )
    interaction = outbound_interaction(reply)
    assert (interaction.kind, interaction.parent_id) == (Kind.REPLY, "100_200")


def test_the_outbound_interaction_of_a_template_names_the_template_not_a_text() -> None:
    template = Template("order_update", "en_US", ("A-1",))
    reply = sent_reply(platform="whatsapp", text="[template order_update (en_US): A-1]", template=template)
    assert outbound_interaction(reply).text == "[template order_update (en_US): A-1]"


# --- ReplyStatuses --------------------------------------------------------------------------------


def statuses_world(*replies: Reply) -> tuple[FakeReplies, ReplyStatuses]:
    store = FakeReplies()
    for reply in replies:
        store.put(reply)
    customers = FakeCustomers({("messenger", PSID): CUSTOMER, ("whatsapp", "447700900123"): CUSTOMER})
    return store, ReplyStatuses(store, customers)


def status(state: ReplyState, at: datetime, **fields: Any) -> ReplyStatus:
    values: dict[str, Any] = {"platform": "messenger", "platform_message_id": None, "state": state, "at": at}
    values.update(fields)
    return ReplyStatus(**values)


def apply_all(statuses: ReplyStatuses, reports: Iterable[ReplyStatus]) -> list[int]:
    return [statuses.apply(report) for report in reports]


def test_read_then_a_late_delivered_stays_read() -> None:
    reply = sent_reply()
    store, statuses = statuses_world(reply)
    moved = apply_all(
        statuses,
        [
            status(ReplyState.READ, WROTE + 3 * MINUTE, reply_id=reply.reply_id),
            status(ReplyState.DELIVERED, WROTE + 2 * MINUTE, reply_id=reply.reply_id),
        ],
    )
    assert moved == [1, 0]
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert stored.state is ReplyState.READ
    assert (stored.delivered_at, stored.read_at) == (WROTE + 3 * MINUTE, WROTE + 3 * MINUTE)


def test_failed_after_delivered_stays_delivered() -> None:
    reply = sent_reply()
    store, statuses = statuses_world(reply)
    failure = ReplyError("131026", ErrorClass.PERMANENT, "Message undeliverable")
    apply_all(
        statuses,
        [
            status(ReplyState.DELIVERED, WROTE + 2 * MINUTE, reply_id=reply.reply_id),
            status(ReplyState.FAILED, WROTE + 3 * MINUTE, reply_id=reply.reply_id, error=failure),
        ],
    )
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert (stored.state, stored.error) == (ReplyState.DELIVERED, None)


def test_failed_after_sent_fails_with_the_platforms_error() -> None:
    reply = sent_reply(platform="whatsapp", platform_message_id="wamid.OUT", target=WA_TARGET)
    store, statuses = statuses_world(reply)
    failure = ReplyError("131026", ErrorClass.PERMANENT, "Message undeliverable")
    moved = statuses.apply(
        status(
            ReplyState.FAILED,
            WROTE + 2 * MINUTE,
            platform="whatsapp",
            platform_message_id="wamid.OUT",
            recipient_id="447700900123",
            error=failure,
        )
    )
    assert moved == 1
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert (stored.state, stored.error) == (ReplyState.FAILED, failure)


def test_delivered_after_failed_is_delivered_and_clears_the_error() -> None:
    reply = sent_reply(state=ReplyState.FAILED, error=ReplyError("131000", ErrorClass.RETRY, "Something went wrong"))
    store, statuses = statuses_world(reply)
    assert statuses.apply(status(ReplyState.DELIVERED, WROTE + 5 * MINUTE, reply_id=reply.reply_id)) == 1
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert (stored.state, stored.error, stored.delivered_at) == (ReplyState.DELIVERED, None, WROTE + 5 * MINUTE)


def test_a_status_by_platform_message_id_moves_only_that_reply() -> None:
    named = sent_reply(platform="whatsapp", platform_message_id="wamid.A", target=WA_TARGET)
    other = sent_reply(
        reply_id=CUSTOMER + "_R" + "2" * 20, platform="whatsapp", platform_message_id="wamid.B", target=WA_TARGET
    )
    store, statuses = statuses_world(named, other)
    report = status(
        ReplyState.DELIVERED,
        WROTE + 2 * MINUTE,
        platform="whatsapp",
        platform_message_id="wamid.A",
        recipient_id="447700900123",
    )
    assert statuses.apply(report) == 1
    assert [store.get(r.reply_id).state for r in (named, other)] == [  # type: ignore[union-attr]
        ReplyState.DELIVERED,
        ReplyState.SENT,
    ]


def test_an_echo_of_an_unknown_reply_makes_it_sent_with_its_id() -> None:
    reply = sent_reply(state=ReplyState.UNKNOWN, platform_message_id=None, sent_at=None)
    store, statuses = statuses_world(reply)
    echo = status(ReplyState.SENT, WROTE + 2 * MINUTE, reply_id=reply.reply_id, platform_message_id="m_ECHO")
    assert statuses.apply(echo) == 1
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert (stored.state, stored.platform_message_id, stored.sent_at) == (
        ReplyState.SENT,
        "m_ECHO",
        WROTE + 2 * MINUTE,
    )


def test_a_status_of_a_message_socialcrm_did_not_send_changes_nothing() -> None:
    reply = sent_reply()
    store, statuses = statuses_world(reply)
    stranger = status(ReplyState.READ, WROTE + HOUR, recipient_id="PSID-STRANGER", platform_message_id="m_OUT1")
    nobody = status(ReplyState.READ, WROTE + HOUR)
    other_id = status(ReplyState.READ, WROTE + HOUR, recipient_id=PSID, platform_message_id="m_TYPED_ELSEWHERE")
    assert apply_all(statuses, [stranger, nobody, other_id]) == [0, 0, 0]
    assert store.get(reply.reply_id) == reply


def test_a_messenger_watermark_moves_only_replies_sent_before_it_on_that_account() -> None:
    watermark = WROTE + 2 * HOUR

    def numbered(n: int, **changes: Any) -> Reply:
        return sent_reply(**{"reply_id": f"{CUSTOMER}_R{n:020d}", "platform_message_id": f"m_{n}", **changes})

    before = numbered(1, sent_at=WROTE + HOUR)
    at_the_mark = numbered(2, sent_at=watermark)
    after = numbered(3, sent_at=watermark + MINUTE)
    other_page = numbered(4, sent_at=WROTE + HOUR, target=Target("message", "PAGE2", PSID))
    other_platform = numbered(5, sent_at=WROTE + HOUR, platform="instagram")
    queued = numbered(6, state=ReplyState.QUEUED, sent_at=None, platform_message_id=None)
    already_read = numbered(7, state=ReplyState.READ, sent_at=WROTE + HOUR)
    replies = (before, at_the_mark, after, other_page, other_platform, queued, already_read)
    store, statuses = statuses_world(*replies)
    report = status(
        ReplyState.DELIVERED,
        watermark + 5 * MINUTE,
        account_id=PAGE,
        recipient_id=PSID,
        watermark=watermark,
    )
    assert statuses.apply(report) == 2
    states = {r.reply_id: store.get(r.reply_id).state for r in replies}  # type: ignore[union-attr]
    assert states == {
        before.reply_id: ReplyState.DELIVERED,
        at_the_mark.reply_id: ReplyState.DELIVERED,
        after.reply_id: ReplyState.SENT,
        other_page.reply_id: ReplyState.SENT,
        other_platform.reply_id: ReplyState.SENT,
        queued.reply_id: ReplyState.QUEUED,
        already_read.reply_id: ReplyState.READ,
    }


def test_the_reply_an_echo_names_is_found_with_its_agent() -> None:
    reply = sent_reply()
    _, statuses = statuses_world(reply)
    found = statuses.reply(reply.reply_id)
    assert found is not None
    assert found.by == AGENT
    assert statuses.reply("nope") is None


def test_advanced_says_nothing_new_as_none() -> None:
    reply = sent_reply(state=ReplyState.READ)
    assert advanced(reply, status(ReplyState.DELIVERED, WROTE, reply_id=reply.reply_id)) is None
    moved = advanced(sent_reply(), status(ReplyState.SENT, WROTE, reply_id="x"))
    assert moved is None


def test_a_status_about_another_recipient_or_platform_moves_nothing() -> None:
    """Metadata is whatever the sending app set: another app on the same page could set ours. A
    status names a reply only if it is about that reply's platform and recipient."""
    reply = sent_reply(state=ReplyState.UNKNOWN, platform_message_id=None, sent_at=None)
    store, statuses = statuses_world(reply)
    elsewhere = status(ReplyState.SENT, WROTE + 2 * MINUTE, reply_id=reply.reply_id, recipient_id="someone-else")
    other_platform = status(ReplyState.SENT, WROTE + 2 * MINUTE, reply_id=reply.reply_id, platform="instagram")
    assert statuses.apply(elsewhere) == 0
    assert statuses.apply(other_platform) == 0
    stored = store.get(reply.reply_id)
    assert stored is not None
    assert stored.state is ReplyState.UNKNOWN
    assert statuses.apply(status(ReplyState.SENT, WROTE + 2 * MINUTE, reply_id=reply.reply_id, recipient_id=PSID)) == 1
