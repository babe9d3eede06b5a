"""Base type for commands: imperative requests with exactly one handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    pass
