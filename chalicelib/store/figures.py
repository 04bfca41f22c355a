"""The figures' counters in the table: added to in the transaction that stores what they count,
and rolled up into day and hour rows for reading (insight/counts.py says what is counted).

Written counters are spread over FIGURE_SHARDS partitions per day (by the interaction's or the
case's id), so a burst on one brand is not one hot key; the rollup sums a day's shards into one row
per day, channel and account (and one per hour for the last days), which is what the API reads:
90 days of one account are 90 small items, whatever the volume.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.insight.counts import Row, Where, booked
from chalicelib.store import keys
from chalicelib.store.models import FigureItem, Item

HOUR_ROWS_KEPT = timedelta(days=3)  # hourly rows serve the last 48 hours
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "item_type", "expires_at", "rolled_at"})


def add_counts(transaction: TransactWrite, added: Mapping[Where, Counter[str]], seed: str, now: datetime) -> None:
    """Add `added` to the counters in `transaction`: one update per hour, channel and account
    touched (one, nearly always), in the shard `seed` (the interaction's or case's id) picks.
    What belongs to a closed day is written at the hour of `now`, when it is written
    (counts.booked)."""
    shard = keys.figure_shard(seed)
    for where, counts in sorted(booked(added, now).items(), key=lambda pair: pair[0].hour):
        amounts = {name: amount for name, amount in counts.items() if amount}
        if not amounts:
            continue
        actions: list[Any] = [
            Path(NumberAttribute(attr_name=name)).add(amount) for name, amount in sorted(amounts.items())
        ]
        actions.append(FigureItem.item_type.set(FigureItem))
        item = FigureItem(keys.figures_written(where.day, shard), _sort_key(where.hour[11:13], where))
        transaction.update(item, actions=actions)


class FigureStore:
    """Reads counters and writes rolled-up rows as raw attribute values: the counters are named
    by what they count, so no model could declare them."""

    def written(self, day: str) -> list[Row]:
        """A day's counters as written, summed over its shards, one row per hour, channel and account."""
        rows: dict[tuple[str, str, str], Counter[str]] = {}
        for shard in range(keys.FIGURE_SHARDS):
            for item in self._query(keys.figures_written(day, shard)):
                hour, platform, account = _parts(item)
                rows.setdefault((f"{day}T{hour}", platform, account), Counter()).update(_counts(item))
        return [
            Row(period, platform, account, dict(counts)) for (period, platform, account), counts in sorted(rows.items())
        ]

    def roll(self, day: str, now: datetime) -> list[Row]:
        """Sum a day's shards into its day rows (and hour rows, if the day is recent): written over
        whatever an earlier rollup wrote, so running it again, or late, only makes it current."""
        hours = self.written(day)
        totals: dict[tuple[str, str], Counter[str]] = {}
        for row in hours:
            totals.setdefault((row.platform, row.account), Counter()).update(row.counts)
        days = [Row(day, platform, account, dict(counts)) for (platform, account), counts in sorted(totals.items())]
        stamp = now.isoformat()
        puts = [self._row(keys.figures_day(day[:7]), day[8:10], row, stamp, None) for row in days]
        if datetime.fromisoformat(f"{day}T00:00:00+00:00") >= now - HOUR_ROWS_KEPT:
            expires = now + HOUR_ROWS_KEPT
            puts += [self._row(keys.figures_hour(day), row.period[11:13], row, stamp, expires) for row in hours]
        self._put(puts)
        return days

    def days(self, first: str, last: str) -> list[Row]:
        """Rolled-up day rows from `first` to `last` (yyyy-mm-dd, both included), oldest first."""
        found: list[Row] = []
        for month in keys.months(first, last):
            for item in self._query(
                keys.figures_day(month),
                f"{max(first, month + '-01')[8:10]}",
                f"{last[8:10] if last[:7] == month else '31'}~",
            ):
                dd, platform, account = _parts(item)
                period = f"{month}-{dd}"
                if first <= period <= last:
                    found.append(Row(period, platform, account, _counts(item)))
        return found

    def hours(self, day: str) -> list[Row]:
        """Rolled-up hour rows of a recent day."""
        return [
            Row(f"{day}T{hour}", platform, account, _counts(item))
            for item in self._query(keys.figures_hour(day))
            for hour, platform, account in [_parts(item)]
        ]

    def rolled_at(self, day: str) -> str | None:
        items = self._query(keys.figures_day(day[:7]), day[8:10], day[8:10] + "~")
        stamps = [str(item["rolled_at"]["S"]) for item in items if "rolled_at" in item]
        return max(stamps) if stamps else None

    def _row(self, pk: str, prefix: str, row: Row, stamp: str, expires: datetime | None) -> dict[str, Any]:
        """A rolled-up row as DynamoDB attribute values: its counters are attributes by name."""
        item: dict[str, Any] = {
            "pk": {"S": pk},
            "sk": {"S": _sort_key(prefix, Where(row.period, row.platform, row.account))},
            "item_type": {"S": "figures"},
            "rolled_at": {"S": stamp},
        }
        if expires is not None:
            item["expires_at"] = {"N": str(int(expires.timestamp()))}
        item.update({name: {"N": str(amount)} for name, amount in row.counts.items() if amount})
        return item

    def _put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            pending = items[start : start + 25]
            for _ in range(8):
                answer = FigureItem._get_connection().batch_write_item(put_items=pending)
                left = answer.get("UnprocessedItems", {}).get(Item.Meta.table_name, [])
                pending = [entry["PutRequest"]["Item"] for entry in left]
                if not pending:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"{len(pending)} figure rows left unwritten after retries")

    def _query(self, pk: str, low: str | None = None, high: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        condition = FigureItem.sk.between(low, high) if low is not None and high is not None else None
        while True:
            page = FigureItem._get_connection().query(pk, range_key_condition=condition, exclusive_start_key=start)
            found.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return found


def _sort_key(prefix: str, where: Where) -> str:
    return f"{prefix}#{where.platform}#{where.account}"


def _parts(item: Mapping[str, Any]) -> tuple[str, str, str]:
    prefix, platform, account = str(item["sk"]["S"]).split("#", 2)
    return prefix, platform, account


def _counts(item: Mapping[str, Any]) -> dict[str, int]:
    return {
        name: int(float(value["N"]))
        for name, value in item.items()
        if name not in _KEY_ATTRIBUTES and isinstance(value, dict) and "N" in value
    }
