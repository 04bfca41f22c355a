"""Keeps moto from dominating what the processing benchmarks measure.

moto answers every DynamoDB Query by sorting the whole table, deep-copies the whole table for each
item of a transaction (to roll a failed one back), and its SQS reads the clock per waiting message:
costs DynamoDB and SQS never have, which grow with the table and would be most of what a benchmark
times. The benchmarks run moto with the local stack's patches (tools/local/fast_moto.py: the same
answers, all-or-nothing transactions kept, at the cost of what each call touches). Tests keep
moto's own behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fast_moto() -> Iterator[None]:
    from tools.local import fast_moto as patches

    patches.install()
    try:
        yield
    finally:
        patches.uninstall()
