"""Processing after commit: inputs recorded in the inbox as ``received`` (a webhook answered as soon as its delivery
was durable) are run through the bus afterwards, oldest first, a batch at a time.

``process_batch`` decides what happens to one batch: each input is interpreted again from its raw body, consecutive
commands that merge (order imports) run as one command in one transaction, whose unit of work marks their inbox
rows processed; a merged run that fails is retried input by input, so one bad input fails alone. What did not go
through comes back as ``Settled``: rejected (a BackroomError: kept with its code and message), ignored (kept as
processed, with the reason), or failed (unexpected: due again after a backoff, kept as ``failed`` with the error's
type once its attempts are spent).

``InboxProcessor`` is the thread that does it in the API process, woken with the stores whose inputs were just
committed; the worker's periodic loop does the same as a safety net (see bootstrap.process_inbox).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from backroom.errors import BackroomError, RetryableConflict
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry
from backroom.shared.messages import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """An inbox row taken for processing; ``attempts`` counts this one, ``last_error`` is the previous one's."""

    id: int
    entry: InboxEntry
    attempts: int
    last_error: str | None = None


@dataclass(frozen=True)
class Skip:
    """What interpreting an input answers when nothing is to be done with it (kept as processed, with the reason)."""

    reason: str


@dataclass(frozen=True)
class Settled:
    """An input the batch did not process: its new status and error; ``retry_in_s`` keeps it received, due again
    after that many seconds."""

    row_id: int
    status: str  # rejected | processed (ignored) | failed | received (to retry)
    error: str
    retry_in_s: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 900.0

    def after_failure(self, row: Received, error: str) -> Settled:
        if row.attempts >= self.max_attempts:
            return Settled(row.id, "failed", error)
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (row.attempts - 1))
        return Settled(row.id, "received", error, delay)


Interpret = Callable[[InboxEntry], "Command | Skip"]  # raises BackroomError for an input we cannot accept
Handle = Callable[[Command, Sequence[InboxEntry]], object]  # one command, its inputs claimed in its transaction
Merge = Callable[[Command, Command], "Command | None"]  # one command doing both, or None


def process_batch(rows: Sequence[Received], interpret: Interpret, handle: Handle, merge: Merge,
                  retry: RetryPolicy) -> list[Settled]:
    settled: list[Settled] = []
    runs: list[tuple[Command, list[tuple[Received, Command]]]] = []  # a merged command and what it merges
    for row in sorted(rows, key=lambda r: r.id):
        if row.attempts > retry.max_attempts:  # taken that often without an outcome: its processing kills us
            settled.append(Settled(row.id, "failed", row.last_error or "Interrupted"))
            continue
        try:
            command = interpret(row.entry)
        except Exception as err:
            settled.append(_refused(row, err, retry))
            continue
        if isinstance(command, Skip):
            settled.append(Settled(row.id, "processed", f"ignored: {command.reason}"))
            continue
        merged = merge(runs[-1][0], command) if runs else None
        if merged is not None:
            runs[-1] = (merged, [*runs[-1][1], (row, command)])
        else:
            runs.append((command, [(row, command)]))
    for command, members in runs:
        settled += _run(command, members, handle, retry)
    return sorted(settled, key=lambda s: s.row_id)


def _run(command: Command, members: list[tuple[Received, Command]], handle: Handle,
         retry: RetryPolicy) -> list[Settled]:
    try:
        handle(command, [row.entry for row, _ in members])
    except DuplicateDelivery:  # processed already (by a synchronous ingest of the same delivery)
        return []
    except Exception as err:
        if len(members) == 1:
            return [_refused(members[0][0], err, retry)]
        out: list[Settled] = []
        for row, own in members:  # one bad input must not fail the others: each on its own
            out += _run(own, [(row, own)], handle, retry)
        return out
    return []


def kept_as(err: Exception) -> tuple[str, str]:
    """How an input refused with this error is kept in the inbox: 'rejected' with its code and message (a
    BackroomError), else 'failed' with the error's type only (its message may carry a customer's data)."""
    if isinstance(err, BackroomError):
        return "rejected", f"{err.code}: {err.message}"
    return "failed", type(err).__name__


def _refused(row: Received, err: Exception, retry: RetryPolicy) -> Settled:
    if isinstance(err, BackroomError) and not isinstance(err, RetryableConflict):
        log.info("inbox %d (%s %s) rejected: %s", row.id, row.entry.source, row.entry.source_id, err.code)
        return Settled(row.id, *kept_as(err))
    log.warning("inbox %d (%s %s) failed (attempt %d): %s", row.id, row.entry.source, row.entry.source_id,
                row.attempts, type(err).__name__)
    return retry.after_failure(row, type(err).__name__)


# -- the thread -------------------------------------------------------------------------------------------------


class StorePass(StrEnum):
    DONE = "done"  # nothing due is left
    MORE = "more"  # this pass stopped with inputs still due: another pass at once
    BUSY = "busy"  # another processor holds the store while inputs are due: look again shortly


Drain = Callable[[int], StorePass]  # one pass over a store's due inputs


class InboxProcessor:
    """Processes the stores it is woken for, one pass each in turn, until nothing is due; a store another process is
    working on is looked at again every ``busy_retry_s`` while it has inputs due (it may have missed the last)."""

    def __init__(self, drain: Drain, *, busy_retry_s: float = 0.05, start: bool = True) -> None:
        self.drain = drain
        self.busy_retry_s = busy_retry_s
        self._pending: dict[int, None] = {}
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="backroom-inbox", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        self._thread.start()

    def wake(self, store_ids: Iterable[int]) -> None:
        with self._wake:
            self._pending.update(dict.fromkeys(store_ids))
            self._wake.notify()

    def close(self) -> None:
        """Stop after the current batch; what is left stays received, for the next processor or the worker."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        busy: dict[int, None] = {}
        while True:
            with self._wake:
                if not self._pending and not self._closed:
                    self._wake.wait(timeout=self.busy_retry_s if busy else None)
                if self._closed:
                    return
                stores = [*self._pending, *(s for s in busy if s not in self._pending)]
                self._pending.clear()
            busy = {}
            for store_id in stores:
                try:
                    state = self.drain(store_id)
                except Exception as err:  # a database outage: the worker's safety net takes over
                    log.warning("inbox processing of store %d failed: %s", store_id, type(err).__name__)
                    continue
                if state is StorePass.MORE:
                    self.wake([store_id])
                elif state is StorePass.BUSY:
                    busy[store_id] = None
