"""/api/returns: the return authorisations customers started (through the support agent) and receiving them back,
behind the bearer token — the same use cases as `backroom returns`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from backroom.adapters.db import queries
from backroom.entrypoints.api.app import BackroomDep, StoreScope, _Body, require_token
from backroom.orders.commands import ReceiveReturn

router = APIRouter(prefix="/api/returns", dependencies=[Depends(require_token)], tags=["returns"])


class ReceiveReturnIn(_Body):
    location: str = Field(min_length=1, max_length=64, description="where the items are put back into stock")
    restock: bool = Field(default=True, description="false: received, but not fit to sell again")
    actor: str = Field(default="api", min_length=1, max_length=100)


@router.get("")
def list_returns(backroom: BackroomDep, store: StoreScope,
                 status: Annotated[str | None, Query(pattern="^(requested|received|refunded|rejected)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return queries.list_returns(backroom.engine, store.id, status, limit)


@router.post("/{number}/receive")
def receive_return(backroom: BackroomDep, store: StoreScope,
                   number: Annotated[str, Path(min_length=1, max_length=100)],
                   body: ReceiveReturnIn) -> dict[str, Any]:
    """The parcel arrived: the return is marked received and (with restock) its items go back into stock, serving
    backorders first. A return can be received once; a second time is refused (409)."""
    allocated = backroom.handle(ReceiveReturn(number, body.location, body.restock, body.actor), store.slug)
    return {"number": number, "status": "received", "restocked": body.restock, "backorders_completed": allocated}
