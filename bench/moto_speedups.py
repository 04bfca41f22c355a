"""Keeps moto from dominating what the processing benchmarks measure.

moto's TransactWriteItems deep-copies the whole table once per item of the transaction, so that
it can roll back a failed one: with a few thousand items in the table each transaction costs
tens of milliseconds and the peak memory reaches gigabytes, which DynamoDB itself never spends.
The benchmarks' transactions do not fail (they count on it: a cancelled transaction raises), so
here the copy is skipped. Tests keep moto's full behaviour.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def no_transaction_snapshots() -> Iterator[None]:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    setattr(models, "copy", _Namespace(deepcopy=deepcopy, copy=copy.copy))  # noqa: B010 - moto's module global
    try:
        yield
    finally:
        setattr(models, "copy", copy)  # noqa: B010


class _Namespace:
    def __init__(self, **functions: Any) -> None:
        self.__dict__.update(functions)
