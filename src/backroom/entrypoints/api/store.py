"""/api/store: the store itself — its name, currency and time zone — behind the bearer token, the same use cases
as `backroom store show|timezone`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from backroom.entrypoints.api.app import BackroomDep, StoreScope, require_token

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], tags=["store"])


class StoreChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(min_length=1, max_length=64, description="an IANA name, e.g. Europe/London")


@router.get("/store")
def store_profile(backroom: BackroomDep, store: StoreScope) -> dict[str, Any]:
    """The store's slug, name, currency and time zone."""
    return backroom.store_profile(store.slug)


@router.patch("/store")
def change_store(backroom: BackroomDep, store: StoreScope, change: StoreChange) -> dict[str, Any]:
    """Set the store's time zone (business hours, the nightly plan, quiet hours for customers of unknown zone).
    400 ``unknown_timezone`` for a name that is not an IANA time zone."""
    return backroom.set_store_timezone(change.timezone, store.slug, via="api")
