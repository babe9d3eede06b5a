"""Records every handler may write through the unit of work: events, audit decisions, review items."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedEvent:
    """A domain fact, named object + past-tense verb (``order_created``); rules and metrics read these."""

    name: str
    subject_type: str
    subject_id: int | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """One automated decision: what triggered it, which policy (and version) decided, what it saw and did."""

    trigger: str
    policy: str
    policy_version: str
    subject_type: str
    subject_id: int | None
    inputs: dict[str, Any]
    outcome: dict[str, Any]
    shadow: bool = False


@dataclass(frozen=True)
class ReviewRequest:
    reason_code: str
    subject_type: str
    subject_id: int | None
    title: str
    context: dict[str, Any]
    allowed_actions: tuple[str, ...]
