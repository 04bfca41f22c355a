"""The topics' tallies in the table, and what they are counted from: an hour's analysed messages,
found through the `recent` index (one partition per hour and shard; a message stored late,
through its listing in the `inbox` index) and read with BatchGet for their analysis. Only
references to example interactions are kept, never their words."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.insight.topics import Mention, Tally, terms
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, InteractionItem, TopicItem
from chalicelib.store.transactions import is_condition_failure

HOUR_KEPT = timedelta(days=3)
REWRITE_TRIES = 8  # with growing random pauses: only a count or another erasure writing it at once contends
_READ = ["pk", "sk", "item_type", "analysis", "direction", "sentiment_label", "language", "customer_id",
         "platform", "external_id", "case_id", "redacted", "occurred_at", "topics_at", "expires_at"]  # fmt: skip


class TopicsBusy(RuntimeError):
    """A tally changed under every try to take examples out of it: the erasure fails (and is
    run again) rather than report done with a customer still named."""


class TopicStore:
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
            topics={name: _lasting(figures.to_dict(), now + HOUR_KEPT) for name, figures in topics.items()},
            counted_at=now,
            expires_at=now + HOUR_KEPT,
        ).save()

    def hours(self, day: str) -> list[dict[str, Tally]]:
        """A day's hour tallies, read consistently: a count reads back the hours it has just
        written (and an erasure may have just rewritten) to make the day's."""
        return [_tallies(item) for item in TopicItem.query(keys.topics_hour(day), consistent_read=True)]

    def save_day(self, day: str, topics: dict[str, Tally], now: datetime) -> None:
        """A day's counts, kept for the trends, and apart from them its examples, which name
        customers: grouped by the day their messages expire, each group an item that expires
        (DynamoDB's TTL) with the first of its messages, so no reference outlives what an erasure
        finds a customer by, whatever the retention was or becomes, and a late message from a
        source's history, going soon, takes no other example with it."""
        pk, sk = keys.topics_day(day[:7]), day[8:10]
        counts = {name: {k: v for k, v in figures.to_dict().items() if k != "ex"} for name, figures in topics.items()}
        TopicItem(pk, sk, topics=counts, counted_at=now).save()
        groups: dict[str, dict[str, dict[str, list[dict[str, str]]]]] = {}
        for name, figures in topics.items():
            for example in figures.examples:
                if example.get("x"):  # one without its expiry is not kept
                    group = keys.topic_examples(sk, datetime.fromtimestamp(int(example["x"]), UTC))
                    groups.setdefault(group, {}).setdefault(name, {"ex": []})["ex"].append(example)
        for group, shown in groups.items():
            first_gone = min(int(e["x"]) for figures in shown.values() for e in figures["ex"])
            first = datetime.fromtimestamp(first_gone, UTC)
            TopicItem(pk, group, topics=shown, counted_at=now, expires_at=first).save()
        # A group a count before wrote and this one has not: written empty and already expired,
        # as the role that counts may write topics but not delete them (once: then it has expired).
        for stale, expiring in self._example_groups(pk, sk).items():
            if stale not in groups and (expiring is None or expiring > now):
                TopicItem(pk, stale, topics={}, counted_at=now, expires_at=now).save()

    def _example_groups(self, pk: str, day_sk: str) -> dict[str, datetime | None]:
        """A day's example groups, with when each expires."""
        found = TopicItem.query(
            pk,
            TopicItem.sk.startswith(day_sk + keys.TOPICS_EXAMPLES),
            attributes_to_get=["sk", "expires_at"],
            consistent_read=True,
        )
        return {item.sk: item.expires_at for item in found}

    def days(self, first: str, last: str) -> dict[str, dict[str, Tally]]:
        """Each day's tallies, with the examples kept apart (while they are kept)."""
        found: dict[str, dict[str, Tally]] = {}
        shown: dict[str, dict[str, list[dict[str, str]]]] = {}
        for month in keys.months(first, last):
            for item in TopicItem.query(keys.topics_day(month)):
                day = f"{month}-{item.sk[:2]}"
                if not first <= day <= last:
                    continue
                if keys.TOPICS_EXAMPLES in item.sk:
                    if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
                        continue  # expired, not yet deleted (DynamoDB takes up to two days)
                    for name, figures in dict(item.topics).items():
                        shown.setdefault(day, {}).setdefault(str(name), []).extend(figures.get("ex", ()))
                else:
                    found[day] = _tallies(item)
        for day, tallies in found.items():
            for name, figures in tallies.items():
                # only the kept-apart ones: a counts item written before they were kept apart
                # may still hold some, without their expiry
                figures.examples = [dict(e) for e in shown.get(day, {}).get(name, [])]
        return found

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
        hours: set[tuple[str, str]] = set()
        days: set[tuple[str, str]] = set()
        for moment in moments:
            hours.add((keys.topics_hour(moment.strftime("%Y-%m-%d")), f"H{moment:%H}"))
            days.add((keys.topics_day(moment.strftime("%Y-%m")), moment.strftime("%d")))

        def keep(example: dict[str, str]) -> bool:
            return example.get("c") != customer_id

        changed = sum(self._rewrite(pk, sk, keep) for pk, sk in [*sorted(hours), *sorted(days)])
        # each day's example groups, listed (one read a day) once its hours are rewritten
        for pk, sk in sorted(days):
            changed += sum(self._rewrite(pk, group, keep) for group in sorted(self._example_groups(pk, sk)))
        return changed

    def forget_unkept_examples(self) -> int:
        """Take the examples out of day tallies written before examples were kept apart, with an
        expiry (store.save_day): they name customers and nothing else ever clears them. A one-off
        (tools/topic_examples.py): it scans the table. Returns the items changed."""
        changed = 0
        for item in TopicItem.scan(TopicItem.pk.startswith(keys.topics_day(""))):
            if keys.TOPICS_EXAMPLES in item.sk:
                continue
            if any(figures.get("ex") for figures in dict(item.topics or {}).values()):
                changed += self._rewrite(item.pk, item.sk, lambda _example: False)
        return changed

    def _rewrite(self, pk: str, sk: str, keep: Callable[[dict[str, str]], bool]) -> bool:
        """Keep only the examples `keep` accepts in one tally item, on condition that nothing
        rewrote it meanwhile (a count writes it whole, another erasure takes its customer out;
        then it is read again; TopicsBusy if it kept changing). True if changed."""
        for attempt in range(REWRITE_TRIES):
            if attempt:
                time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - spreading retries, not a secret
            try:
                item = TopicItem.get(pk, sk, consistent_read=True)
            except DoesNotExist:
                return False
            topics = dict(item.topics or {})
            kept = {
                name: {**figures, "ex": [e for e in figures["ex"] if keep(e)]} if "ex" in figures else figures
                for name, figures in topics.items()
            }
            if kept == topics:
                return False
            try:
                counted = (
                    TopicItem.counted_at.does_not_exist()
                    if item.counted_at is None
                    else TopicItem.counted_at == item.counted_at
                )
                unchanged = counted & (TopicItem.topics == item.topics)
                item.update(actions=[TopicItem.topics.set(kept)], condition=unchanged)
            except UpdateError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return True
        raise TopicsBusy(f"{pk} {sk} kept changing while its examples were rewritten")

    def erased(self, customer_ids: Iterable[str]) -> set[str]:
        """Those of these customers being erased or erased (their profile marked, or gone), read
        consistently: a count that read their messages before an erasure deleted them must not
        write them back as examples after it."""
        wanted = sorted(set(customer_ids))
        if not wanted:
            return set()
        profiles = [(keys.customer(customer_id), keys.PROFILE) for customer_id in wanted]
        kept = {
            item.pk
            for item in CustomerItem.batch_get(
                profiles, consistent_read=True, attributes_to_get=["pk", "sk", "item_type", "erasing_at"]
            )
            if item.erasing_at is None
        }
        return {customer_id for customer_id in wanted if keys.customer(customer_id) not in kept}

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
    if item.expires_at is not None:  # when the message goes, its reference must go (store.save_day)
        example["x"] = str(int(item.expires_at.timestamp()))
    if item.case_id:
        example["case"] = item.case_id
    return Mention(tuple(found), item.sentiment_label, item.language, example)


def _lasting(figures: dict[str, Any], until: datetime) -> dict[str, Any]:
    """A tally's figures with only the examples whose message is kept at least `until` (their
    expiry, `x`): a reference must not outlive the message an erasure finds its customer by."""
    at_least = until.timestamp()
    return {**figures, "ex": [e for e in figures.get("ex", ()) if e.get("x") and int(e["x"]) >= at_least]}


def _tallies(item: TopicItem) -> dict[str, Tally]:
    return {str(name): Tally.from_dict(figures) for name, figures in dict(item.topics or {}).items()}
