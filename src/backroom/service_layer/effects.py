"""Effects: what a handler asks the outside world to do. Written in the same transaction as the state change,
run at least once by workers, made exactly-once by the idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EffectStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    SHADOWED = "shadowed"
    CANCELLED = "cancelled"


class AutomationMode(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"
    OFF = "off"


@dataclass(frozen=True)
class EffectRequest:
    kind: str
    key: str
    automation: str
    payload: dict[str, Any] = field(default_factory=dict)
    subject_id: int | None = None
