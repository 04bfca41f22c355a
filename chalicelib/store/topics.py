"""The topics' tallies in the table, and what they are counted from: an hour's analysed messages,
found through the `recent` index (one partition per hour and shard; a message stored late,
through its listing in the `inbox` index) and read with BatchGet for their analysis. Only
references to example interactions are kept, never their words."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.insight.topics import Mention, Tally, terms
from chalicelib.store import keys
from chalicelib.store.models import InteractionItem, TopicItem
from chalicelib.store.transactions import is_condition_failure

HOUR_KEPT = timedelta(days=3)
FIRST_LOOK = 3 * 366  # days before the cut-off that the first retirement looks at
_READ = ["pk", "sk", "item_type", "analysis", "direction", "sentiment_label", "language", "customer_id",
         "platform", "external_id", "case_id", "redacted", "occurred_at", "topics_at"]  # fmt: skip


class TopicStore:
    def __init__(self, retention_days: int) -> None:
        self._retention = retention_days

    def mentions(self, hour: datetime) -> list[Mention]:
        """The customers' analysed messages of this hour (UTC), with their terms: those written
        in it, and those that arrived in it after their own hour's last count (listed apart,
        insight/topics.late_listing). A late message is counted by its listing only, never
        again under its own hour (which a count may still read in the hour it arrived)."""
        written: list[tuple[str, str]] = []
        arrived: list[tuple[str, str]] = []
        for shard in range(keys.SHARDS):
            for found in InteractionItem.recent.query(keys.recent(hour, shard)):
                written.append((found.pk, found.sk))
            for found in InteractionItem.late_topics.query(keys.late_topics(hour, shard)):
                arrived.append((found.pk, found.sk))
        items = [item for item in self._read(written) if item.topics_at is None] + self._read(arrived)
        return [mention for item in items for mention in [_mention(item)] if mention is not None]

    def mentions_of(self, found: Iterable[tuple[str, str, datetime]]) -> list[Mention]:
        """The same for given interactions: (customer id, platform and external id joined by ':', written at)."""
        refs = []
        for customer_id, reference, occurred_at in found:
            platform, external_id = reference.split(":", 1)
            refs.append((keys.customer(customer_id), keys.interaction_sk(occurred_at, platform, external_id)))
        return [mention for item in self._read(refs) for mention in [_mention(item)] if mention is not None]

    def save_hour(self, hour: datetime, topics: dict[str, Tally], now: datetime) -> None:
        TopicItem(
            keys.topics_hour(hour.strftime("%Y-%m-%d")),
            f"H{hour:%H}",
            topics={name: figures.to_dict() for name, figures in topics.items()},
            counted_at=now,
            expires_at=now + HOUR_KEPT,
        ).save()

    def hours(self, day: str) -> list[dict[str, Tally]]:
        return [_tallies(item) for item in TopicItem.query(keys.topics_hour(day))]

    def save_day(self, day: str, topics: dict[str, Tally], now: datetime) -> None:
        TopicItem(
            keys.topics_day(day[:7]),
            day[8:10],
            topics={name: figures.to_dict() for name, figures in topics.items()},
            counted_at=now,
        ).save()

    def days(self, first: str, last: str) -> dict[str, dict[str, Tally]]:
        found: dict[str, dict[str, Tally]] = {}
        for month in keys.months(first, last):
            for item in TopicItem.query(keys.topics_day(month)):
                day = f"{month}-{item.sk}"
                if first <= day <= last:
                    found[day] = _tallies(item)
        return found

    def retire(self, today: date) -> int:
        """Let go of the examples of the days whose messages are all past their retention; their
        counts stay, for the trends. A day's examples are messages written that day or arriving
        late that day (never one already past its retention: timeline.TimelineWriter), so each
        is gone by the end of the day `retention` days later. After that the report cannot show
        them, and an erasure, which finds a customer's examples through their stored messages,
        cannot find them: a customer id would be kept for good. The days are let go of in order,
        from the day after the last one (its marker item) to the cut-off, so a count missed or a
        shorter retention leaves none behind; the first count looks `FIRST_LOOK` days back.
        Returns the items changed."""
        last = today - timedelta(days=self._retention + 1)
        try:
            through = TopicItem.get(keys.TOPICS_RETIRED, keys.TOPICS_RETIRED_SK).counted_at
            first = through.date() + timedelta(days=1) if through else last - timedelta(days=FIRST_LOOK)
        except DoesNotExist:
            first = last - timedelta(days=FIRST_LOOK)
        if first > last:
            return 0
        changed = 0
        for month in keys.months(first.isoformat(), last.isoformat()):
            low = first.strftime("%d") if month == first.isoformat()[:7] else "01"
            high = last.strftime("%d") if month == last.isoformat()[:7] else "31"
            for item in TopicItem.query(keys.topics_day(month), TopicItem.sk.between(low, high)):
                if any(figures.get("ex") for figures in dict(item.topics or {}).values()):
                    changed += self._rewrite(item.pk, item.sk, lambda _example: False)
        through_at = datetime(last.year, last.month, last.day, tzinfo=UTC)
        TopicItem(keys.TOPICS_RETIRED, keys.TOPICS_RETIRED_SK, counted_at=through_at).save()
        return changed

    def texts(self, examples: Sequence[dict[str, str]]) -> dict[str, str | None]:
        """The examples' words as stored (redacted where personal data was found), by reference;
        an example whose interaction is gone (erased, expired) is left out."""
        refs = [(keys.customer(e["c"]), e["k"]) for e in examples if e.get("c") and e.get("k")]
        shown: dict[str, str | None] = {}
        for item in self._read(refs, ["pk", "sk", "item_type", "text", "title"]):
            shown[item.sk] = item.text or item.title
        return shown

    def forget(self, customer_id: str, moments: Iterable[datetime]) -> int:
        """Take the customer's messages out of the topics' examples (an erasure): they can only be
        in the hours and days their messages were written in, or arrived in when late (their
        `topics_at`). Returns the items changed."""
        places: set[tuple[str, str]] = set()
        for moment in moments:
            places.add((keys.topics_hour(moment.strftime("%Y-%m-%d")), f"H{moment:%H}"))
            places.add((keys.topics_day(moment.strftime("%Y-%m")), moment.strftime("%d")))
        return sum(self._rewrite(pk, sk, lambda example: example.get("c") != customer_id) for pk, sk in sorted(places))

    def _rewrite(self, pk: str, sk: str, keep: Callable[[dict[str, str]], bool]) -> bool:
        """Keep only the examples `keep` accepts in one tally item, on condition that no count
        rewrote it meanwhile (a count writes it whole; then it is read again). True if changed."""
        for _ in range(3):
            try:
                item = TopicItem.get(pk, sk, consistent_read=True)
            except DoesNotExist:
                return False
            topics = dict(item.topics or {})
            kept = {
                name: {**figures, "ex": [e for e in figures.get("ex", ()) if keep(e)]}
                for name, figures in topics.items()
            }
            if kept == topics:
                return False
            try:
                item.update(actions=[TopicItem.topics.set(kept)], condition=TopicItem.counted_at == item.counted_at)
            except UpdateError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return True
        return False

    def _read(self, refs: Sequence[tuple[str, str]], attributes: list[str] | None = None) -> list[InteractionItem]:
        """PynamoDB's batch_get asks 100 keys a request and leaves out what is not there."""
        unique = list(dict.fromkeys(refs))
        return list(InteractionItem.batch_get(unique, attributes_to_get=attributes or _READ)) if unique else []


def _mention(item: InteractionItem) -> Mention | None:
    if item.direction != "inbound" or not item.analysis:
        return None
    found = terms(item.analysis)
    if not found:
        return None
    example = {"c": item.customer_id, "k": item.sk, "p": item.platform}
    if item.case_id:
        example["case"] = item.case_id
    return Mention(tuple(found), item.sentiment_label, item.language, example)


def _tallies(item: TopicItem) -> dict[str, Tally]:
    return {str(name): Tally.from_dict(figures) for name, figures in dict(item.topics or {}).items()}
