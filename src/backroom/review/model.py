"""A review item: an exception that needs (or needed) a human, with the context and the actions they can take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


SYSTEM_ACTOR = "system"


@dataclass
class ReviewItem:
    id: int
    reason_code: str
    subject_type: str
    subject_id: int | None
    title: str
    context: dict[str, Any]
    allowed_actions: tuple[str, ...]
    status: ReviewStatus
    created_at: datetime
    assignee: str | None = None
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    def allows(self, action: str) -> bool:
        return self.status == ReviewStatus.OPEN and action in self.allowed_actions
