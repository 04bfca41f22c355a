"""Estimates DynamoDB write capacity units from the requests botocore sends (moto reports a fixed
number). One unit per started KiB of each item written, twice that inside a transaction, and one
more per global secondary index entry an item feeds. Registered as a built-in handler, so every
botocore client created afterwards (PynamoDB's, Powertools', ours) is measured."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

INDEX_KEYS = ("gsi1pk", "gsi2pk")


class DynamoMeter:
    def __init__(self) -> None:
        self.write_units = 0.0
        self.requests: Counter[str] = Counter()

    def install(self) -> DynamoMeter:
        BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", self._count))
        return self

    def _count(self, params: Any, model: Any, **kwargs: Any) -> None:
        operation = model.name
        self.requests[operation] += 1
        if operation == "PutItem":
            self.write_units += _units(params["Item"]) + _index_entries(params["Item"])
        elif operation in ("UpdateItem", "DeleteItem"):
            self.write_units += 1  # small items here: claims and identity refreshes
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                item = entry.get("Put", {}).get("Item")
                self.write_units += 2 * _units(item) + _index_entries(item) if item else 2


def _units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(len(json.dumps(item, separators=(",", ":")).encode()) / 1024))


def _index_entries(item: dict[str, Any]) -> int:
    return sum(1 for key in INDEX_KEYS if key in item)
