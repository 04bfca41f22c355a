"""Topics on moto through the real pipeline with the offline analyzer: a burst about one subject in
three languages rises as one topic, and the crisis alert it raises says what it is about."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import dependencies
from chalicelib.rules.crisis import bucket_start
from tests.helpers import arrived_at, call, drain, meta_message, process_queue
from tests.integration.test_alerts_flow import deliver, pin_clock, schedule
from tests.integration.test_alerts_flow import tap as tap  # a fixture
from tools.webhook_client import sign

PAGE = "104000000000088"
# One subject, the phone's battery, said in Portuguese, English and Czech, with other words around
# it. The offline analyzer reads the Czech ones as mixed, not negative: they count in the topic, not
# in the crisis.
NEGATIVE_BURST = (
    "Péssima bateria, acaba antes do almoço, um lixo",
    "A bateria é uma porcaria, pior compra da minha vida",
    "Worst battery ever, dead by noon, really bad",
    "Terrible battery, I hate this phone",
    "This battery is garbage, worst purchase ever",
)
CZECH = (
    "Nejhorší baterie, vybitá do oběda, hrůza",
    "Baterie je strašná, nenávidím tenhle telefon",
    "Hrozná baterie, naprostá katastrofa",
)
BURST = (*NEGATIVE_BURST, *NEGATIVE_BURST[2:], *NEGATIVE_BURST[:2], *CZECH)  # 4 pt, 6 en, 3 cs
QUIET = (
    "Delivery was late again and the courier was rude",
    "The invoice shows the wrong address",
)


def test_a_burst_in_three_languages_rises_as_one_topic_and_names_the_crisis(
    client, sqs, pipeline, secrets, tap, monkeypatch
) -> None:
    clock = bucket_start(datetime.now(UTC) - timedelta(hours=1), 15) + timedelta(minutes=12)
    pin_clock(monkeypatch, clock)
    quiet = [
        meta_message(PAGE, f"PSID-TQ{n}", f"mid.tq{n}", QUIET[n % 2], clock - timedelta(days=3 + n, hours=2))
        for n in range(4)
    ]
    burst = [
        meta_message(
            PAGE, f"PSID-TB{n}", f"mid.tb{n}", BURST[n % len(BURST)], clock - timedelta(minutes=6, seconds=-15 * n)
        )
        for n in range(len(BURST))
    ]
    for n, body in enumerate(quiet):  # the quiet days' messages arrived on those days
        with arrived_at(clock - timedelta(days=3 + n, hours=2)):
            deliver(client, sqs, pipeline, secrets, body)
    deliver(client, sqs, pipeline, secrets, *burst)
    drain(sqs, tap)

    # The crisis watch sees the burst and names what it is about.
    report = schedule("watch_crises")
    assert report["started"] == 1, report
    (crisis,) = [e for e in drain(sqs, tap) if e["detail-type"] == "Crisis Alert"]
    about = crisis["detail"]["topic"]
    assert about in ("battery", "bateria", "baterie")
    assert f"about '{about}'" in crisis["detail"]["reasons"][0]

    # The topics of the last hours, and of the quiet days before, as the schedule counts them.
    service = dependencies.topics()
    service.count(clock)
    for back in range(3, 5):
        service.count(clock - timedelta(days=back, hours=1))
    status, body = call(client, "get", f"/insights/topics?to={clock.date()}&from={clock.date()}", role="supervisor")
    assert status == 200, body
    first = body["rows"][0]
    assert first["topic"] == about  # rising first, and one topic for the three languages
    assert first["count"] == len(BURST)
    assert set(first["languages"]) >= {"pt", "en", "cs"}  # short Portuguese is sometimes taken for Spanish
    assert first["trend"] > 3
    assert sum(first["sentiment"].values()) == len(BURST)  # every message counted by its sentiment
    assert first["sentiment"]["NEGATIVE"] >= 10  # and the burst reads as what it is
    assert 1 <= len(first["examples"]) <= 3
    example = first["examples"][0]
    assert example["console"].startswith("/console/")
    assert example["text"] in BURST
    # The stored tallies hold references, never the words.
    raw = json.dumps([item.topics for item in _topic_items()])
    assert not any(text in raw for text in BURST)

    csv = client.http.get(
        f"/insights/topics?from={clock.date()}&to={clock.date()}",
        headers={"Authorization": f"Bearer {_token()}", "Accept": "text/csv"},
    )
    assert csv.status_code == 200
    header, row = csv.body.decode().splitlines()[:2]
    assert header.startswith("topic,count,trend")
    assert row.startswith(f"{about},{len(BURST)},")


def _topic_items() -> list[Any]:
    from chalicelib.store.models import TopicItem

    return list(TopicItem.scan())


def _token() -> str:
    from tests.helpers import role_token

    return role_token("supervisor")


def test_erasure_takes_the_customer_out_of_the_topics_examples(client, sqs, pipeline, secrets) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = [
        meta_message(PAGE, f"PSID-E{n}", f"mid.e{n}", "Terrible battery, I hate this phone", now - timedelta(minutes=n))
        for n in range(2)
    ]
    for body in bodies:
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    dependencies.topics().count(now)
    customers = {
        e["customer_id"] for e in call(client, "get", "/insights/topics", role="supervisor")[1]["rows"][0]["examples"]
    }
    assert len(customers) == 2
    gone = sorted(customers)[0]
    assert call(client, "delete", f"/customers/{gone}", role="admin")[0] == 200
    stored = json.dumps([item.topics for item in _topic_items()])
    assert gone not in stored
    assert sorted(customers)[1] in stored
    assert call(client, "get", "/insights/topics", role="supervisor")[1]["rows"][0]["count"] == 2  # still counted


def test_an_erasure_whose_last_pass_over_the_topics_failed_finishes_when_run_again(
    client, sqs, pipeline, secrets, monkeypatch
) -> None:
    """The second pass over the topics' examples runs after the customer's messages are deleted.
    If it fails (the tallies kept changing), the erasure answers an error and a rerun must still
    find where the examples are: the profile keeps those hours, and goes only after that pass."""
    from chalicelib.store.topics import TopicsBusy, TopicStore

    now = datetime.now(UTC).replace(microsecond=0)
    with arrived_at(now):
        deliver(
            client, sqs, pipeline, secrets, meta_message(PAGE, "PSID-R1", "mid.r1", BURST[2], now - timedelta(days=1))
        )
    dependencies.topics().count(now)  # late: counted in the hour it arrived
    (gone,) = {e["c"] for item in _topic_items() for t in item.topics.values() for e in t.get("ex", [])}

    real = TopicStore.forget
    passes: list[int] = []

    def first_skipped_then_busy(self: TopicStore, customer_id: str, moments: Any) -> int:
        # the first pass as if a count wrote the examples back after it; the second one failing
        passes.append(len(passes))
        if len(passes) == 1:
            return 0
        if len(passes) == 2:
            raise TopicsBusy("kept changing")
        return real(self, customer_id, moments)

    monkeypatch.setattr(TopicStore, "forget", first_skipped_then_busy)
    status, _ = call(client, "delete", f"/customers/{gone}", role="admin")
    assert status >= 500
    assert gone in json.dumps([item.topics for item in _topic_items()])
    status, erased = call(client, "delete", f"/customers/{gone}", role="admin")
    assert status == 200, erased
    assert gone not in json.dumps([item.topics for item in _topic_items()])
    assert call(client, "get", f"/customers/{gone}", role="admin")[0] == 404


def test_a_count_that_read_a_customer_before_their_erasure_does_not_name_them_after_it(
    client, sqs, pipeline, secrets, monkeypatch
) -> None:
    """The count reads an hour's messages, an erasure runs to its end, then the count writes what
    it read: it checks, after writing, whom the erasures took, and writes again without them."""
    from chalicelib.store.topics import TopicStore

    now = datetime.now(UTC).replace(microsecond=0)
    hour = now.replace(minute=0, second=0)
    # both in the hour the count reads first, whatever the minute
    bodies = [meta_message(PAGE, f"PSID-W{n}", f"mid.w{n}", BURST[2], hour + timedelta(seconds=n)) for n in range(2)]
    deliver(client, sqs, pipeline, secrets, *bodies)
    dependencies.topics().count(now)
    customers = {e["c"] for item in _topic_items() for t in item.topics.values() for e in t.get("ex", [])}
    gone = sorted(customers)[0]

    real = TopicStore.mentions
    erased: list[int] = []

    def read_then_erased(self: TopicStore, hour: datetime) -> Any:
        found = real(self, hour)
        if not erased:  # between this count's read and its writes
            erased.append(call(client, "delete", f"/customers/{gone}", role="admin")[0])
        return found

    monkeypatch.setattr(TopicStore, "mentions", read_then_erased)
    dependencies.topics().count(now)
    assert erased == [200]
    stored = json.dumps([item.topics for item in _topic_items()])
    assert gone not in stored
    assert (set(customers) - {gone}).pop() in stored


def test_an_erasure_finishes_though_the_profile_is_saved_while_it_runs(
    client, sqs, pipeline, secrets, monkeypatch
) -> None:
    """An agent's action or the segments may save the profile while an erasure runs: the hours
    it keeps on the profile are added whatever the profile's version is by then."""
    from chalicelib.store import privacy
    from chalicelib.store.models import CustomerItem

    now = datetime.now(UTC).replace(microsecond=0)
    deliver(client, sqs, pipeline, secrets, meta_message(PAGE, "PSID-S1", "mid.s1", BURST[2], now))
    customer = call(client, "get", "/identities/messenger/PSID-S1", role="admin")[1]["customer_id"]
    real = privacy.suppress  # type: ignore[attr-defined]

    def saved_meanwhile(*args: Any) -> None:
        profile = CustomerItem.get(f"CUSTOMER#{customer}", "PROFILE")
        profile.update(actions=[CustomerItem.segments.add({"vip"})])  # as set_segments does
        real(*args)

    monkeypatch.setattr(privacy, "suppress", saved_meanwhile)
    status, erased = call(client, "delete", f"/customers/{customer}", role="admin")
    assert status == 200, erased
    assert call(client, "get", f"/customers/{customer}", role="admin")[0] == 404


def test_a_count_that_fails_half_way_leaves_out_whom_an_erasure_took(
    client, sqs, pipeline, secrets, monkeypatch
) -> None:
    """The count read an hour before an erasure, wrote it after, then failed (a timeout,
    throttling): what it wrote is checked all the same, or a day the next runs no longer recount
    would keep the reference."""
    from chalicelib.store.topics import TopicStore

    now = datetime.now(UTC).replace(microsecond=0)
    hour = now.replace(minute=0, second=0)
    deliver(client, sqs, pipeline, secrets, meta_message(PAGE, "PSID-F1", "mid.f1", BURST[2], hour))
    customer = call(client, "get", "/identities/messenger/PSID-F1", role="admin")[1]["customer_id"]
    read, saved = TopicStore.mentions, TopicStore.save_hour
    hours: list[datetime] = []

    def read_then_erased(self: TopicStore, at: datetime) -> Any:
        found = read(self, at)
        if not hours:  # the hour with the message is read, then the customer is erased
            assert call(client, "delete", f"/customers/{customer}", role="admin")[0] == 200
        return found

    def written_then_failing(self: TopicStore, at: datetime, topics: Any, when: datetime) -> None:
        saved(self, at, topics, when)  # the hour read before the erasure, written after it
        hours.append(at)
        if len(hours) == 2:
            raise TimeoutError("the run ends here")

    monkeypatch.setattr(TopicStore, "mentions", read_then_erased)
    monkeypatch.setattr(TopicStore, "save_hour", written_then_failing)
    with pytest.raises(TimeoutError):
        dependencies.topics().count(now)
    assert customer not in json.dumps([item.topics for item in _topic_items()])


def test_the_roll_up_counts_the_hours_of_its_schedule_so_a_retry_counts_the_same(pipeline) -> None:
    from chalicelib.handlers.insight import roll_up
    from tools.local.worker import scheduled_event

    event = {**scheduled_event(), "time": "2026-12-01T10:20:00Z"}
    assert sorted(roll_up(event, None)["topics"]) == ["2026-12-01T08", "2026-12-01T09", "2026-12-01T10"]


def test_messages_stored_after_their_hour_was_counted_are_counted_once_when_they_arrive(
    client, sqs, pipeline, secrets
) -> None:
    """A source sending its history (and one message two hours late, whose own hour the count
    still reads when it arrives): counted in the hour they reach us, each once, and an erasure
    finds its examples there. What is already past its retention is not counted."""
    arrival = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    written = [arrival - timedelta(days=3, minutes=n) for n in range(3)] + [arrival - timedelta(hours=2)]
    written.append(arrival - timedelta(days=400))  # past the stage's retention: gone within days
    bodies = [
        meta_message(PAGE, f"PSID-L{n}", f"mid.l{n}", "Terrible battery, it died again", moment)
        for n, moment in enumerate(written)
    ]
    with arrived_at(arrival):
        deliver(client, sqs, pipeline, secrets, *bodies)
    dependencies.topics().count(arrival)  # recounts the late one's own hour too
    day, before = arrival.date(), (arrival - timedelta(days=1)).date()  # its own hour may be yesterday's
    rows = call(client, "get", f"/insights/topics?from={before}&to={day}", role="supervisor")[1]["rows"]
    counts = {row["topic"]: row["count"] for row in rows}
    assert counts["battery"] == 4
    assert set(counts.values()) == {4}  # each topic of theirs ("died" too) counted once per message

    gone = rows[0]["examples"][0]["customer_id"]
    assert gone in json.dumps([item.topics for item in _topic_items()])
    assert call(client, "delete", f"/customers/{gone}", role="admin")[0] == 200
    assert gone not in json.dumps([item.topics for item in _topic_items()])


def test_a_message_stored_without_words_is_counted_when_an_edit_brings_them(client, sqs, pipeline, secrets) -> None:
    """A photo sent days ago without a caption (nothing to analyse), captioned now: its own hour
    had its last count long ago, so it is counted in the hour the words arrive, and once, however
    often it is edited again. A message counted in its own hour is not counted again when edited
    after that hour closed."""
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday = now - timedelta(days=1)
    photo = [{"file_id": "p-1", "file_unique_id": "u-1", "width": 90, "height": 90}]
    sender = {"id": 42, "is_bot": False, "first_name": "Ola"}
    chat = {"id": 42, "type": "private"}

    def send(update: dict[str, Any]) -> None:
        request = sign("telegram", json.dumps(update).encode(), secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
        process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])

    words = "Terrible battery, it died again"
    counted = {"message_id": 8, "from": sender, "chat": chat, "date": int(yesterday.timestamp()), "text": words}
    with arrived_at(yesterday):
        send({"update_id": 80, "message": counted})
    dependencies.topics().count(yesterday)
    send({"update_id": 81, "edited_message": {**counted, "text": f"{words}!!", "edit_date": int(now.timestamp())}})

    bare = {
        "message_id": 7,
        "from": sender,
        "chat": chat,
        "date": int((now - timedelta(days=3)).timestamp()),
        "photo": photo,
    }
    send({"update_id": 70, "message": bare})
    for n, caption in enumerate((words, f"{words}!!")):
        send(
            {"update_id": 71 + n, "edited_message": {**bare, "caption": caption, "edit_date": int(now.timestamp()) + n}}
        )
    dependencies.topics().count(now)
    report = f"/insights/topics?from={yesterday.date()}&to={now.date()}"
    rows = call(client, "get", report, role="supervisor")[1]["rows"]
    assert {row["topic"]: row["count"] for row in rows}.get("battery") == 2  # each once


def test_a_days_examples_are_kept_apart_from_its_counts_and_expire_with_their_messages(
    client, sqs, pipeline, secrets
) -> None:
    """A day's examples name customers (an id and a key), so they are kept apart from its counts,
    grouped by the day their messages expire, each group expiring (DynamoDB's TTL) with the first
    of its messages: no reference outlives what an erasure finds a customer by, whatever the
    retention was or becomes, and a late message from a source's history takes no other example
    with it. One going sooner than the hour's tally (kept 3 days) is counted but is no example.
    The counts stay for the trends; the report shows each example while it is kept."""
    from chalicelib.store.models import InteractionItem

    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)  # its hour and day hold all three
    history = now - timedelta(days=10)  # the stage keeps 30 days: this one goes in 20
    leaving = now - timedelta(days=29, hours=12)  # and this one in 12 hours
    bodies = [
        meta_message(PAGE, f"PSID-R{n}", f"mid.r{n}", "Terrible battery, it died again", moment)
        for n, moment in enumerate((now - timedelta(minutes=5), history, leaving))
    ]
    with arrived_at(now):
        deliver(client, sqs, pipeline, secrets, *bodies)
    dependencies.topics().count(now)

    stored = {item.occurred_at: item for item in InteractionItem.scan()}
    recent, late = stored[now - timedelta(minutes=5)], stored[history]
    day = {item.sk: item for item in _topic_items() if item.pk == f"TOPICS#DAY#{now:%Y-%m}"}
    counts = day[f"{now:%d}"]
    assert counts.topics["battery"]["n"] == 3  # all counted
    assert "ex" not in counts.topics["battery"]
    assert counts.expires_at is None
    groups = {sk: item for sk, item in day.items() if sk.startswith(f"{now:%d}#EX#")}
    assert {sk: [e["c"] for e in item.topics["battery"]["ex"]] for sk, item in groups.items()} == {
        f"{now:%d}#EX#{recent.expires_at:%Y-%m-%d}": [recent.customer_id],
        f"{now:%d}#EX#{late.expires_at:%Y-%m-%d}": [late.customer_id],
    }
    assert {item.expires_at for item in groups.values()} == {recent.expires_at, late.expires_at}

    def battery() -> dict[str, Any]:
        rows = call(client, "get", f"/insights/topics?from={now.date()}&to={now.date()}", role="supervisor")[1]["rows"]
        return next(row for row in rows if row["topic"] == "battery")

    assert battery()["count"] == 3
    assert {e["customer_id"] for e in battery()["examples"]} == {recent.customer_id, late.customer_id}
    gone = groups[f"{now:%d}#EX#{late.expires_at:%Y-%m-%d}"]
    gone.expires_at = datetime.now(UTC) - timedelta(seconds=1)  # as read after that, before TTL deletes it
    gone.save()
    assert battery()["count"] == 3
    assert [e["customer_id"] for e in battery()["examples"]] == [recent.customer_id]
    assert call(client, "delete", f"/customers/{recent.customer_id}", role="admin")[0] == 200
    assert recent.customer_id not in json.dumps([item.topics for item in _topic_items()])
    assert late.customer_id in json.dumps([item.topics for item in _topic_items()])  # in its own group


def test_examples_day_tallies_kept_before_they_had_an_expiry_are_cleared_once(client, sqs, pipeline, secrets) -> None:
    """A day tally written before examples were kept apart still holds them, without an expiry:
    reports leave them out, and tools/topic_examples.py clears them once; counts, tallies kept
    apart and hours are left as they are, and a second run changes nothing."""
    from chalicelib.store.models import TopicItem
    from chalicelib.store.topics import TopicStore

    old = {"battery": {"n": 2, "s": {"NEGATIVE": 2}, "l": {"en": 2}, "ex": [{"c": "c-old", "k": "INTERACTION#x"}]}}
    TopicItem("TOPICS#DAY#2025-01", "07", topics=old, counted_at=datetime(2025, 1, 8, tzinfo=UTC)).save()
    kept = {"battery": {"ex": [{"c": "c-new", "k": "INTERACTION#y", "x": "4102444800"}]}}
    TopicItem("TOPICS#DAY#2025-01", "08#EX", topics=kept).save()
    rows = call(client, "get", "/insights/topics?from=2025-01-07&to=2025-01-07", role="supervisor")[1]["rows"]
    assert [(row["count"], row["examples"]) for row in rows] == [(2, [])]

    assert TopicStore().forget_unkept_examples() == 1
    assert TopicItem.get("TOPICS#DAY#2025-01", "07").topics == {**old, "battery": {**old["battery"], "ex": []}}
    assert TopicItem.get("TOPICS#DAY#2025-01", "08#EX").topics == kept
    assert TopicStore().forget_unkept_examples() == 0


def test_an_example_group_a_count_no_longer_has_is_emptied_once(pipeline) -> None:
    """A recount that no longer has a day's example group (its example was replaced) writes it
    empty and already expired, so it names nobody; later recounts leave it as it is."""
    from chalicelib.insight.topics import Tally
    from chalicelib.store.models import TopicItem
    from chalicelib.store.topics import TopicStore

    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    gone_at = int((start + timedelta(days=30)).timestamp())
    shown = {"battery": Tally(1, examples=[{"c": "c1", "k": "INTERACTION#a", "x": str(gone_at)}])}
    TopicStore().save_day("2026-03-02", shown, start)
    group = f"02#EX#{start + timedelta(days=30):%Y-%m-%d}"
    assert TopicItem.get("TOPICS#DAY#2026-03", group).topics == {"battery": {"ex": shown["battery"].examples}}

    emptied = start + timedelta(minutes=15)
    TopicStore().save_day("2026-03-02", {"battery": Tally(1)}, emptied)
    stale = TopicItem.get("TOPICS#DAY#2026-03", group)
    assert (stale.topics, stale.expires_at, stale.counted_at) == ({}, emptied, emptied)
    TopicStore().save_day("2026-03-02", {"battery": Tally(1)}, emptied + timedelta(minutes=15))
    assert TopicItem.get("TOPICS#DAY#2026-03", group).counted_at == emptied
