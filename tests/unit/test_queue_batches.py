"""SendMessageBatch packing: ten entries a call, never over the size limit, order kept."""

from __future__ import annotations

from chalicelib.adapters.queue import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, batches


def test_ten_entries_per_batch_in_order() -> None:
    bodies = [str(i) for i in range(23)]
    packed = batches(bodies)
    assert [len(batch) for batch in packed] == [10, 10, 3]
    assert [body for batch in packed for body in batch] == bodies


def test_a_batch_closes_before_it_would_exceed_the_byte_limit() -> None:
    big = "x" * (MAX_BATCH_BYTES // 3)
    packed = batches([big, big, big, big])
    assert [len(batch) for batch in packed] == [3, 1]
    assert all(sum(map(len, batch)) <= MAX_BATCH_BYTES for batch in packed)
    assert all(len(batch) <= MAX_BATCH_ENTRIES for batch in packed)


def test_sizes_are_counted_in_utf8_bytes() -> None:
    cyrillic = "ж" * (MAX_BATCH_BYTES // 3)  # two bytes each: two thirds of the limit per body
    assert [len(batch) for batch in batches([cyrillic, cyrillic, cyrillic])] == [1, 1, 1]


def test_nothing_to_send_makes_no_batches() -> None:
    assert batches([]) == []
