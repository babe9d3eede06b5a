"""The micro-batcher: orders queued together share one import; duplicates and bad orders are answered on their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from backroom.errors import InvalidInput
from backroom.service_layer.batching import Batcher, GroupCommit
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry


def entry(source_id: str, source: str = "shopify") -> InboxEntry:
    return InboxEntry(source, source_id, "orders/create", "{}", {})


class FakeImport:
    def __init__(self, seen: set[tuple[str, str]] | None = None) -> None:
        self.calls: list[tuple[int, list[Any]]] = []
        self.seen = seen or set()

    def run(self, store_id: int, orders: Sequence[Any], entries: Sequence[InboxEntry]) -> list[Any]:
        self.calls.append((store_id, list(orders)))
        if "bad" in orders:
            raise InvalidInput("bad order")
        return [f"imported {o}" for o in orders]

    def seen_before(self, store_id: int, entries: Sequence[InboxEntry]) -> set[tuple[str, str]]:
        return {(e.source, e.source_id) for e in entries} & self.seen


def batch(fake: FakeImport, items: list[tuple[int, str, InboxEntry]]) -> list[Any]:
    batcher = Batcher(fake.run, fake.seen_before, threads=1, start=False)
    futures = [batcher.submit_async(store, order, e) for store, order, e in items]
    batcher.start()
    try:
        return [f.exception(timeout=10) or f.result() for f in futures]
    finally:
        batcher.close()


def test_orders_queued_together_share_one_import_and_each_gets_its_own_result() -> None:
    fake = FakeImport()
    results = batch(fake, [(1, f"o{n}", entry(f"e{n}")) for n in range(5)])
    assert results == [f"imported o{n}" for n in range(5)]
    assert fake.calls == [(1, ["o0", "o1", "o2", "o3", "o4"])]


def test_an_input_seen_before_or_twice_in_a_batch_is_a_duplicate_without_importing() -> None:
    fake = FakeImport(seen={("shopify", "old")})
    results = batch(fake, [(1, "a", entry("old")), (1, "b", entry("new")), (1, "b", entry("new")),
                           (1, "c", entry("new", source="woocommerce"))])
    assert isinstance(results[0], DuplicateDelivery)
    assert results[1] == "imported b"
    assert isinstance(results[2], DuplicateDelivery)
    assert results[3] == "imported c"
    assert fake.calls == [(1, ["b", "c"])]


def test_a_failing_batch_is_retried_order_by_order_so_one_bad_order_fails_alone() -> None:
    fake = FakeImport()
    results = batch(fake, [(1, "a", entry("e1")), (1, "bad", entry("e2")), (1, "c", entry("e3"))])
    assert results[0] == "imported a"
    assert isinstance(results[1], InvalidInput)
    assert results[2] == "imported c"
    assert fake.calls == [(1, ["a", "bad", "c"]), (1, ["a"]), (1, ["bad"]), (1, ["c"])]


def test_each_store_gets_its_own_transaction() -> None:
    fake = FakeImport()
    results = batch(fake, [(1, "a", entry("e1")), (2, "b", entry("e2")), (1, "c", entry("e3"))])
    assert results == ["imported a", "imported b", "imported c"]
    assert fake.calls == [(1, ["a", "c"]), (2, ["b"])]


def test_submit_raises_what_the_import_raised() -> None:
    fake = FakeImport(seen={("shopify", "old")})
    batcher = Batcher(fake.run, fake.seen_before, threads=1)
    try:
        with pytest.raises(DuplicateDelivery):
            batcher.submit(1, "a", entry("old"))
        assert batcher.submit(1, "b", entry("new")) == "imported b"
        with pytest.raises(InvalidInput, match="bad order"):
            batcher.submit(1, "bad", entry("x"))
    finally:
        batcher.close()


# -- the group commit underneath ----------------------------------------------------------------------------------


def test_items_queued_together_run_in_one_call_and_each_hears_its_own_result() -> None:
    calls: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(run, start=False)
    futures = [group.submit_async(i) for i in range(4)]
    group.start()
    try:
        outcomes = [f.exception(timeout=10) or f.result() for f in futures]
    finally:
        group.close()
    assert calls == [[0, 1, 2, 3]]
    assert [str(o) if isinstance(o, Exception) else o for o in outcomes] == [0, "odd 1", 20, "odd 3"]


def test_a_group_whose_run_raises_fails_every_item_with_that_error() -> None:
    def run(items: Sequence[str]) -> list[str | BaseException]:
        raise ConnectionError("database gone")

    group: GroupCommit[str, str] = GroupCommit(run, start=False)
    futures = [group.submit_async(s) for s in ("a", "b")]
    group.start()
    try:
        errors = [f.exception(timeout=10) for f in futures]
    finally:
        group.close()
    assert [(type(e), str(e)) for e in errors] == [(ConnectionError, "database gone")] * 2


def test_groups_hold_at_most_max_batch_items() -> None:
    calls: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(run, max_batch=2, start=False)
    futures = [group.submit_async(i) for i in range(5)]
    group.start()
    try:
        assert [f.result(timeout=10) for f in futures] == [0, 1, 2, 3, 4]
    finally:
        group.close()
    assert calls == [[0, 1], [2, 3], [4]]
