"""What a connector answers for a platform event backroom deliberately does not act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ignored:
    topic: str
    reason: str
