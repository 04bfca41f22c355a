"""moto server with DynamoDB queries that cost what the partition holds, not what the table holds.

moto answers every Query, on the table or on an index, by listing and sorting every item of the
table, then keeping those of the partition asked for: with the 60,000 items of 10,000 customers
and 50,000 interactions, each query of the case page or the inbox takes about a second, which
DynamoDB never spends. Here a Query is handed only the items of its partition, found through the
table's own dict (by partition key) or through a map of an index's partition keys built on the
first query after a write; moto then sorts, filters, pages and projects them exactly as before,
so answers are the same (the items handed over are a superset of those moto keeps). Writes
(anything but reads) invalidate the maps after they complete.

moto's SQS reads the clock once per message for each of a queue's three message counts, and
works out every attribute (so those counts) on each SendMessage, on each message a receive hands
over (for its retention period) and several times per attribute asked for: with a few hundred
messages waiting, a send or a receive cost milliseconds and moto's CPU went to `utcnow`. Here a
count, or the visible messages, read the clock once; the answers are moto's. EventBridge's input
paths are parsed once each, not again for every event and target (jsonpath builds a parser per call).

moto's TransactWriteItems deep-copies the whole table once per item of the transaction, to roll a
failed one back: with a few thousand items, each transaction the processor writes costs a second
and the server's memory grows by gigabytes (the local stack slowed to a few interactions a second
after some hundreds). Here it keeps a copy of only the items the transaction names, as they were,
and puts them back (or removes those it created) when moto cancels the transaction: the same
outcome, all or nothing, for the cost of the transaction's own items.

`python -m tools.local.fast_moto [moto.server arguments]` is what the local stack runs;
`install()` patches moto in this process (a benchmark under `mock_aws`).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Sequence
from typing import Any

READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "ListTagsOfResource",
        "DescribeEndpoints",
        "DescribeLimits",
        "ListBackups",
        "DescribeBackup",
    }
)

ITEM_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})

_state = threading.local()  # the items the current thread's query may look at
_lock = threading.Lock()
_generation = [0]  # moved on by every write: maps built before it are stale
_patched: list[tuple[Any, str, Any]] = []  # (class, name, moto's own), while installed
_transaction = threading.local()  # set while this thread runs a TransactWriteItems


def install() -> None:
    """Patch moto's DynamoDB in this process (once; `uninstall` puts moto's own back)."""
    if _patched:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.models.table import SecondaryIndex, Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    all_items, query, call_action = Table.all_items, Table.query, DynamoHandler.call_action
    transact_write_items = DynamoDBBackend.transact_write_items
    index_project, item_project, execute_result = SecondaryIndex.project, Item.project, DynamoResult.execute_result

    def with_attributes(item: Any, attributes: dict[str, Any]) -> Any:
        projected: Any = Item.__new__(Item)
        projected.hash_key, projected.range_key = item.hash_key, item.range_key
        kept = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(kept, attributes)
        projected.attrs = kept
        return projected

    def project_keys(self: Any, item: Any) -> Any:
        """An index's INCLUDE or KEYS_ONLY projection, by attribute name (moto's converts the
        whole item to JSON and back once per projected attribute)."""
        kind = (self.projection or {}).get("ProjectionType")
        if kind not in ("INCLUDE", "KEYS_ONLY"):
            return index_project(self, item)
        allowed = {*self.table_key_attrs, *self.schema_key_attrs}
        if kind == "INCLUDE":
            allowed.update(self.projection.get("NonKeyAttributes", []))
        return with_attributes(item, {name: value for name, value in item.attrs.items() if name in allowed})

    def project_names(self: Any, projection_expressions: list[list[str]]) -> Any:
        """A ProjectionExpression of top-level names, by name (moto converts the whole item to JSON
        and back once per name); nested paths as moto does."""
        if not all(len(path) == 1 for path in projection_expressions):
            return item_project(self, projection_expressions)
        names = {path[0] for path in projection_expressions}
        return with_attributes(
            self, {name: copy.deepcopy(value) for name, value in self.attrs.items() if name in names}
        )

    def partition_items(self: Any) -> list[Any]:
        handed = getattr(_state, "handed", None)
        if handed is not None and handed[0] is self:
            return list(handed[1])
        return list(all_items(self))

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions") or []
        comparison = args[0] if args else kwargs.get("range_comparison")
        bounds = (args[1] if len(args) > 1 else kwargs.get("range_objs")) or []
        candidates = _candidates(self, hash_key, index_name, conditions, comparison, bounds)
        if candidates is None:
            return query(self, hash_key, *args, **kwargs)
        _state.handed = (self, candidates)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _state.handed = None

    def counted_call(self: Any) -> Any:
        try:
            return call_action(self)
        finally:
            if self.get_endpoint_name(self.headers) not in READS:
                with _lock:
                    _generation[0] += 1

    def as_json(self: Any, context: Any) -> Any:
        """Items as DynamoDB's JSON, written directly (moto's serializer walks the API model for
        every attribute of every item, a few milliseconds an item)."""
        if context.operation_model.name not in ITEM_READS or not isinstance(self.result, dict):
            return execute_result(self, context)
        body = json.dumps({key: value for key, value in self.result.items() if value is not None}, default=_blob)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    def deepcopy(value: Any, memo: Any = None) -> Any:
        """moto's copy of a whole table before a transaction: the table itself, the transaction's
        items being kept by `transact_items_kept` instead."""
        if isinstance(value, Table) and getattr(_transaction, "running", False):
            return value
        return copy.deepcopy(value, memo)

    def transact_items_kept(self: Any, transact_items: list[dict[str, Any]]) -> None:
        kept = _kept_items(self, transact_items)
        _transaction.running = True
        try:
            transact_write_items(self, transact_items)
        except BaseException:
            _put_back(kept)  # moto "restored" the tables it did not copy: put the items back
            raise
        finally:
            _transaction.running = False

    for owner, name, replacement in (
        *_sqs_patches(),
        (models, "copy", _Namespace(deepcopy=deepcopy, copy=copy.copy)),
        (DynamoDBBackend, "transact_write_items", transact_items_kept),
        (SecondaryIndex, "project", project_keys),
        (Item, "project", project_names),
        (Table, "all_items", partition_items),
        (Table, "query", partition_query),
        (DynamoHandler, "call_action", counted_call),
        (DynamoResult, "execute_result", as_json),
    ):
        _patched.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)


def uninstall() -> None:
    """moto's own DynamoDB again."""
    while _patched:
        owner, name, original = _patched.pop()
        setattr(owner, name, original)
    with _lock:
        _generation[0] += 1


def _sqs_patches() -> list[tuple[Any, str, Any]]:
    """Queue counts and visible messages with one reading of moto's clock per call, not one per
    message and count (Message.visible: now > visible_at; Message.delayed: now < delayed_until);
    the retention check reads the one attribute it needs; jsonpath parses each path once."""
    import functools

    import jsonpath_ng.ext
    import moto.sqs.models

    sqs: Any = moto.sqs.models  # its clock, as moto's own code reads it (a frozen one too)
    jsonpath: Any = jsonpath_ng.ext

    def visible_messages(self: Any) -> list[Any]:
        now = sqs.unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        now = sqs.unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        now = sqs.unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def waiting(self: Any) -> int:
        return len(self.messages)

    def within_retention(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return bool(retention_period + message.sent_timestamp / 1000 > sqs.unix_time())

    return [
        (sqs.Queue, "messages", property(visible_messages)),
        (sqs.Queue, "approximate_number_of_messages_delayed", property(delayed)),
        (sqs.Queue, "approximate_number_of_messages_not_visible", property(not_visible)),
        (sqs.Queue, "approximate_number_of_messages", property(waiting)),
        (sqs.SQSBackend, "is_message_valid_based_on_retention_period", within_retention),
        (jsonpath, "parse", functools.lru_cache(maxsize=256)(jsonpath.parse)),
    ]


class _Namespace:
    """Stands in for the `copy` module in moto's DynamoDB models."""

    def __init__(self, **functions: Any) -> None:
        self.__dict__.update(functions)


def _kept_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, bool, Any]]:
    """Each item a transaction names, as it is now: (table, hash key, range key, whether its
    partition exists, a deep copy of the item or None). Ops moto will refuse are skipped."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    kept = []
    for entry in transact_items:
        if len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table: Any = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = (op.get("Item") if op_type == "Put" else op.get("Key")) if table is not None else None
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        if table.range_key_attr and table.range_key_attr not in key:
            continue
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            had_partition = hash_key in table.items  # before get_item, which adds an empty one
            current = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - a key moto will reject: it changes nothing
            continue
        kept.append((table, hash_key, range_key, had_partition, copy.deepcopy(current)))
    return kept


def _put_back(kept: list[tuple[Any, Any, Any, bool, Any]]) -> None:
    """The kept items as they were, the last change undone first (an item named twice gets the
    copy taken first)."""
    for table, hash_key, range_key, had_partition, item in reversed(kept):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        if item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
            if not had_partition and not table.items.get(hash_key, True):
                table.items.pop(hash_key, None)
        else:
            table.items[hash_key][range_key] = item


def _candidates(
    table: Any,
    hash_key: Any,
    index_name: str | None,
    conditions: Sequence[Any],
    comparison: str | None = None,
    bounds: Sequence[Any] = (),
) -> list[Any] | None:
    """The items a query's partition can hold, or None to let moto look at them all.

    On the table, in sort key order (Python's string order, moto's for strings), and only the run
    its sort key condition keeps (a run: every key condition is a range of sorted keys) with one
    neighbour on each side: moto sizes up every item it walks past, so a customer's partition of a
    thousand interactions would cost a query for their three cases a thousand sizings. The
    neighbours keep moto's own answer: after a page that filled its limit, the next item (matching
    or not) is what makes it say there may be more (a LastEvaluatedKey), in either direction."""
    if not index_name:
        if hash_key is None or not table.range_key_attr:
            return None
        items = list(table.items.get(hash_key, {}).values())
        if not all(item.range_key is not None and item.range_key.type == "S" for item in items):
            return items
        items.sort(key=lambda item: item.range_key.value)  # moto sorts again, an already sorted list
        if comparison:
            kept = [index for index, item in enumerate(items) if item.range_key.compare(comparison, bounds)]
            items = items[max(0, kept[0] - 1) : kept[-1] + 2] if kept else []
        return items
    if len(conditions) != 1:
        return None
    attribute, wanted = conditions[0]
    index = next((each for each in table.all_indexes() if each.name == index_name), None)
    if index is None or wanted.type not in ("S", "N", "B"):
        return None
    ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    order = [*ranges, table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
    return list(_index_map(table, attribute, tuple(order)).get((wanted.type, wanted.value), ()))


def _index_map(table: Any, attribute: str, order: tuple[str, ...]) -> dict[tuple[str, Any], list[Any]]:
    """Items by their value of `attribute`, as of the last write (built again after one), each
    partition in the index's order (moto sorts them again: already sorted, that costs little)."""
    generation = _generation[0]
    cached = table.__dict__.get("_fast_moto_maps")
    if cached is None or cached[0] != generation:
        cached = (generation, {})
        table.__dict__["_fast_moto_maps"] = cached
    maps: dict[tuple[str, tuple[str, ...]], dict[tuple[str, Any], list[Any]]] = cached[1]
    found = maps.get((attribute, order))
    if found is None:
        found = {}
        for partition in list(table.items.values()):
            for item in list(partition.values()) if table.range_key_attr else [partition]:
                value = item.attrs.get(attribute)
                if value is not None and value.type in ("S", "N", "B"):
                    found.setdefault((value.type, value.value), []).append(item)
        for items in found.values():
            items.sort(key=lambda item: tuple(_raw(item.attrs.get(name)) for name in order))
        maps[(attribute, order)] = found
    return found


def _blob(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _raw(value: Any) -> tuple[int, str]:
    """A sort key close to moto's for a key attribute (strings sort the same; the rest only
    needs to be consistent)."""
    return (0, "") if value is None else (1, str(value.value))


def main(argv: list[str] | None = None) -> None:
    install()
    from moto import backends, server

    # Asked on every request (which service a host names): moto lists its package folder each time.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    server.main(argv)


if __name__ == "__main__":
    main()
