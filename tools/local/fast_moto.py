"""moto server with DynamoDB queries that cost what the partition holds, not what the table holds.

moto answers every Query, on the table or on an index, by listing and sorting every item of the
table, then keeping those of the partition asked for: with the 60,000 items of 10,000 customers
and 50,000 interactions, each query of the case page or the inbox takes about a second, which
DynamoDB never spends. Here a Query is handed only the items of its partition, found through the
table's own dict (by partition key) or through a map of an index's partition keys built on the
first query after a write; moto then sorts, filters, pages and projects them exactly as before,
so answers are the same (the items handed over are a superset of those moto keeps). Writes
(anything but reads) invalidate the maps after they complete.

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


def install() -> None:
    """Patch moto's DynamoDB in this process (once; `uninstall` puts moto's own back)."""
    if _patched:
        return
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.models.table import SecondaryIndex, Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    all_items, query, call_action = Table.all_items, Table.query, DynamoHandler.call_action
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

    for owner, name, replacement in (
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
    from moto import server

    server.main(argv)


if __name__ == "__main__":
    main()
