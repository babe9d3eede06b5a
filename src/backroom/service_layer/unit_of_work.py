"""The unit-of-work port: one transaction, and everything a handler may ask of it besides its own repositories."""

from __future__ import annotations

from typing import Protocol, Self

from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.shared.clock import Clock


class UnitOfWork(Protocol):
    store_id: int
    clock: Clock

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...

    def request_effect(self, effect: EffectRequest) -> None:
        """Ask for an effect; it is written with this transaction and run by a worker after commit."""

    def cancel_effects(self, subject_id: int, kinds: tuple[str, ...]) -> list[str]:
        """Withdraw a subject's effects that have not run yet; returns the keys of those withdrawn."""

    def withdraw_unsent(self, subject_id: int, keys: set[str]) -> list[str]:
        """Drop effects this transaction asked for and has not written yet; returns the keys dropped."""

    def record_event(self, event: RecordedEvent) -> None: ...
    def record_decision(self, decision: Decision) -> None: ...
    def request_review(self, review: ReviewRequest) -> None: ...

    def resolve_reviews(self, subject_type: str, subject_id: int, reasons: tuple[str, ...] | None, resolution: str,
                        *, holds_only: bool = False) -> int:
        """Close a subject's open review items of these reasons (None: of any reason; ``holds_only``: only items
        that stand for a hold, ``context.hold``) as resolved by the system, including items asked for earlier in
        this transaction; returns how many."""
