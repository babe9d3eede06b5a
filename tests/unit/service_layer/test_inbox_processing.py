"""Processing after commit: a batch of received inputs runs in arrival order, imports merged into one command, one bad
input failing alone; unexpected failures retried a bounded number of times; the thread drains the stores it is woken
for and comes back to a store another processor holds."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from backroom.errors import InvalidInput, RetryableConflict
from backroom.service_layer.inbox_processing import (
    InboxProcessor,
    Received,
    RetryPolicy,
    Settled,
    Skip,
    StorePass,
    process_batch,
)
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry
from backroom.shared.messages import Command


@dataclass(frozen=True)
class Import(Command):
    orders: tuple[str, ...]


@dataclass(frozen=True)
class Cancel(Command):
    order: str


def received(row_id: int, body: str, attempts: int = 1, last_error: str | None = None) -> Received:
    return Received(row_id, InboxEntry("shop", f"d{row_id}", "topic", body, {}), attempts, last_error)


def interpret(entry: InboxEntry) -> Command | Skip:
    verb, _, arg = entry.body.partition(":")
    if verb == "import":
        return Import((arg,))
    if verb == "cancel":
        return Cancel(arg)
    if verb == "skip":
        return Skip(arg)
    raise InvalidInput(f"cannot read {entry.body}", code="invalid_order")


def merge(first: Command, then: Command) -> Command | None:
    if isinstance(first, Import) and isinstance(then, Import):
        return Import(first.orders + then.orders)
    return None


class FakeBus:
    def __init__(self, raises: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[Command, list[str]]] = []
        self.raises = raises or {}

    def handle(self, command: Command, entries: Sequence[InboxEntry]) -> object:
        self.calls.append((command, [e.source_id for e in entries]))
        for order in command.orders if isinstance(command, Import) else (command.order,):  # type: ignore[attr-defined]
            if order in self.raises:
                raise self.raises[order]
        return "done"


RETRY = RetryPolicy(max_attempts=3, backoff_base_s=2.0, backoff_cap_s=3.0)


def test_consecutive_imports_run_as_one_command_and_other_commands_alone_in_arrival_order() -> None:
    bus = FakeBus()
    rows = [received(4, "import:c"), received(1, "import:a"), received(2, "import:b"), received(3, "cancel:a")]
    assert process_batch(rows, interpret, bus.handle, merge, RETRY) == []
    assert bus.calls == [(Import(("a", "b")), ["d1", "d2"]), (Cancel("a"), ["d3"]), (Import(("c",)), ["d4"])]


def test_a_failing_merged_import_is_retried_input_by_input_so_one_bad_input_fails_alone() -> None:
    bus = FakeBus(raises={"bad": InvalidInput("no lines", code="invalid_order")})
    settled = process_batch([received(1, "import:a"), received(2, "import:bad"), received(3, "import:c")],
                            interpret, bus.handle, merge, RETRY)
    assert settled == [Settled(2, "rejected", "invalid_order: no lines")]
    assert bus.calls == [(Import(("a", "bad", "c")), ["d1", "d2", "d3"]), (Import(("a",)), ["d1"]),
                         (Import(("bad",)), ["d2"]), (Import(("c",)), ["d3"])]


def test_inputs_that_cannot_be_read_are_rejected_and_skipped_ones_kept_as_processed_without_running() -> None:
    bus = FakeBus()
    settled = process_batch([received(1, "garbage"), received(2, "skip:nothing acts on it"), received(3, "import:a")],
                            interpret, bus.handle, merge, RETRY)
    assert settled == [Settled(1, "rejected", "invalid_order: cannot read garbage"),
                       Settled(2, "processed", "ignored: nothing acts on it")]
    assert bus.calls == [(Import(("a",)), ["d3"])]


@pytest.mark.parametrize(("attempts", "expected"), [
    (1, Settled(1, "received", "RuntimeError", 2.0)),
    (2, Settled(1, "received", "RuntimeError", 3.0)),  # 4 s, capped at 3
    (3, Settled(1, "failed", "RuntimeError")),
])
def test_an_unexpected_failure_is_retried_with_backoff_until_its_attempts_are_spent(
        attempts: int, expected: Settled) -> None:
    bus = FakeBus(raises={"a": RuntimeError("customer ada@example.com broke it")})
    assert process_batch([received(1, "import:a", attempts)], interpret, bus.handle, merge, RETRY) == [expected]


def test_a_conflict_that_outlived_the_bus_retries_is_transient_not_a_rejection() -> None:
    bus = FakeBus(raises={"a": RetryableConflict("deadlock")})
    assert process_batch([received(1, "import:a")], interpret, bus.handle, merge, RETRY) == [
        Settled(1, "received", "RetryableConflict", 2.0)]


def test_an_input_taken_more_often_than_allowed_fails_with_its_last_error_without_running() -> None:
    bus = FakeBus()
    settled = process_batch([received(1, "import:a", 4, "MemoryError"), received(2, "import:b", 4)],
                            interpret, bus.handle, merge, RETRY)
    assert settled == [Settled(1, "failed", "MemoryError"), Settled(2, "failed", "Interrupted")]
    assert bus.calls == []


def test_inputs_processed_already_are_left_as_they_are() -> None:
    bus = FakeBus(raises={"a": DuplicateDelivery()})
    assert process_batch([received(1, "import:a")], interpret, bus.handle, merge, RETRY) == []


# -- the thread ---------------------------------------------------------------------------------------------------


class FakeStores:
    """Each store answers the passes scripted for it, then DONE; ``seen`` fires once ``expected`` passes ran."""

    def __init__(self, script: dict[int, list[StorePass | Exception]], expected: int) -> None:
        self.script = script
        self.passes: list[int] = []
        self.expected = expected
        self.seen = threading.Event()

    def drain(self, store_id: int) -> StorePass:
        self.passes.append(store_id)
        if len(self.passes) >= self.expected:
            self.seen.set()
        answer = self.script.get(store_id, []).pop(0) if self.script.get(store_id) else StorePass.DONE
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(stores: FakeStores, wakes: list[list[int]]) -> list[int]:
    processor = InboxProcessor(stores.drain, busy_retry_s=0.001, start=False)
    for store_ids in wakes:
        processor.wake(store_ids)
    processor.start()
    try:
        assert stores.seen.wait(timeout=10)
    finally:
        processor.close()
    return stores.passes


def test_woken_stores_are_drained_and_one_with_more_due_gets_another_pass() -> None:
    stores = FakeStores({1: [StorePass.MORE, StorePass.MORE]}, expected=4)
    assert run(stores, [[1], [2], [1]]) == [1, 2, 1, 1]


def test_a_store_another_processor_holds_is_looked_at_again_until_it_is_done() -> None:
    stores = FakeStores({7: [StorePass.BUSY, StorePass.BUSY]}, expected=3)
    assert run(stores, [[7]]) == [7, 7, 7]


def test_a_failing_pass_is_logged_and_the_other_stores_are_still_drained(caplog: pytest.LogCaptureFixture) -> None:
    stores = FakeStores({1: [ConnectionError("database gone")]}, expected=2)
    assert run(stores, [[1, 2]]) == [1, 2]
    assert [r.getMessage() for r in caplog.records] == ["inbox processing of store 1 failed: ConnectionError"]


def test_a_closed_processor_drains_nothing_more() -> None:
    stores = FakeStores({}, expected=1)
    processor = InboxProcessor(stores.drain)
    processor.close()  # joins the processor's thread: nothing can run after it
    processor.wake([1])
    assert stores.passes == []
