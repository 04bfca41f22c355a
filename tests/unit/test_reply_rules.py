"""The messaging windows at their edges, the forward-only reply states and the retry delays
(chalicelib/rules/replies.py), and the reply model's round trips (chalicelib/models/reply.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.models.reply import (
    RANK,
    ErrorClass,
    Reply,
    ReplyError,
    ReplyState,
    ReplyStatus,
    Target,
    Template,
    Visibility,
)
from chalicelib.rules.replies import (
    HUMAN_AGENT,
    MAX_RETRY_DELAY,
    Refusal,
    advance,
    retry_delay,
    window,
)

WROTE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
HOURS_24 = timedelta(hours=24)
DAYS_7 = timedelta(days=7)


# --- Messenger and Instagram DMs ------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_23_59_goes_as_a_plain_response(platform: str) -> None:
    found = window(platform, "message", True, WROTE, WROTE + HOURS_24 - MINUTE)
    assert found.open
    assert found.tag is None
    assert found.refusal is None
    assert found.closes_at == WROTE + HOURS_24


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_exactly_24_hours_is_still_in_the_window(platform: str) -> None:
    found = window(platform, "message", True, WROTE, WROTE + HOURS_24, human_agent=True)
    assert (found.open, found.tag) == (True, None)


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_24_01_is_closed_without_the_human_agent_permission(platform: str) -> None:
    found = window(platform, "message", True, WROTE, WROTE + HOURS_24 + MINUTE)
    assert not found.open
    assert found.refusal is Refusal.WINDOW_CLOSED
    assert found.tag is None
    assert found.closes_at == WROTE + HOURS_24
    assert "HUMAN_AGENT" in found.message


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_24_01_goes_tagged_human_agent_where_the_account_may(platform: str) -> None:
    found = window(platform, "message", True, WROTE, WROTE + HOURS_24 + MINUTE, human_agent=True)
    assert found.open
    assert found.tag == HUMAN_AGENT
    assert found.closes_at == WROTE + DAYS_7


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_at_exactly_7_days_still_goes_tagged(platform: str) -> None:
    found = window(platform, "message", True, WROTE, WROTE + DAYS_7, human_agent=True)
    assert (found.open, found.tag) == (True, HUMAN_AGENT)


@pytest.mark.parametrize("human_agent", [True, False])
@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_meta_dm_7_days_and_a_minute_on_is_closed_even_with_human_agent(platform: str, human_agent: bool) -> None:
    found = window(platform, "message", True, WROTE, WROTE + DAYS_7 + MINUTE, human_agent=human_agent)
    assert not found.open
    assert found.refusal is Refusal.WINDOW_CLOSED
    assert found.tag is None
    assert found.closes_at == WROTE + (DAYS_7 if human_agent else HOURS_24)


# --- WhatsApp -------------------------------------------------------------------------------------


def test_whatsapp_free_text_at_23_59_is_open() -> None:
    found = window("whatsapp", "message", True, WROTE, WROTE + HOURS_24 - MINUTE)
    assert (found.open, found.tag, found.closes_at) == (True, None, WROTE + HOURS_24)


def test_whatsapp_free_text_at_24_01_is_closed_and_offers_a_template() -> None:
    found = window("whatsapp", "message", True, WROTE, WROTE + HOURS_24 + MINUTE)
    assert not found.open
    assert found.refusal is Refusal.WINDOW_CLOSED
    assert found.options == ("template",)
    assert found.closes_at == WROTE + HOURS_24


def test_whatsapp_has_no_human_agent_tag() -> None:
    found = window("whatsapp", "message", True, WROTE, WROTE + HOURS_24 + MINUTE, human_agent=True)
    assert not found.open
    assert found.tag is None


@pytest.mark.parametrize("age", [MINUTE, HOURS_24 + MINUTE, DAYS_7 + MINUTE, 400 * DAY])
def test_a_whatsapp_template_may_always_go(age: timedelta) -> None:
    found = window("whatsapp", "message", True, WROTE, WROTE + age, template=True)
    assert found.open
    assert found.closes_at is None


@pytest.mark.parametrize(("platform", "kind"), [("messenger", "message"), ("telegram", "message"), ("x", "mention")])
def test_templates_exist_on_whatsapp_only(platform: str, kind: str) -> None:
    found = window(platform, kind, True, WROTE, WROTE + MINUTE, template=True)
    assert not found.open
    assert found.refusal is Refusal.NOT_ANSWERABLE


# --- comments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_private_reply_to_a_comment_is_open_for_7_days(platform: str) -> None:
    just_before = window(platform, "comment", True, WROTE, WROTE + DAYS_7 - MINUTE)
    assert just_before.open
    assert just_before.closes_at == WROTE + DAYS_7
    at_the_edge = window(platform, "comment", True, WROTE, WROTE + DAYS_7)
    assert at_the_edge.open


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_private_reply_to_a_comment_after_7_days_is_closed_and_offers_a_public_one(platform: str) -> None:
    found = window(platform, "comment", True, WROTE, WROTE + DAYS_7 + MINUTE)
    assert not found.open
    assert found.refusal is Refusal.WINDOW_CLOSED
    assert found.options == ("public",)
    assert found.tag is None


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
@pytest.mark.parametrize("age", [MINUTE, DAYS_7 + MINUTE, 400 * DAY])
def test_a_public_comment_reply_may_go_any_time(platform: str, age: timedelta) -> None:
    found = window(platform, "comment", False, WROTE, WROTE + age)
    assert found.open
    assert found.closes_at is None
    assert found.tag is None


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_private_comment_reply_never_takes_the_human_agent_tag(platform: str) -> None:
    found = window(platform, "comment", True, WROTE, WROTE + 2 * DAY, human_agent=True)
    assert (found.open, found.tag) == (True, None)


def test_a_trustpilot_review_has_no_private_reply() -> None:
    found = window("trustpilot", "review", True, WROTE, WROTE + MINUTE)
    assert not found.open
    assert found.refusal is Refusal.NOT_ANSWERABLE


# --- no window ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "kind", "private"),
    [
        ("telegram", "message", True),
        ("x", "message", True),
        ("x", "mention", False),
        ("x", "mention", True),  # a DM to whoever wrote the tweet
        ("trustpilot", "review", False),
        ("shopforum", "comment", False),  # a generic source
    ],
)
@pytest.mark.parametrize("age", [MINUTE, HOURS_24 + MINUTE, DAYS_7 + MINUTE, 400 * DAY])
def test_telegram_x_trustpilot_and_generic_sources_have_no_window(
    platform: str, kind: str, private: bool, age: timedelta
) -> None:
    found = window(platform, kind, private, WROTE, WROTE + age, human_agent=True)
    assert found.open
    assert found.closes_at is None
    assert found.tag is None


def test_window_to_dict_says_why_and_what_can_still_go() -> None:
    closed = window("whatsapp", "message", True, WROTE, WROTE + 2 * DAY).to_dict()
    assert closed == {
        "open": False,
        "closes_at": (WROTE + HOURS_24).isoformat(),
        "tag": None,
        "code": "window_closed",
        "message": closed["message"],
        "options": ["template"],
    }
    assert isinstance(closed["message"], str)
    assert "24 hours" in closed["message"]
    tagged = window("messenger", "message", True, WROTE, WROTE + 2 * DAY, human_agent=True).to_dict()
    assert (tagged["open"], tagged["tag"], tagged["code"]) == (True, "HUMAN_AGENT", None)


# --- states only move forward ---------------------------------------------------------------------

Q, U, S, D, R, F = (
    ReplyState.QUEUED,
    ReplyState.UNKNOWN,
    ReplyState.SENT,
    ReplyState.DELIVERED,
    ReplyState.READ,
    ReplyState.FAILED,
)

MOVES = {
    (Q, U),
    (Q, S),
    (Q, D),
    (Q, R),
    (Q, F),
    (U, S),
    (U, D),
    (U, R),
    (U, F),
    (S, D),
    (S, R),
    (S, F),  # WhatsApp reports a failure after `sent`
    (F, D),  # it reached them after all
    (F, R),
    (D, R),
}


@pytest.mark.parametrize(("current", "reported"), list(itertools.product(ReplyState, repeat=2)))
def test_advance_moves_only_forward(current: ReplyState, reported: ReplyState) -> None:
    assert advance(current, reported) is ((current, reported) in MOVES)


@pytest.mark.parametrize(
    ("first", "then", "ends"),
    [
        (R, D, R),  # read, then a late delivered: stays read
        (D, F, D),  # failed after delivered: stays delivered
        (S, F, F),  # failed after sent: failed
        (F, D, D),  # delivered after failed: delivered
        (F, S, F),  # a late `sent` does not undo a failure
        (R, F, R),
    ],
)
def test_statuses_out_of_order(first: ReplyState, then: ReplyState, ends: ReplyState) -> None:
    state = S
    for reported in (first, then):
        if advance(state, reported):
            state = reported
    assert state is ends


@given(st.lists(st.sampled_from(list(ReplyState)), max_size=12))
def test_no_sequence_of_statuses_ever_moves_a_reply_back_to_queued_or_out_of_read(
    reports: list[ReplyState],
) -> None:
    state = Q
    seen_read = False
    for reported in reports:
        if advance(state, reported):
            assert state is not reported
            # Each move is either up the ranks, or sent -> failed ranks above sent too.
            assert RANK[reported] > RANK[state]
            state = reported
        seen_read = seen_read or state is R
        if seen_read:
            assert state is R
    if reports:
        assert state is not Q or all(r is Q for r in reports)


def test_advance_is_antisymmetric() -> None:
    for a, b in itertools.product(ReplyState, repeat=2):
        assert not (advance(a, b) and advance(b, a)), (a, b)


# --- retry delays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "hinted", "expected"),
    [
        (1, 7.0, 8),  # the platform's retry_after, and a second's margin
        (1, 7.9, 8),
        (5, 30.0, 31),  # a hint wins over the backoff
        (1, 5000.0, MAX_RETRY_DELAY),  # at most SQS's 15-minute delay
        (0, None, 10),
        (1, None, 10),
        (2, None, 20),
        (3, None, 40),
        (7, None, 640),
        (8, None, MAX_RETRY_DELAY),
        (40, None, MAX_RETRY_DELAY),
        (2, 0.0, 20),  # a zero or negative hint is no hint
        (2, -5.0, 20),
    ],
)
def test_retry_delay(attempt: int, hinted: float | None, expected: int) -> None:
    assert retry_delay(attempt, hinted) == expected


@given(st.integers(min_value=0, max_value=1000), st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e9)))
def test_retry_delay_is_always_between_one_second_and_fifteen_minutes(attempt: int, hinted: float | None) -> None:
    assert 1 <= retry_delay(attempt, hinted) <= MAX_RETRY_DELAY


# --- the model's round trips ----------------------------------------------------------------------


def full_reply() -> Reply:
    return Reply(
        reply_id="CU1_R" + "0" * 20,
        case_id="CASE1",
        customer_id="CU1",
        platform="whatsapp",
        target=Target("message", "PNID", "447700900123", "wamid.IN", None),
        visibility=Visibility.PRIVATE,
        text="",
        by="cognito:agent-1",
        created_at=WROTE,
        state=ReplyState.FAILED,
        client_reply_id="click-1",
        template=Template("order_update", "en_US", ("A-1", "tomorrow")),
        tag=None,
        platform_message_id="wamid.OUT",
        error=ReplyError("131026", ErrorClass.PERMANENT, "Message undeliverable"),
        sent_at=WROTE + MINUTE,
        delivered_at=None,
        read_at=None,
        attempts=2,
        history=({"at": "2026-03-02T09:01:00.000Z", "state": "sent"},),
    )


def test_a_reply_survives_its_record() -> None:
    reply = full_reply()
    assert Reply.from_record(reply.to_record()) == reply


def test_the_api_view_of_a_reply_has_the_documented_fields() -> None:
    shown = full_reply().to_dict()
    documented = {
        "reply_id",
        "case_id",
        "customer_id",
        "platform",
        "channel_account",
        "visibility",
        "text",
        "state",
        "platform_message_id",
        "error",
        "by",
        "created_at",
        "sent_at",
        "delivered_at",
        "read_at",
    }
    assert documented <= set(shown)
    assert shown["channel_account"] == "PNID"
    assert shown["error"] == {"code": "131026", "class": "permanent", "message": "Message undeliverable"}
    assert shown["state"] == "failed"
    assert shown["sent_at"] == "2026-03-02T09:01:00.000Z"
    assert shown["delivered_at"] is None
    # What only the store and the queue need stays out of the API's view.
    assert "target" not in shown
    assert "attempts" not in shown


def test_a_status_survives_its_dict() -> None:
    status = ReplyStatus(
        platform="messenger",
        platform_message_id=None,
        state=ReplyState.DELIVERED,
        at=WROTE,
        reply_id=None,
        account_id="PAGE1",
        recipient_id="PSID1",
        watermark=WROTE - MINUTE,
        error=ReplyError("131047", ErrorClass.PERMANENT, "Re-engagement message"),
    )
    assert ReplyStatus.from_dict(status.to_dict()) == status
    assert status.to_dict()["type"] == "reply_status"


def test_a_target_without_optional_ids_round_trips_with_none_not_the_text_none() -> None:
    target = Target("message", "PAGE1", "PSID1")
    assert Target.from_dict(target.to_dict()) == target
    assert Target.from_dict(target.to_dict()).in_reply_to is None
