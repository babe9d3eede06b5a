"""Group commit: work that arrives together on different requests is committed in one transaction.

A durable commit costs a few milliseconds here whatever it holds, so request threads hand their item to a
``GroupCommit`` and wait: its thread takes whatever queued up while its previous transaction ran (up to
``max_batch``; optionally waiting ``window_s`` for more), runs it in one call, and answers each request with its
own item's result. A lone request waits for nothing; under load, batches grow by themselves.

Two users: the inbox recorder (webhooks answered as soon as their delivery is committed, see
bootstrap.accept_webhook) and the ``Batcher`` below, which imports orders synchronously: one import transaction
per store and batch, an input seen before answered as a duplicate without joining a batch, and a batch that fails
as a whole retried order by order, so one bad order never fails the others.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry

T = TypeVar("T")
R = TypeVar("R")

RunGroup = Callable[[Sequence[T]], Sequence["R | BaseException"]]  # items → each one's result, or what it raises


class GroupCommit(Generic[T, R]):
    def __init__(self, run: RunGroup[T, R], *, window_s: float = 0.0, max_batch: int = 100, threads: int = 1,
                 name: str = "backroom-group-commit", start: bool = True) -> None:
        self.run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[T, Future[R]] | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        if start:
            self.start()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, item: T) -> R:
        """Blocks until the item's group has run; raises what it raised for this item."""
        return self.submit_async(item).result()

    def submit_async(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _loop(self) -> None:
        while (group := self._next_group()) is not None:
            self._run(group)

    def _next_group(self) -> list[tuple[T, Future[R]]] | None:
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        deadline = time.monotonic() + self.window_s
        while len(group) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                pending = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is None:
                self._queue.put(None)  # run this group, then stop
                break
            group.append(pending)
        return group

    def _run(self, group: list[tuple[T, Future[R]]]) -> None:
        try:
            results = self.run([item for item, _ in group])
        except Exception as err:  # the whole group failed: every request of it hears why
            results = [err] * len(group)
        for (_, future), result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


# -- synchronous order imports ----------------------------------------------------------------------------------

RunBatch = Callable[[int, Sequence[Any], Sequence[InboxEntry]], list[Any]]  # store, orders, entries → results
SeenBefore = Callable[[int, Sequence[InboxEntry]], set[tuple[str, str]]]  # → (source, source id) already recorded


@dataclass(frozen=True)
class _Order:
    store_id: int
    order: Any
    entry: InboxEntry


class Batcher:
    """Orders imported in one transaction per store with the others queued at the same time (see module doc)."""

    def __init__(self, run: RunBatch, seen_before: SeenBefore, *, window_s: float = 0.0, max_batch: int = 100,
                 threads: int = 1, start: bool = True) -> None:
        self.run = run
        self.seen_before = seen_before
        self._group: GroupCommit[_Order, Any] = GroupCommit(
            self._run_group, window_s=window_s, max_batch=max_batch, threads=threads, name="backroom-batcher",
            start=start)

    def start(self) -> None:
        self._group.start()

    def submit(self, store_id: int, order: Any, entry: InboxEntry) -> Any:
        """Import one order with its inbox entry; blocks until its batch commits. Raises what its import raised
        (DuplicateDelivery for an input already recorded)."""
        return self._group.submit(_Order(store_id, order, entry))

    def submit_async(self, store_id: int, order: Any, entry: InboxEntry) -> Future[Any]:
        return self._group.submit_async(_Order(store_id, order, entry))

    def close(self) -> None:
        self._group.close()

    def _run_group(self, items: Sequence[_Order]) -> list[Any]:
        results: dict[int, Any] = {}
        for store_id in dict.fromkeys(i.store_id for i in items):
            mine = [n for n, i in enumerate(items) if i.store_id == store_id]
            results |= zip(mine, self._run_store([items[n] for n in mine]), strict=True)
        return [results[n] for n in range(len(items))]

    def _run_store(self, items: list[_Order]) -> list[Any]:
        try:
            seen = self.seen_before(items[0].store_id, [i.entry for i in items])
        except Exception as err:  # the lookup failed: every request of the batch hears it
            return [err] * len(items)
        results: list[Any] = [DuplicateDelivery() for _ in items]
        fresh: list[int] = []
        ids: set[tuple[str, str]] = set()
        for n, item in enumerate(items):
            key = (item.entry.source, item.entry.source_id)
            if key not in seen and key not in ids:
                ids.add(key)
                fresh.append(n)
        if not fresh:
            return results
        try:
            imported = self.run(items[0].store_id, [items[n].order for n in fresh], [items[n].entry for n in fresh])
        except Exception as err:
            # one bad order must not fail the others: each on its own
            imported = [err] if len(fresh) == 1 else [self._run_store([items[n]])[0] for n in fresh]
        for n, result in zip(fresh, imported, strict=True):
            results[n] = result
        return results
